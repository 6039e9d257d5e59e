import ParleyTOML
import XCTest

/// The two real Parley files: a policy and a module source.
final class ExampleFilesTests: XCTestCase {
    static let hexA = String(repeating: "a1", count: 48)
    static let hexB = String(repeating: "b2", count: 48)
    static let hexC = String(repeating: "c3", count: 48)

    static let policy = """
        quote = "software"                # or "tpm"
        module = "\(hexA)"
        runtime = ["\(hexB)"]
        module_signers = ["\(hexC)"]
        quoting_root = "quoting-root.pem"
        tpm_ak = "tpm-ak.pem"
        max_age_seconds = 300
        allow_debug = false

        """

    static let moduleSource = #"""
        name = "campaign-lift"
        version = "1"
        [parties.brand]
        public_key = "brand.pub"
        [datasets.exposures]
        provider = "brand"
        privacy_unit = "email_hash"
        columns = { email_hash = "text", campaign = "text", region = "int" }
        bounds = { amount = [0, 5000] }
        [policy]
        min_group_size = 50
        epsilon_per_query = 1.0
        # delta = 1e-9
        [queries.conversions]
        receivers = ["brand"]
        sql = """
        SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS buyers
        FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
        GROUP BY e.campaign
        """

        """#

    func testPolicyFileValuesAndPositions() throws {
        let policy = try TOMLDocument.parse(Self.policy, fileName: "policy.toml")
        XCTAssertEqual(policy.keys, ["quote", "module", "runtime", "module_signers", "quoting_root", "tpm_ak", "max_age_seconds", "allow_debug"])
        XCTAssertEqual(policy.position, TOMLPosition(line: 1, column: 1))
        XCTAssertEqual(policy.fileName, "policy.toml")

        XCTAssertEqual(try policy.requiredString("quote"), "software")
        XCTAssertEqual(policy.position(of: "quote"), TOMLPosition(line: 1, column: 1))
        XCTAssertEqual(policy.valuePosition(of: "quote"), TOMLPosition(line: 1, column: 9))

        let isHex96: (String) -> Bool = { $0.utf8.count == 96 && $0.allSatisfy(\.isHexDigit) }
        XCTAssertEqual(try policy.requiredString("module", mustBe: "a string of 96 hex digits", where: isHex96), Self.hexA)
        XCTAssertEqual(policy.valuePosition(of: "module"), TOMLPosition(line: 2, column: 10))

        XCTAssertEqual(try policy.requiredStringArray("runtime", where: isHex96), [Self.hexB])
        XCTAssertEqual(policy.valuePosition(of: "runtime"), TOMLPosition(line: 3, column: 11))
        XCTAssertEqual(policy["runtime"]?.arrayValue?.first?.position, TOMLPosition(line: 3, column: 12))
        XCTAssertEqual(try policy.optionalStringArray("module_signers"), [Self.hexC])
        XCTAssertEqual(policy.position(of: "module_signers"), TOMLPosition(line: 4, column: 1))

        XCTAssertEqual(try policy.requiredString("quoting_root"), "quoting-root.pem")
        XCTAssertEqual(try policy.requiredString("tpm_ak"), "tpm-ak.pem")
        XCTAssertEqual(try policy.requiredInt("max_age_seconds"), 300)
        XCTAssertEqual(policy.valuePosition(of: "max_age_seconds"), TOMLPosition(line: 7, column: 19))
        XCTAssertEqual(try policy.requiredBool("allow_debug"), false)
        XCTAssertEqual(policy.valuePosition(of: "allow_debug"), TOMLPosition(line: 8, column: 15))

        XCTAssertNoThrow(try policy.rejectUnknownKeys(allowed: ["quote", "module", "runtime", "module_signers", "quoting_root", "tpm_ak", "max_age_seconds", "allow_debug"]))
    }

    func testPolicyFileCallerErrors() throws {
        let text = Self.policy.replacingOccurrences(of: Self.hexA, with: "abc")
        let policy = try TOMLDocument.parse(text, fileName: "policy.toml")
        let error = thrownError { () throws(TOMLError) in
            try policy.requiredString("module", mustBe: "a string of 96 hex digits") { $0.utf8.count == 96 }
        }
        XCTAssertEqual(error?.description, "policy.toml:2:10: \"module\" must be a string of 96 hex digits")
        XCTAssertEqual(error?.code, .invalidValue)

        let missing = thrownError { () throws(TOMLError) in try policy.requiredString("measurement") }
        XCTAssertEqual(missing?.description, "policy.toml:1:1: missing required key \"measurement\"")
        XCTAssertEqual(missing?.code, .missingKey)
    }

    func testModuleSourceValuesAndPositions() throws {
        let source = try TOMLDocument.parse(Self.moduleSource, fileName: "module.toml")
        XCTAssertEqual(source.keys, ["name", "version", "parties", "datasets", "policy", "queries"])
        XCTAssertEqual(try source.requiredString("name"), "campaign-lift")
        XCTAssertEqual(try source.requiredString("version"), "1")

        // [parties.brand]: "parties" is implied by the header, "brand" defined by it.
        let parties = try source.requiredTable("parties")
        XCTAssertEqual(parties.position, TOMLPosition(line: 3, column: 1))
        XCTAssertEqual(source.position(of: "parties"), TOMLPosition(line: 3, column: 2))
        XCTAssertEqual(parties.position(of: "brand"), TOMLPosition(line: 3, column: 10))
        let children = try parties.childTables()
        XCTAssertEqual(children.map(\.key), ["brand"])
        XCTAssertEqual(try children[0].table.requiredString("public_key"), "brand.pub")
        XCTAssertEqual(children[0].table.path.description, "parties.brand")
        XCTAssertEqual(children[0].table.valuePosition(of: "public_key"), TOMLPosition(line: 4, column: 14))

        let exposures = try source.requiredTable("datasets").requiredTable("exposures")
        XCTAssertEqual(exposures.position, TOMLPosition(line: 5, column: 1))
        XCTAssertEqual(try exposures.requiredString("provider"), "brand")
        XCTAssertEqual(try exposures.requiredString("privacy_unit"), "email_hash")
        let columns = try exposures.requiredTable("columns")
        XCTAssertEqual(columns.keys, ["email_hash", "campaign", "region"])
        XCTAssertEqual(columns.position, TOMLPosition(line: 8, column: 11))
        XCTAssertEqual(columns.position(of: "email_hash"), TOMLPosition(line: 8, column: 13))
        XCTAssertEqual(columns.valuePosition(of: "email_hash"), TOMLPosition(line: 8, column: 26))
        XCTAssertEqual(try columns.requiredString("region"), "int")
        let amount = try exposures.requiredTable("bounds").requiredArray("amount")
        XCTAssertEqual(amount.map(render), ["0", "5000"])
        XCTAssertEqual(amount.map(\.position), [TOMLPosition(line: 9, column: 22), TOMLPosition(line: 9, column: 25)])

        let policy = try source.requiredTable("policy")
        XCTAssertEqual(try policy.requiredInt("min_group_size"), 50)
        let epsilon = try policy.requiredFloat("epsilon_per_query")
        XCTAssertEqual(epsilon, TOMLFloat(value: 1.0, text: "1.0"))
        XCTAssertEqual(policy.valuePosition(of: "epsilon_per_query"), TOMLPosition(line: 12, column: 21))
        XCTAssertNil(try policy.optionalFloat("delta"), "commented out")

        let conversions = try source.requiredTable("queries").requiredTable("conversions")
        XCTAssertEqual(try conversions.requiredStringArray("receivers"), ["brand"])
        let sql = try XCTUnwrap(conversions["sql"])
        XCTAssertEqual(sql.stringValue, """
            SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS buyers
            FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
            GROUP BY e.campaign

