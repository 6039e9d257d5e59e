/// Caps that keep a hostile or broken file from costing unbounded memory or stack.
///
/// Every cap is checked while parsing and refused with ``TOMLError/Code/limitExceeded`` at the
/// position where it was crossed. The defaults are generous for configuration files.
public struct TOMLLimits: Sendable, Hashable {
    /// The largest input, in bytes. Default 1 MiB.
    public var maxInputBytes: Int
    /// The deepest nesting of tables, arrays and inline tables, counted as the number of keys
    /// and array indices from the top level to a value (`a.b.c = 1` is depth 3). Default 32.
    public var maxDepth: Int
    /// The most elements in one array, or tables in one array of tables. Default 100,000.
    public var maxArrayLength: Int
    /// The longest string value, in UTF-8 bytes after escapes are decoded. Default 256 KiB.
    public var maxStringBytes: Int
    /// The longest single key, in UTF-8 bytes. Default 1,024.
    public var maxKeyBytes: Int

    /// Creates limits; every argument defaults to the value of ``default``.
    public init(
        maxInputBytes: Int = 1 << 20,
        maxDepth: Int = 32,
        maxArrayLength: Int = 100_000,
        maxStringBytes: Int = 256 << 10,
        maxKeyBytes: Int = 1_024
    ) {
        self.maxInputBytes = maxInputBytes
        self.maxDepth = maxDepth
        self.maxArrayLength = maxArrayLength
        self.maxStringBytes = maxStringBytes
        self.maxKeyBytes = maxKeyBytes
    }

    /// 1 MiB input, depth 32, 100k array elements, 256 KiB strings, 1 KiB keys.
    public static let `default` = TOMLLimits()
}
