import XCTest
import ParleyAnalysis
@testable import ParleyEngine

/// The streaming loader against the whole-upload loader: the same table, the same identifier
/// report and the same refusals, wherever the pieces and chunks fall; and its memory bounded.
final class CSVStreamLoaderTests: XCTestCase {
    static let schema = CSVLoaderTests.schema

    /// Every cell of a table as text (numbers as their stored integers), column by column.
    static func cells(_ table: Table) -> [[String]] {
        table.columns.map { column in
            switch column {
            case .numbers(let values): values.map(String.init)
            case .text(let text): text.codes.map { text.dictionary.string($0) }
            }
        }
    }

    /// Streams `bytes` in chunks of `chunk` bytes with pieces of `piece` bytes.
    static func stream(_ bytes: [UInt8], schema: DatasetSchema = schema, chunk: Int, piece: Int,
                       limits: CSVLimits = .standard) throws(CSVError) -> (table: Table, identifiers: IdentifierReport) {
        var loader = CSVStreamLoader(schema: schema, limits: limits, expectedBytes: bytes.count, pieceBytes: piece)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            try loader.feed(Array(bytes[offset ..< end]))
            offset = end
        }
        return try loader.finish()
    }

    /// A CSV with everything a piece boundary could split: a byte order mark, CRLF and LF, quoted
    /// fields with commas, `""` escapes and line breaks, empty text, and a last record with no
    /// line break.
    static let tricky: [UInt8] = {
        var text = "\u{FEFF}day,quantity,amount,category,email_hash\r\n"
        for i in 0 ..< 700 {
            let category: String
            switch i % 6 {
            case 0: category = "\"soda, diet\""
            case 1: category = "\"say \"\"hi\"\"\nthere\""
            case 2: category = ""
            case 3: category = "\"\""
            case 4: category = "\"multi\r\nline, \"\"quoted\"\"\""
            default: category = "water\(i % 11)"
            }
            let end = i % 3 == 0 ? "\r\n" : "\n"
            text += "2024-0\(1 + i % 9)-1\(i % 10),\(i - 350),\(i).\(i % 10000),\(category),user\(i % 97)\(i == 699 ? "" : end)"
        }
        return Array(text.utf8)
    }()

    func testEveryPieceAndChunkSizeGivesTheWholeLoadsTable() throws {
        let whole = Self.cells(try CSVLoader.load(Self.tricky, schema: Self.schema))
        XCTAssertEqual(whole[0].count, 700)
        for piece in [1, 2, 3, 5, 8, 13, 64, 333, 4096, 1 << 20] {
            for chunk in [1, 7, 100, 1 << 16] {
                let streamed = try Self.stream(Self.tricky, chunk: chunk, piece: piece)
                XCTAssertEqual(Self.cells(streamed.table), whole, "piece \(piece), chunk \(chunk)")
            }
        }
    }

    /// Every cut point of a small upload: fed as two chunks split at each byte, with pieces of one
    /// byte (so every complete record is read as soon as it can be).
    func testACutAtEveryByteGivesTheSameTable() throws {
        let bytes = Array(Self.tricky.prefix(2000))
        // The prefix may end inside a quoted field: compare outcomes, whichever they are.
        let whole = Result { try CSVLoader.load(bytes, schema: Self.schema) }.map(Self.cells)
        for cut in 0 ... bytes.count {
            var loader = CSVStreamLoader(schema: Self.schema, pieceBytes: 1)
            let streamed = Result { () throws(CSVError) -> [[String]] in
                try loader.feed(Array(bytes[..<cut]))
                try loader.feed(Array(bytes[cut...]))
                return Self.cells(try loader.finish().table)
            }
            switch (whole, streamed) {
            case (.success(let a), .success(let b)): XCTAssertEqual(a, b, "cut at \(cut)")
            case (.failure(let a), .failure(let b)): XCTAssertEqual(a as? CSVError, b as? CSVError, "cut at \(cut)")
            default: XCTFail("cut at \(cut): whole \(whole), streamed \(streamed)")
            }
        }
    }

    /// Random CSV (quotes, escapes, commas, CR and LF inside quoted text) with random chunking.
    func testRandomUploadsMatchTheWholeLoad() throws {
        var rng = SQLiteComparisonTests.Generator(state: 0x5EED)
        let alphabet: [Character] = ["a", "b", ",", "\"", "\n", "\r", " ", "é"]
        for round in 0 ..< 40 {
            var text = "email_hash,category,amount,quantity,day\n"
            for row in 0 ..< rng.next(200) {
                var field = ""
                for _ in 0 ..< rng.next(12) { field.append(alphabet[rng.next(alphabet.count)]) }
                let quoted = "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                text += "u\(row % 13),\(quoted),\(row).5,\(row),2024-01-0\(1 + row % 9)\n"
            }
            let bytes = Array(text.utf8)
            let whole = Self.cells(try CSVLoader.load(bytes, schema: Self.schema))
            let streamed = try Self.stream(bytes, chunk: 1 + rng.next(300), piece: 1 + rng.next(500))
            XCTAssertEqual(Self.cells(streamed.table), whole, "round \(round)")
        }
    }

    /// Refusals name the same row, column and reason streamed as loaded whole, including faults
    /// that upset the quote count the pieces are cut by.
    func testRefusalsAreTheSameAsTheWholeLoads() {
        let header = CSVLoaderTests.header
        let good = (0 ..< 50).map { "u\($0),soda,1.5,2,2024-01-01\n" }.joined()
        let bad = [
            header + good + "u,soda,1.5,x,2024-01-01\n" + good,                   // not an int
            header + good + "u,so\"da,1.5,2,2024-01-01\n" + good,                  // a stray quote
            header + good + "u,\"soda,1.5,2,2024-01-01\n" + good,                  // a quote never closed
            header + good + "u,\"soda\"x,1.5,2,2024-01-01\n" + good,               // text after a closing quote
            header + good + "u,soda,1.5,2\n" + good,                               // too few fields
            header + good + "u,soda,1.5,2,2024-01-01,extra\n" + good,              // too many fields
            header + good + "u,soda\r,1.5,2,2024-01-01\n" + good,                  // a bare CR
            header + good + "u,\(String(repeating: "x", count: 5000)),1.5,2,2024-01-01\n" + good,  // a field too long
            header + good + "u,\"\(String(repeating: "x", count: 5000))\",1.5,2,2024-01-01\n" + good,
            "email_hash,category\n" + good,                                         // a header lacking columns
            "",                                                                     // empty
        ]
        for (index, text) in bad.enumerated() {
            let bytes = Array(text.utf8)
            var expected: CSVError?
            do { _ = try CSVLoader.load(bytes, schema: Self.schema) } catch { expected = error }
            XCTAssertNotNil(expected, "case \(index) is refused whole")
            for (chunk, piece) in [(1, 1), (7, 64), (100, 100), (4096, 1 << 20)] {
                do {
                    _ = try Self.stream(bytes, chunk: chunk, piece: piece)
                    XCTFail("case \(index), chunk \(chunk), piece \(piece): accepted streamed")
                } catch {
                    XCTAssertEqual(error, expected, "case \(index), chunk \(chunk), piece \(piece)")
                }
            }
        }
    }

    /// A record that never ends is refused once it is longer than any record can be, without
    /// the loader gathering the rest of the upload.
    func testARecordThatNeverEndsIsRefusedWithinBoundedMemory() {
        var loader = CSVStreamLoader(schema: Self.schema, pieceBytes: 1 << 16)
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 16)
        var fed = 0
        do {
            try loader.feed(Array(CSVLoaderTests.header.utf8))
            try loader.feed(Array("u,\"".utf8))
            while fed < 64 << 20 {
                try loader.feed(chunk)
                fed += chunk.count
                XCTAssertLessThan(loader.memoryBytes, 1 << 20, "the loader gathers an endless record")
            }
            XCTFail("an endless quoted field was not refused")
        } catch {
            XCTAssertEqual(error.row, 2)
            XCTAssertEqual(error.column, "category")
            XCTAssertTrue(error.reason.contains("longer than the limit of 4096 bytes"), error.description)
            XCTAssertLessThan(fed, 1 << 20)
        }
    }

    /// 64 MiB fed a chunk at a time: the loader never holds more than its columns and a piece or
    /// two, far less than the upload (the whole loader held all of it).
    func testMemoryIsTheColumnsAndAPieceNotTheUpload() throws {
        let schema = try DatasetSchema(name: "events", provider: "p",
                                       columns: [ColumnSchema(name: "unit", type: .text), ColumnSchema(name: "note", type: .text),
                                                 ColumnSchema(name: "n", type: .int)], privacyUnit: "unit")
        let note = String(repeating: "a long repeated note ", count: 10)
        var loader = CSVStreamLoader(schema: schema)
        try loader.feed(Array("unit,note,n\n".utf8))
        var fed = 0, peak = 0, row = 0
        while fed < 64 << 20 {
            var chunk = ""
            for _ in 0 ..< 1000 {
                chunk += "user\(row % 5000),\(note)\(row % 7),\(row)\n"
                row += 1
            }
            let bytes = Array(chunk.utf8)
            try loader.feed(bytes)
            fed += bytes.count
            peak = max(peak, loader.memoryBytes)
        }
        let table = try loader.finish().table
        XCTAssertEqual(table.rowCount, row)
        // Columns: 4 + 4 + 8 bytes a row (growing by doubling) and two 4 MiB buffers.
        XCTAssertLessThan(peak, 2 * row * 16 + 3 * CSVStreamLoader.defaultPieceBytes, "peak \(peak) for \(fed) bytes")
        XCTAssertLessThan(peak, fed / 2)
    }

    /// An identifier column's dictionary gets room for what the announced size projects after a
    /// piece, so its table does not grow by doubling; a lying size reserves at most eight times
    /// what was read; a column that repeats gets nothing; the table is the same either way.
    func testDistinctColumnsAreReservedFromTheHintWithinWhatWasRead() throws {
        let schema = try DatasetSchema(name: "people", provider: "p",
                                       columns: [ColumnSchema(name: "unit", type: .text), ColumnSchema(name: "cohort", type: .text),
                                                 ColumnSchema(name: "n", type: .int)], privacyUnit: "unit")
        var text = "unit,cohort,n\n"
        for i in 0 ..< 100_000 { text += "person-\(i),g\(i % 20),\(i)\n" }
        let bytes = Array(text.utf8)
        let whole = Self.cells(try CSVLoader.load(bytes, schema: schema))
        /// Feeds chunks until the first piece is read; the (entries, slots) of both columns then.
        func firstPiece(hint: Int?) throws -> (loader: CSVStreamLoader, sizes: [(entries: Int, slots: Int)]) {
            var loader = CSVStreamLoader(schema: schema, expectedBytes: hint, pieceBytes: 64 << 10)
            var offset = 0
            while loader.rowsRead == 0 {
                try loader.feed(Array(bytes[offset ..< offset + 4096]))
                offset += 4096
            }
            let sizes = loader.dictionarySizes
            while offset < bytes.count {
                try loader.feed(Array(bytes[offset ..< min(bytes.count, offset + 4096)]))
                offset += 4096
            }
            return (loader, sizes)
        }
        let honest = try firstPiece(hint: bytes.count), none = try firstPiece(hint: nil), lie = try firstPiece(hint: 1 << 40)
        let held = honest.sizes[0].entries
        XCTAssertGreaterThan(held, 1000)
        XCTAssertGreaterThanOrEqual(honest.sizes[0].slots, 16 * held, "honest hint: room for eight times the rows read")
        XCTAssertLessThanOrEqual(none.sizes[0].slots, 4 * held, "no hint: grown by doubling only")
        XCTAssertLessThanOrEqual(lie.sizes[0].slots, 32 * held, "a lie reserves at most eight times what was read")
        for run in [honest, none, lie] {
            XCTAssertEqual(run.sizes[1].slots, 64, "a column of 20 values is not reserved")
            var loader = run.loader
            XCTAssertEqual(Self.cells(try loader.finish().table), whole)
        }
    }

    /// The engine gives byte-identical answers over a streamed table and a whole-loaded one.
    func testTheEngineAnswersTheSameOverAStreamedTable() throws {
        let streamed = try Self.stream(Self.tricky, chunk: 113, piece: 257).table
        let whole = try CSVLoader.load(Self.tricky, schema: Self.schema)
        XCTAssertEqual(streamed.memoryBytes > 0, true)
        let sql = "SELECT category, COUNT(DISTINCT email_hash) AS people, SUM(amount) AS total FROM purchases GROUP BY category"
        let plan = try QueryCompiler.compile(sql, catalog: try DatasetCatalog([Self.schema]))
        let key = try BoundingKey(Array(repeating: 7, count: 32))
        let bounds = ContributionBounds(maxGroupsPerUnit: 3, maxRowsPerUnit: 5)
        let a = try QueryEngine(datasets: ["purchases": streamed]).run(plan, bounds: bounds, key: key)
        let b = try QueryEngine(datasets: ["purchases": whole]).run(plan, bounds: bounds, key: key)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.groups.count, 15, "four categories and water0 to water10")
    }

    func testLastRecordEndCountsQuotes() {
        func end(_ text: String) -> Int? { Array(text.utf8).withUnsafeBufferPointer { CSVStreamLoader.lastRecordEnd(in: $0) } }
        XCTAssertEqual(end("a,b\nc,d\n"), 7)
        XCTAssertEqual(end("a,\"b\nc\""), nil, "the line feed is inside quotes")
        XCTAssertEqual(end("a,\"b\"\"\nc\"\nx"), 9)
        XCTAssertEqual(end("abc"), nil)
        for length in 0 ..< 40 {
            let text = String(repeating: "\"x", count: length)
            let count = Array(text.utf8).withUnsafeBufferPointer { CSVStreamLoader.countQuotes($0) }
            XCTAssertEqual(count, length)
        }
    }
}