            """)
        XCTAssertEqual(sql.position, TOMLPosition(line: 16, column: 7))
        XCTAssertEqual(sql.stringContentStart, TOMLPosition(line: 17, column: 1))
        // A SQL error at line 2, column 6 of the query ("exposures") is at 18:6 of the file.
        XCTAssertEqual(sql.stringSource?.sourcePosition(line: 2, column: 6), TOMLPosition(line: 18, column: 6))
        XCTAssertEqual(sql.stringSource?.style, .multilineBasic)
        XCTAssertEqual(sql.stringSource?.lineCount, 4)
    }

    func testModuleSourceUnknownKeyIsNamedWithSuggestion() throws {
        let text = Self.moduleSource.replacingOccurrences(of: "min_group_size", with: "min_grup_size")
        let policy = try TOMLDocument.parse(text, fileName: "module.toml").requiredTable("policy")
        let error = thrownError { () throws(TOMLError) in
            try policy.rejectUnknownKeys(allowed: ["min_group_size", "epsilon_per_query", "delta"])
        }
        XCTAssertEqual(
            error?.description,
            "module.toml:11:1: unknown key \"min_grup_size\" in [policy]; did you mean \"min_group_size\"? allowed keys: min_group_size, epsilon_per_query, delta")
        XCTAssertEqual(error?.code, .unknownKey)
    }

    func testParseFromFileAndBytes() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parley-toml-\(UUID().uuidString).toml")
        try Data(Self.policy.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let fromFile = try TOMLDocument.parse(contentsOf: url, fileName: "policy.toml")
        let fromBytes = try TOMLDocument.parse(bytes: Data(Self.policy.utf8), fileName: "policy.toml")
        XCTAssertEqual(fromFile, fromBytes)

        let missing = thrownError { () throws(TOMLError) in
            try TOMLDocument.parse(contentsOf: url.appendingPathExtension("absent"), fileName: "absent.toml")
        }
        XCTAssertEqual(missing?.code, .unreadableFile)
        XCTAssertEqual(missing?.line, 0)
        XCTAssertTrue(missing?.description.hasPrefix("absent.toml: cannot read the file") ?? false)
    }
}
