/// Caps on the size and shape of a query, checked before and while parsing.
///
/// The defaults are far above any reasonable analysis query and low enough that a hostile
/// module source cannot make sealing slow or exhaust the stack.
public struct AnalysisLimits: Hashable, Sendable {
    /// Maximum SQL length in UTF-8 bytes.
    public var maxSQLBytes: Int
    /// Maximum number of tokens.
    public var maxTokens: Int
    /// Maximum nesting of conditions (parentheses, NOT, AND/OR levels).
    public var maxExpressionDepth: Int
    /// Maximum number of values in one `IN (...)` list.
    public var maxInListLength: Int
    /// Maximum number of data sources joined in one FROM clause.
    public var maxJoinedSources: Int
    /// Maximum number of datasets in one `UNION ALL` source.
    public var maxUnionMembers: Int
    /// Maximum number of items in the SELECT list and in GROUP BY, each.
    public var maxSelectItems: Int

    /// Creates limits; every parameter has a default.
    public init(maxSQLBytes: Int = 64 * 1024, maxTokens: Int = 10_000, maxExpressionDepth: Int = 64,
                maxInListLength: Int = 1_000, maxJoinedSources: Int = 8, maxUnionMembers: Int = 16,
                maxSelectItems: Int = 64) {
        self.maxSQLBytes = maxSQLBytes
        self.maxTokens = maxTokens
        self.maxExpressionDepth = maxExpressionDepth
        self.maxInListLength = maxInListLength
        self.maxJoinedSources = maxJoinedSources
        self.maxUnionMembers = maxUnionMembers
        self.maxSelectItems = maxSelectItems
    }

    /// The defaults.
    public static let standard = AnalysisLimits()
}
