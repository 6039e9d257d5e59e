/// The one error of the egress gate: why a release, a policy or a parameter was refused.
///
/// Every refusal is a ``Refusal`` case with the facts a person needs to act on it. No case ever
/// carries a data value (an exact count, a total, a group key): refusals can reach a receiver,
/// and the gate must not leak through them.
public struct EgressError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was refused and why.
    public let refusal: Refusal
    /// The file that raised the error (for maintainers; not shown to receivers).
    public let fileID: String
    /// The line that raised the error.
    public let line: Int

    /// Creates an error for `refusal`, recording where it was raised.
    public init(_ refusal: Refusal, fileID: String = #fileID, line: Int = #line) {
        self.refusal = refusal
        self.fileID = fileID
        self.line = line
    }

    /// A sentence a person can act on.
    public var reason: String { refusal.reason }

    /// Same as ``reason``.
    public var description: String { reason }

    /// Two errors are equal when they refuse the same thing, wherever they were raised.
    public static func == (lhs: EgressError, rhs: EgressError) -> Bool {
        lhs.refusal == rhs.refusal
    }
}

/// Why the egress gate refused.
public enum Refusal: Equatable, Sendable {
    /// Running the query would spend more privacy budget than is left.
    /// - Parameters:
    ///   - remaining: epsilon left in the job's budget.
    ///   - requested: epsilon this run would charge.
    case budgetExceeded(remaining: Rational, requested: Rational)
    /// The privacy policy cannot be used; the text names the field and the rule.
    case invalidPolicy(String)
    /// A number was not a valid privacy parameter (bad decimal text, negative, NaN).
    case invalidNumber(String)
    /// The query's aggregate list cannot be released (e.g. empty, bad bounds).
    case invalidQuery(String)
    /// The query engine broke its contract with the gate (e.g. a total outside what the
    /// declared bounds allow). An internal failure, not the receiver's fault.
    case contractViolation(String)
    /// A parameter or intermediate value is too large for exact 64/128-bit arithmetic.
    /// The text names the quantity, never its value.
    case parameterOverflow(String)

    /// A sentence a person can act on.
    public var reason: String {
        switch self {
        case let .budgetExceeded(remaining, requested):
            return "privacy budget exceeded: this run costs epsilon \(requested) "
                + "but only \(remaining) is left in the job's budget"
        case let .invalidPolicy(why):
            return "invalid privacy policy: \(why)"
        case let .invalidNumber(why):
            return "invalid privacy parameter: \(why)"
        case let .invalidQuery(why):
            return "query cannot be released: \(why)"
        case let .contractViolation(why):
            return "internal error, the query engine broke the egress contract: \(why)"
        case let .parameterOverflow(what):
            return "parameter too large for exact arithmetic: \(what)"
        }
    }
}
