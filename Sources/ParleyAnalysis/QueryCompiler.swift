/// The analysis language's entry point: SQL text and declared datasets in, a checked
/// ``QueryPlan`` or a positioned ``AnalysisError`` out.
///
/// Grammar (keywords case-insensitive, identifiers case-sensitive):
///
///     query     := SELECT item {, item} FROM from [WHERE cond] [GROUP BY column {, column}] [;]
///     item      := (column | COUNT(*) | COUNT(DISTINCT column) | SUM(column) | AVG(column)) [[AS] name]
///     from      := source {[INNER] JOIN source ON column = column}
///     source    := dataset [[AS] name]
///                | (SELECT * FROM dataset UNION ALL SELECT * FROM dataset {UNION ALL ...}) [AS] name
///     cond      := conj {OR conj};  conj := neg {AND neg};  neg := NOT neg | pred
///     pred      := (cond) | value op value | value [NOT] IN (literal {, literal})
///                | value [NOT] BETWEEN value AND value
///     value     := column | 'text' | [-]integer | [-]decimal | DATE 'YYYY-MM-DD' | @parameter
///     column    := name | name.name   (name: plain word, "quoted" or `quoted`)
///
/// Privacy rules: a privacy-unit column may appear only in `ON` (joining two sources' units)
/// and in `COUNT(DISTINCT ...)`; never in the SELECT list, GROUP BY, WHERE, SUM or AVG.
public enum QueryCompiler {
    /// Parses and checks one query.
    ///
    /// - Parameters:
    ///   - sql: The query text; positions in errors are relative to it.
    ///   - catalog: The datasets the module declares.
    ///   - limits: Caps on size and nesting.
    /// - Returns: The typed plan.
    /// - Throws: ``AnalysisError`` naming the line and column and what to change.
    ///   - parameters: The query's declared `@parameters` and their types (int, decimal, date or
    ///     text); a condition may compare a column with one as with a literal.
    public static func compile(_ sql: String, catalog: DatasetCatalog, parameters: [String: ColumnType] = [:],
                               limits: AnalysisLimits = .standard) throws(AnalysisError) -> QueryPlan {
        let syntax = try Parser.parse(sql, limits: limits)
        var analyzer = Analyzer(catalog: catalog, limits: limits)
        analyzer.parameters = parameters
        return try analyzer.analyze(syntax)
    }
}
