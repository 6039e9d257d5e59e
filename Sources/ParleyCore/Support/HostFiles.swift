/// Where a host's data directory keeps the files other roles read: the operator's token (for
/// the operator's own `parley job ...`), and what parties and auditors pin. One place, because
/// the host writes them and the CLI, in another binary, reads them.
public enum HostFiles {
    /// The operator's bearer token (mode 0600).
    public static func operatorToken(in dataDirectory: String) -> String { dataDirectory + "/operator-token" }
    /// The log's folder (`entries.log`, `checkpoints.log`, `LOCK`).
    public static func logDirectory(in dataDirectory: String) -> String { dataDirectory + "/log" }
}
