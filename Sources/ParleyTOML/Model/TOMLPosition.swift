/// A place in a TOML source file, as a 1-based line and column.
///
/// Columns count Unicode scalars from the start of the line: a tab, an ASCII letter and a
/// multi-byte character such as "é" each take one column. A caller that maps columns of its own
/// (for example a SQL parser reporting an error inside a multi-line string) should count the
/// same way.
public struct TOMLPosition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 1-based line number.
    public let line: Int
    /// The 1-based column, in Unicode scalars.
    public let column: Int

    /// Creates a position.
    /// - Parameters:
    ///   - line: The 1-based line number.
    ///   - column: The 1-based column, in Unicode scalars.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// Line 1, column 1: where the top-level table of every document starts.
    public static let start = TOMLPosition(line: 1, column: 1)

    public static func < (lhs: TOMLPosition, rhs: TOMLPosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    /// `line:column`, as used inside error messages ("first defined at 3:1").
    public var description: String { "\(line):\(column)" }
}
