/// Why the worker refused an upload or a query, as a fixed code: the only thing about a refusal
/// that enters the public log. The human reason goes to the requester alone, and never quotes
/// uploaded data (docs/privacy.md, "No plaintext in any message or log").
public enum RefusalCode: String, Sendable, CaseIterable {
    // Queries, before the charge (none of these depends on the data).
    /// The worker has no module yet.
    case noModule = "no-module"
    /// The module declares no such query.
    case undeclaredQuery = "undeclared-query"
    /// The requester is not a declared receiver of the query.
    case notReceiver = "not-receiver"
    /// The request nonce is not 16 to 64 bytes.
    case badNonce = "bad-nonce"
    /// The request nonce was already used.
    case replayed = "replayed"
    /// The request is not signed by the receiver.
    case badSignature = "bad-signature"
    /// A dataset the query reads has not been uploaded.
    case datasetsMissing = "datasets-missing"
    /// The run would spend more than the budget left.
    case budgetExceeded = "budget-exceeded"
    /// The query cannot be released under the policy (its cost cannot be computed).
    case invalidQuery = "invalid-query"
    /// The job was closed (its spending handed on to the ledger's next job): nothing more runs.
    case jobClosed = "job-closed"
    /// The request's `@parameter` values are missing, undeclared, of the wrong type or not
    /// among those the module allows.
    case invalidParameters = "invalid-parameters"
    // Queries, after the charge.
    /// Something failed after the budget was charged: the one generic refusal, charge kept.
    case notComputable = "not-computable"

    // Uploads.
    /// The module declares no such dataset.
    case undeclaredDataset = "undeclared-dataset"
    /// The dataset was already uploaded.
    case alreadyUploaded = "already-uploaded"
    /// The upload exceeds the worker's size cap.
    case tooLarge = "too-large"
    /// The upload stream does not decrypt or is cut short, reordered or replayed.
    case badStream = "bad-stream"
    /// The upload is not signed by the dataset's declared provider.
    case notProvider = "not-provider"
    /// The CSV does not match the dataset's declaration (the reason names row, column, type).
    case invalidCSV = "invalid-csv"

    /// A refusal code read from a log (a worker entry or a host log record): one of these, never
    /// free text, so that no data can be smuggled into the public log through a refusal.
    /// - Throws: `ParleyError` `.malformed` for anything else.
    public static func logged(_ text: String, in context: String) throws -> String {
        guard RefusalCode(rawValue: text) != nil else { throw ParleyError(.malformed, "\(context) has an unknown refusal code") }
        return text
    }

    /// The generic reason of ``notComputable``: it says nothing else, whatever failed.
    public static let notComputableReason = "the query could not be computed within its bounds"
}
