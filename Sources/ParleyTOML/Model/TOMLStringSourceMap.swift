/// Maps positions inside a decoded string back to the file it was read from.
///
/// A caller that parses a string's content (SQL in a multi-line string, say) gets errors at a
/// line and column of the *content*; ``sourcePosition(line:column:)`` turns them into the
/// line and column of the TOML file, so the message can point at the file. The mapping is exact,
/// including after escapes (`\n`, `\u00E9`), a trimmed first newline, a line-ending backslash,
/// and `\r\n` line endings (which the content holds as `\n`). A column that falls on a character
/// written as an escape maps to the escape's backslash.
public struct TOMLStringSourceMap: Sendable, Equatable {
    /// How the string was written.
    public enum Style: Sendable, Equatable {
        /// `"..."`
        case basic
        /// `'...'`
        case literal
        /// `"""..."""`
        case multilineBasic
        /// `'''...'''`
        case multilineLiteral
    }

    /// A content column from which content and source advance together.
    struct Anchor: Sendable, Equatable {
        let contentColumn: Int
        let source: TOMLPosition
    }

    /// How the string was written.
    public let style: Style
    /// For each content line (split at `\n`), its anchors in increasing content column.
    let lines: [[Anchor]]

    init(style: Style, lines: [[Anchor]]) {
        self.style = style
        self.lines = lines
    }

    /// Where the first character of the content is in the file (after a trimmed first newline
    /// or a line-ending backslash that opens the string).
    public var contentStart: TOMLPosition {
        sourcePosition(line: 1, column: 1) ?? .start
    }

    /// The number of content lines: one more than the number of `\n` in the content.
    public var lineCount: Int { lines.count }

    /// The file position of a content position.
    /// - Parameters:
    ///   - line: 1-based line of the decoded content.
    ///   - column: 1-based column of the decoded content, in Unicode scalars. A column one past
    ///     the end of a line maps to just after its last character.
    /// - Returns: The position in the TOML file, or `nil` if `line` or `column` is below 1 or
    ///   `line` is past the last content line.
    public func sourcePosition(line: Int, column: Int) -> TOMLPosition? {
        guard line >= 1, line <= lines.count, column >= 1 else { return nil }
        guard let anchor = lines[line - 1].last(where: { $0.contentColumn <= column }) else {
            return nil
        }
        return TOMLPosition(
            line: anchor.source.line,
            column: anchor.source.column + (column - anchor.contentColumn)
        )
    }
}
