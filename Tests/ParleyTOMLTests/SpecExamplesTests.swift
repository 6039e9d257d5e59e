import ParleyTOML
import XCTest

/// Valid documents from the TOML 1.0.0 specification (https://toml.io/en/v1.0.0, MIT licence),
/// section by section, with what they must parse to.
final class SpecExamplesTests: XCTestCase {
    private func assertParses(_ text: String, to expected: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let table = parsed(text, file: file, line: line) else { return }
        XCTAssertEqual(render(table), expected, file: file, line: line)
    }

    func testCommentsAndKeys() {
        assertParses("""
            # This is a full-line comment
            key = "value"  # This is a comment at the end of a line
            another = "# This is not a comment"
            """, to: ##"{key: "value", another: "# This is not a comment"}"##)
        assertParses("""
            key = "value"
            bare_key = "value"
            bare-key = "value"
            1234 = "value"
            """, to: #"{key: "value", bare_key: "value", bare-key: "value", 1234: "value"}"#)
        assertParses("""
            "127.0.0.1" = "value"
            "character encoding" = "value"
            "ʎǝʞ" = "value"
            'key2' = "value"
            'quoted "value"' = "value"
            "" = "blank"
            """, to: #"{127.0.0.1: "value", character encoding: "value", ʎǝʞ: "value", key2: "value", quoted "value": "value", : "blank"}"#)
    }

    func testDottedKeys() {
        assertParses("""
            name = "Orange"
            physical.color = "orange"
            physical.shape = "round"
            site."google.com" = true
            """, to: #"{name: "Orange", physical: {color: "orange", shape: "round"}, site: {google.com: true}}"#)
        assertParses("""
            fruit.name = "banana"     # this is best practice
            fruit. color = "yellow"    # same as fruit.color
            fruit . flavor = "banana"   # same as fruit.flavor
            """, to: #"{fruit: {name: "banana", color: "yellow", flavor: "banana"}}"#)
        assertParses("""
            apple.type = "fruit"
            orange.type = "fruit"
            apple.skin = "thin"
            orange.skin = "thick"
            """, to: #"{apple: {type: "fruit", skin: "thin"}, orange: {type: "fruit", skin: "thick"}}"#)
        assertParses("3.14159 = \"pi\"", to: #"{3: {14159: "pi"}}"#)
    }

    func testBasicStrings() {
        assertParses(#"str = "I'm a string. \"You can quote me\". Name\tJos\u00E9\nLocation\tSF.""#,
                     to: #"{str: "I\'m a string. \"You can quote me\". Name\tJosé\nLocation\tSF."}"#)
        assertParses(#"s = "\b\f\r\\ \U0001F600""#, to: #"{s: "\u{08}\u{0C}\r\\ 😀"}"#)
    }

    func testMultilineBasicStrings() {
        assertParses(#"""
            str1 = """
            Roses are red
            Violets are blue"""
            """#, to: #"{str1: "Roses are red\nViolets are blue"}"#)
        let fox = #""The quick brown fox jumps over the lazy dog.""#
        assertParses(#"""
            str1 = "The quick brown fox jumps over the lazy dog."

            str2 = """
            The quick brown \


              fox jumps over \
                the lazy dog."""

            str3 = """\
                   The quick brown \
                   fox jumps over \
                   the lazy dog.\
                   """
            """#, to: "{str1: \(fox), str2: \(fox), str3: \(fox)}")
        assertParses(#"""
            str4 = """Here are two quotation marks: "". Simple enough."""
            str5 = """Here are three quotation marks: ""\"."""
            str6 = """Here are fifteen quotation marks: ""\"""\"""\"""\"""\"."""
            str7 = """"This," she said, "is just a pointless statement.""""
            """#, to: #"""
            {str4: "Here are two quotation marks: \"\". Simple enough.", \#
            str5: "Here are three quotation marks: \"\"\".", \#
            str6: "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\".", \#
            str7: "\"This,\" she said, \"is just a pointless statement.\""}
            """#)
    }

    func testLiteralStrings() {
        assertParses(#"""
            winpath  = 'C:\Users\nodejs\templates'
            winpath2 = '\\ServerX\admin$\system32\'
            quoted   = 'Tom "Dubs" Preston-Werner'
            regex    = '<\i\c*\s*>'
            """#, to: #"{winpath: "C:\\Users\\nodejs\\templates", winpath2: "\\\\ServerX\\admin$\\system32\\", quoted: "Tom \"Dubs\" Preston-Werner", regex: "<\\i\\c*\\s*>"}"#)
        assertParses(#"""
            regex2 = '''I [dw]on't need \d{2} apples'''
            lines  = '''
            The first newline is
            trimmed in raw strings.
               All other whitespace
               is preserved.
            '''
            """#, to: #"{regex2: "I [dw]on\'t need \\d{2} apples", lines: "The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n"}"#)
        assertParses(#"""
            quot15 = '''Here are fifteen quotation marks: """""""""""""""'''
            apos15 = "Here are fifteen apostrophes: '''''''''''''''"
            str = ''''That,' she said, 'is still pointless.''''
            """#, to: #"{quot15: "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"", apos15: "Here are fifteen apostrophes: \'\'\'\'\'\'\'\'\'\'\'\'\'\'\'", str: "\'That,\' she said, \'is still pointless.\'"}"#)
    }

    func testIntegers() {
        assertParses("""
            int1 = +99
            int2 = 42
            int3 = 0
            int4 = -17
            int5 = 1_000
            int6 = 5_349_221
            int7 = 53_49_221
            int8 = 1_2_3_4_5
            hex1 = 0xDEADBEEF
            hex2 = 0xdeadbeef
            hex3 = 0xdead_beef
            oct1 = 0o01234567
            oct2 = 0o755
            bin1 = 0b11010110
            max = 9223372036854775807
            min = -9223372036854775808
            zeros = [+0, -0]
            """, to: "{int1: 99, int2: 42, int3: 0, int4: -17, int5: 1000, int6: 5349221, int7: 5349221, int8: 12345, "
                + "hex1: 3735928559, hex2: 3735928559, hex3: 3735928559, oct1: 342391, oct2: 493, bin1: 214, "
                + "max: 9223372036854775807, min: -9223372036854775808, zeros: [0, 0]}")
    }

    func testFloatsKeepTheirText() throws {
        let text = """
            flt1 = +1.0
            flt2 = 3.1415
            flt3 = -0.01
            flt4 = 5e+22
            flt5 = 1e06
            flt6 = -2E-2
            flt7 = 6.626e-34
            flt8 = 224_617.445_991_228
            sf1 = inf
            sf2 = +inf
            sf3 = -inf
            sf4 = nan
            sf5 = +nan
            sf6 = -nan
            epsilon = 1e-9
            avogadro = 6.02e23
            """
        let table = try XCTUnwrap(parsed(text))
        let expected: [(String, Double, String)] = [
            ("flt1", 1.0, "+1.0"), ("flt2", 3.1415, "3.1415"), ("flt3", -0.01, "-0.01"),
            ("flt4", 5e22, "5e+22"), ("flt5", 1e6, "1e06"), ("flt6", -2e-2, "-2E-2"),
            ("flt7", 6.626e-34, "6.626e-34"), ("flt8", 224_617.445_991_228, "224_617.445_991_228"),
            ("sf1", .infinity, "inf"), ("sf2", .infinity, "+inf"), ("sf3", -.infinity, "-inf"),
            ("epsilon", 1e-9, "1e-9"), ("avogadro", 6.02e23, "6.02e23"),
        ]
        for (key, value, written) in expected {
            XCTAssertEqual(try table.requiredFloat(key), TOMLFloat(value: value, text: written), key)
        }
        for key in ["sf4", "sf5", "sf6"] {
            let float = try table.requiredFloat(key)
            XCTAssertTrue(float.value.isNaN, key)
        }
        XCTAssertEqual(try table.requiredFloat("sf6").text, "-nan")
    }

    func testBooleansAndArrays() {
        assertParses("bool1 = true\nbool2 = false", to: "{bool1: true, bool2: false}")
        assertParses("""
            integers = [ 1, 2, 3 ]
            colors = [ "red", "yellow", "green" ]
            nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]
            nested_mixed_array = [ [ 1, 2 ], ["a", "b", "c"] ]
            string_array = [ "all", 'strings', \"""are the same\""", '''type''' ]
            numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]
            contributors = [
              "Foo Bar <foo@example.com>",
              { name = "Baz Qux", email = "bazqux@example.com", url = "https://example.com/bazqux" }
            ]
            integers2 = [
              1, 2, 3
            ]
            integers3 = [
              1,
              2, # this is ok
            ]
            empty = [ # nothing
            ]
            """, to: #"{integers: [1, 2, 3], colors: ["red", "yellow", "green"], "#
                + #"nested_arrays_of_ints: [[1, 2], [3, 4, 5]], nested_mixed_array: [[1, 2], ["a", "b", "c"]], "#
                + #"string_array: ["all", "strings", "are the same", "type"], "#
                + #"numbers: [float(0.1), float(0.2), float(0.5), 1, 2, 5], "#
                + #"contributors: ["Foo Bar <foo@example.com>", {name: "Baz Qux", email: "bazqux@example.com", url: "https://example.com/bazqux"}], "#
                + #"integers2: [1, 2, 3], integers3: [1, 2], empty: []}"#)
    }

    func testTables() {
        assertParses("""
            [table-1]
            key1 = "some string"
            key2 = 123

            [table-2]
            key1 = "another string"
            key2 = 456

            [dog."tater.man"]
            type.name = "pug"
            """, to: #"{table-1: {key1: "some string", key2: 123}, table-2: {key1: "another string", key2: 456}, dog: {tater.man: {type: {name: "pug"}}}}"#)
        assertParses("""
            [a.b.c]            # this is best practice
            [ d.e.f ]          # same as [d.e.f]
            [ g .  h  . i ]    # same as [g.h.i]
            [ j . "ʞ" . 'l' ]  # same as [j."ʞ".'l']
            """, to: "{a: {b: {c: {}}}, d: {e: {f: {}}}, g: {h: {i: {}}}, j: {ʞ: {l: {}}}}")
        assertParses("""
            # [x] you
            # [x.y] don't
            # [x.y.z] need these
            [x.y.z.w] # for this to work

            [x] # defining a super-table afterward is ok
            """, to: "{x: {y: {z: {w: {}}}}}")
        assertParses("""
            [fruit]
            apple.color = "red"
            apple.taste.sweet = true

            [fruit.apple.texture]  # you can add sub-tables
            smooth = true
            """, to: #"{fruit: {apple: {color: "red", taste: {sweet: true}, texture: {smooth: true}}}}"#)
        assertParses("""
            # Top-level table begins.
            name = "Fido"
            breed = "pug"

            # Top-level table ends.
            [owner]
            name = "Regina Dogman"
            member_since = 1999
            """, to: #"{name: "Fido", breed: "pug", owner: {name: "Regina Dogman", member_since: 1999}}"#)
    }

    func testInlineTables() {
        assertParses("""
            name = { first = "Tom", last = "Preston-Werner" }
            point = { x = 1, y = 2 }
            animal = { type.name = "pug" }
            empty = {}
            """, to: #"{name: {first: "Tom", last: "Preston-Werner"}, point: {x: 1, y: 2}, animal: {type: {name: "pug"}}, empty: {}}"#)
        assertParses("""
            points = [ { x = 1, y = 2, z = 3 },
                       { x = 7, y = 8, z = 9 },
                       { x = 2, y = 4, z = 8 } ]
            """, to: "{points: [{x: 1, y: 2, z: 3}, {x: 7, y: 8, z: 9}, {x: 2, y: 4, z: 8}]}")
    }

    func testArraysOfTables() throws {
        assertParses("""
            [[products]]
            name = "Hammer"
            sku = 738594937

            [[products]]  # empty table within the array

            [[products]]
            name = "Nail"
            sku = 284758393

            color = "gray"
            """, to: #"{products: [{name: "Hammer", sku: 738594937}, {}, {name: "Nail", sku: 284758393, color: "gray"}]}"#)
        let fruits = """
            [[fruits]]
            name = "apple"

            [fruits.physical]  # subtable
            color = "red"
            shape = "round"

            [[fruits.varieties]]  # nested array of tables
            name = "red delicious"

            [[fruits.varieties]]
            name = "granny smith"


            [[fruits]]
            name = "banana"

            [[fruits.varieties]]
            name = "plantain"
            """
        assertParses(fruits, to: #"{fruits: [{name: "apple", physical: {color: "red", shape: "round"}, "#
            + #"varieties: [{name: "red delicious"}, {name: "granny smith"}]}, {name: "banana", varieties: [{name: "plantain"}]}]}"#)
        let table = try XCTUnwrap(parsed(fruits))
        let elements = try XCTUnwrap(table.optionalArrayOfTables("fruits"))
        XCTAssertEqual(elements.map(\.position), [TOMLPosition(line: 1, column: 1), TOMLPosition(line: 15, column: 1)])
        XCTAssertEqual(elements[1].path.description, "fruits[1]")
        let varieties = try XCTUnwrap(elements[0].optionalArrayOfTables("varieties"))
        XCTAssertEqual(varieties[1].path.description, "fruits[0].varieties[1]")
        XCTAssertEqual(varieties[1].valuePosition(of: "name"), TOMLPosition(line: 12, column: 8))
    }

    func testLineEndingsWhitespaceAndByteOrderMark() {
        assertParses("a = 1\r\nb = '''\r\nx\r\ny'''\r\n", to: #"{a: 1, b: "x\ny"}"#)
        assertParses("\t a\t=\t1\t# tabs\n", to: "{a: 1}")
        assertParses("", to: "{}")
        assertParses("# only a comment", to: "{}")
        guard let table = try? TOMLDocument.parse(bytes: [0xEF, 0xBB, 0xBF] + Array("a = 1".utf8), fileName: "bom.toml") else {
            return XCTFail("a leading byte-order mark is allowed")
        }
        XCTAssertEqual(table.valuePosition(of: "a"), TOMLPosition(line: 1, column: 5))
    }

    func testEdgeCasesAccepted() {
        // A value inside an inline table may span lines; the table itself may not.
        assertParses("a = { b = [\n  1,\n  2, # two\n] }", to: "{a: {b: [1, 2]}}")
        // Each [[a]] element gets its own [a.b].
        assertParses("[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2", to: "{a: [{b: {x: 1}}, {b: {x: 2}}]}")
        // [[a.b]] before [a] implies a; [a] may then still be defined.
        assertParses("[[a.b]]\nx = 1\n[a]\ny = 2", to: "{a: {b: [{x: 1}], y: 2}}")
        // A table only implied by a header may be extended by dotted keys from its parent.
        assertParses("[a.b.c]\n[a]\nb.d = 1", to: "{a: {b: {c: {}, d: 1}}}")
        // Comments may follow a value with no space; "#" inside strings is text.
        assertParses("a = 1#c\nb = \"#\"#c\nc = '#'", to: ##"{a: 1, b: "#", c: "#"}"##)
        // Quoted keys are the same key as bare ones; escapes in keys are decoded.
        assertParses("\"a\\u0062\" = 1", to: "{ab: 1}")
        assertParses("a = -0.0\nb = 0e0\nc = 1_000.5", to: "{a: float(-0.0), b: float(0e0), c: float(1_000.5)}")
    }
}
