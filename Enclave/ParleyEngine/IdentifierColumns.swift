import Crypto
import ParleyAnalysis

/// What the worker tells a provider about the identifier fields of its upload that it could not
/// use: how many rows, which rows (numbered as ``CSVError`` numbers them: the header is row 1),
/// and why, per column. It never carries a field's contents.
public struct IdentifierReport: Hashable, Sendable {
    /// Rows listed at most; the counts are always complete.
    public static let maxListedRows = 1000

    /// Rows with at least one unusable identifier field.
    public var unusableRows = 0
    /// Of those, rows with no usable identifier of a person at all: never matched, not kept.
    public var droppedRows = 0
    /// The first ``maxListedRows`` unusable rows, ascending.
    public var rowNumbers: [Int] = []
    /// Per identifier column, how many fields were unusable for each reason.
    public var problems: [String: [IdentifierNormalization.Problem: Int]] = [:]

    /// Whether every identifier field was usable.
    public var isClean: Bool { unusableRows == 0 }

    /// Creates an empty report.
    public init() {}
}

/// Normalising identifier columns (`email`, `phone`, `sha256_email`, `sha256_phone`) of a loaded
/// table: each distinct field becomes the lower-case hex SHA-256 of its normalised form, so a
/// raw email and a pre-hashed one match; unusable fields are counted and reported, and a row
/// none of whose person identifiers is usable is dropped (it can never be matched).
enum IdentifierColumns {
    /// Code given to a field that did not normalise (never a dictionary code).
    static let unusable = UInt32.max

    static func normalise(_ table: Table) throws(CSVError) -> (Table, IdentifierReport) {
        let schema = table.schema
        let identifierColumns = schema.columns.indices.filter { schema.columns[$0].type.isIdentifier }
        var report = IdentifierReport()
        guard !identifierColumns.isEmpty else { return (table, report) }
        var columns = table.columns
        var rowUnusable = [Bool](repeating: false, count: table.rowCount)
        var rowHasPerson = [Bool](repeating: !schema.columns[schema.privacyUnitIndex].type.isIdentifier, count: table.rowCount)
        for index in identifierColumns {
            let column = schema.columns[index]
            guard case .text(let raw) = table.columns[index] else { continue }
            var normalised = TextDictionary()
            var remap = [UInt32](repeating: unusable, count: raw.dictionary.count)
            var problemOfCode: [UInt32: IdentifierNormalization.Problem] = [:]
            for code in 0 ..< raw.dictionary.count {
                let outcome = raw.dictionary.withBytes(UInt32(code)) { canonical($0, type: column.type, country: schema.phoneCountry) }
                switch outcome {
                case .success(let value):
                    var isNew = false
                    remap[code] = value.withUnsafeBufferPointer { normalised.intern($0, isNew: &isNew) }
                case .failure(let problem):
                    problemOfCode[UInt32(code)] = problem
                }
            }
            var empty: UInt32?
            var codes = raw.codes
            let identifiesPerson = schema.isUnitIdentifier(column.name)
            for row in codes.indices {
                let mapped = remap[Int(codes[row])]
                if mapped == unusable {
                    let problem = problemOfCode[codes[row]] ?? .empty
                    report.problems[column.name, default: [:]][problem, default: 0] += 1
                    rowUnusable[row] = true
                    // The empty text: never a SHA-256, so it never matches an identifier.
                    let code = empty ?? normalised.intern("")
                    empty = code
                    codes[row] = code
                } else {
                    codes[row] = mapped
                    if identifiesPerson { rowHasPerson[row] = true }
                }
            }
            columns[index] = .text(TextColumn(codes: codes, dictionary: normalised))
        }
        for row in rowUnusable.indices where rowUnusable[row] {
            report.unusableRows += 1
            if !rowHasPerson[row] { report.droppedRows += 1 }
            if report.rowNumbers.count < IdentifierReport.maxListedRows { report.rowNumbers.append(row + 2) }
        }
        if report.droppedRows > 0 {
            columns = columns.map { data in
                switch data {
                case .numbers(let values): .numbers(values.indices.filter { rowHasPerson[$0] }.map { values[$0] })
                case .text(let text): .text(TextColumn(codes: text.codes.indices.filter { rowHasPerson[$0] }.map { text.codes[$0] },
                                                       dictionary: text.dictionary))
                }
            }
        }
        do throws(EngineError) {
            return (try Table(schema: schema, columns: columns), report)
        } catch {
            throw CSVError(row: 0, column: nil, reason: error.reason)
        }
    }

    /// The stored form of one identifier field: the hex SHA-256 of the normalised value (the
    /// hashed types are already that, and are only checked and lower-cased).
    static func canonical(_ field: UnsafeBufferPointer<UInt8>, type: ColumnType,
                          country: PhoneCountry?) -> Result<[UInt8], IdentifierNormalization.Problem> {
        switch type {
        case .sha256Email, .sha256Phone:
            return IdentifierNormalization.sha256Hex(field)
        case .email:
            return IdentifierNormalization.email(field).map(hexSHA256)
        case .phone:
            // The schema requires a country for phone columns; without one nothing is usable.
            guard let country else { return .failure(.notAPhoneNumber) }
            return IdentifierNormalization.phone(field, country: country).map(hexSHA256)
        default:
            return .failure(.empty)
        }
    }

    static func hexSHA256(_ bytes: [UInt8]) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }
}
