import ParleyTOML
import XCTest

/// The typed accessors: caller errors point at the value and name the key by its full path.
final class TypedAccessTests: XCTestCase {
    private let text = """
        name = "x"
        count = "12"
        ratio = 1
        flags = ["a", 2]
        [policy]
        epsilon = 1.0
        [[items]]
        id = 1
        [[items]]
        id = "two"
        """

    private func table() throws -> TOMLTable {
        try TOMLDocument.parse(text, fileName: "cfg.toml")
    }

    func testWrongTypeNamesFoundType() throws {
        let table = try table()
        let error = thrownError { () throws(TOMLError) in try table.requiredInt("count") }
        XCTAssertEqual(error?.description, "cfg.toml:2:9: \"count\" must be an integer (found a string)")
        XCTAssertEqual(error?.code, .wrongType)
        let described = thrownError { () throws(TOMLError) in try table.requiredInt("count", mustBe: "a whole number of seconds") }
        XCTAssertEqual(described?.message, "\"count\" must be a whole number of seconds (found a string)")
        let bool = thrownError { () throws(TOMLError) in try table.optionalBool("name") }
        XCTAssertEqual(bool?.message, "\"name\" must be true or false (found a string)")
    }

    func testFloatAcceptsIntegerOnlyWhenAsked() throws {
        let table = try table()
        let error = thrownError { () throws(TOMLError) in try table.requiredFloat("ratio") }
        XCTAssertEqual(error?.description, "cfg.toml:3:9: \"ratio\" must be a float such as 1.0 (found an integer)")
        XCTAssertEqual(try table.requiredFloat("ratio", allowInteger: true), TOMLFloat(value: 1, text: "1"))
        let policy = try table.requiredTable("policy")
        XCTAssertEqual(try policy.requiredFloat("epsilon", where: { $0.value > 0 }).text, "1.0")
        let refused = thrownError { () throws(TOMLError) in
            try policy.requiredFloat("epsilon", mustBe: "below 1.0") { $0.value < 1 }
        }
        XCTAssertEqual(refused?.description, "cfg.toml:6:11: \"policy.epsilon\" must be below 1.0")
        XCTAssertEqual(refused?.code, .invalidValue)
    }

    func testArrayElementErrorsPointAtTheElement() throws {
        let table = try table()
        let error = thrownError { () throws(TOMLError) in try table.requiredStringArray("flags") }
        XCTAssertEqual(error?.description, "cfg.toml:4:15: \"flags[1]\" must be a string (found an integer)")
        let refused = thrownError { () throws(TOMLError) in
            try table.optionalStringArray("flags", mustBe: "a party name") { $0 == "b" }
        }
        XCTAssertEqual(refused?.description, "cfg.toml:4:10: \"flags[0]\" must be a party name")
    }

    func testMissingKeysInNestedTablesNameTheTable() throws {
        let table = try table()
        let policy = try table.requiredTable("policy")
        let error = thrownError { () throws(TOMLError) in try policy.requiredInt("min_group_size") }
        XCTAssertEqual(error?.description, "cfg.toml:5:1: missing required key \"min_group_size\" in [policy]")
        XCTAssertNil(try policy.optionalInt("min_group_size"))

        let items = try XCTUnwrap(table.optionalArrayOfTables("items"))
        XCTAssertEqual(try items[0].requiredInt("id"), 1)
        let second = thrownError { () throws(TOMLError) in try items[1].requiredInt("id") }
        XCTAssertEqual(second?.description, "cfg.toml:10:6: \"items[1].id\" must be an integer (found a string)")
        let missing = thrownError { () throws(TOMLError) in try items[1].requiredString("name") }
        XCTAssertEqual(missing?.description, "cfg.toml:9:1: missing required key \"name\" in items[1]")
    }

    func testCallerMessagesAtAKey() throws {
        let table = try table()
        XCTAssertEqual(table.error("unknown party \"x\"; declare it under [parties]", at: "name").description,
                       "cfg.toml:1:8: unknown party \"x\"; declare it under [parties]")
        XCTAssertEqual(table.error("no such key", at: "absent").position, TOMLPosition(line: 1, column: 1))
    }

    func testRejectUnknownKeys() throws {
        let table = try table()
        let error = thrownError { () throws(TOMLError) in
            try table.rejectUnknownKeys(allowed: ["name", "count", "ratio", "flag", "policy"])
        }
        XCTAssertEqual(error?.description,
                       "cfg.toml:4:1: unknown key \"flags\"; did you mean \"flag\"? allowed keys: name, count, ratio, flag, policy")
        let noSuggestion = thrownError { () throws(TOMLError) in try table.rejectUnknownKeys(allowed: ["zzz"]) }
        XCTAssertEqual(noSuggestion?.message, "unknown key \"name\"; allowed keys: zzz")
        let none = thrownError { () throws(TOMLError) in try table.requiredTable("policy").rejectUnknownKeys(allowed: []) }
        XCTAssertEqual(none?.description, "cfg.toml:6:1: unknown key \"epsilon\" in [policy]; this table takes no keys")
    }

    func testChildTablesRefusesNonTables() throws {
        let doc = try TOMLDocument.parse("[parties]\nbrand = { public_key = \"b.pub\" }\nstray = 1", fileName: "m.toml")
        let parties = try doc.requiredTable("parties")
        let error = thrownError { () throws(TOMLError) in try parties.childTables() }
        XCTAssertEqual(error?.description, "m.toml:3:9: \"parties.stray\" must be a table (found an integer)")
    }
}
