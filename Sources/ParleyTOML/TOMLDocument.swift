import Foundation

/// Entry points of the strict TOML reader.
///
/// Supports a subset of TOML 1.0: comments; bare, quoted and dotted keys; `[table]` and
/// `[[array.of.tables]]` headers; the four string forms with all TOML 1.0 escapes; decimal,
/// hexadecimal, octal and binary integers; floats (kept with their text as written), `inf`,
/// `nan`; booleans; arrays; inline tables. Dates and times are refused with
/// ``TOMLError/Code/unsupported``. Everything TOML 1.0 forbids is refused, each with a line,
/// column and message, and the caps of ``TOMLLimits`` bound the work.
///
/// The result is *unchecked configuration*: well-formed TOML, with no promise about which keys
/// exist or what their values mean. Use the typed accessors on ``TOMLTable`` to check it.
public enum TOMLDocument {
    /// Parses a document given as text.
    /// - Parameters:
    ///   - text: The document.
    ///   - fileName: The name to put in front of error messages (`policy.toml:3:10: ...`).
    ///   - limits: Caps on size, depth and lengths.
    /// - Returns: The top-level table.
    /// - Throws: ``TOMLError`` at the first defect.
    public static func parse(_ text: String, fileName: String, limits: TOMLLimits = .default) throws(TOMLError) -> TOMLTable {
        try checkSize(text.utf8.count, fileName: fileName, limits: limits)
        return try parse(bytes: Array(text.utf8), fileName: fileName, limits: limits)
    }

    /// Parses a document given as bytes, which must be UTF-8.
    /// - Parameters:
    ///   - bytes: The document; invalid UTF-8 is refused with the position of the first bad byte.
    ///   - fileName: The name to put in front of error messages.
    ///   - limits: Caps on size, depth and lengths.
    /// - Returns: The top-level table.
    /// - Throws: ``TOMLError`` at the first defect.
    public static func parse(bytes: some Collection<UInt8>, fileName: String, limits: TOMLLimits = .default) throws(TOMLError) -> TOMLTable {
        try checkSize(bytes.count, fileName: fileName, limits: limits)
        let bytes = Array(bytes)
        if let offset = UTF8Validation.firstInvalidOffset(in: bytes) {
            throw TOMLError(
                code: .invalidUTF8,
                fileName: fileName,
                position: ByteCursor.position(ofOffset: offset, in: bytes),
                message: "invalid UTF-8 (byte 0x\(hexDigits(UInt32(bytes[offset]), width: 2))); save the file as UTF-8")
        }
        var parser = TOMLParser(bytes: bytes, fileName: fileName, limits: limits)
        return try parser.parseDocument()
    }

    /// Reads and parses a file, reading no more than `limits.maxInputBytes + 1` bytes.
    /// - Parameters:
    ///   - url: The file.
    ///   - fileName: The name for error messages; defaults to the URL's last path component.
    ///   - limits: Caps on size, depth and lengths.
    /// - Returns: The top-level table.
    /// - Throws: ``TOMLError``; ``TOMLError/Code/unreadableFile`` (with line and column 0) if the
    ///   file cannot be read.
    public static func parse(contentsOf url: URL, fileName: String? = nil, limits: TOMLLimits = .default) throws(TOMLError) -> TOMLTable {
        let name = fileName ?? url.lastPathComponent
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            data = try handle.read(upToCount: limits.maxInputBytes + 1) ?? Data()
        } catch {
            throw TOMLError(
                code: .unreadableFile, fileName: name, position: TOMLPosition(line: 0, column: 0),
                message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(bytes: data, fileName: name, limits: limits)
    }

    private static func checkSize(_ count: Int, fileName: String, limits: TOMLLimits) throws(TOMLError) {
        guard count <= limits.maxInputBytes else {
            throw TOMLError(
                code: .limitExceeded, fileName: fileName, position: .start,
                message: "the file is larger than the limit of \(limits.maxInputBytes) bytes")
        }
    }
}
