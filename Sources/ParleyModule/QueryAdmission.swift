import ParleyCore

/// Who may run which query: the one rule, a pure function of the module, the query's name, the
/// requesting receiver, the request's nonce and whether the request is signed by that receiver.
///
/// The host's HTTP handler asks it before anything reaches the worker (so a stranger's request
/// costs the worker nothing); the worker, which trusts no host, asks it again as defense in depth
/// before it charges the budget. The checks run in a fixed order, so both refuse a bad request
/// for the same first reason: the query is declared, the requester is one of its receivers, the
/// nonce has a usable length, the receiver signed the request. Whether the nonce was used before
/// is each side's own memory, checked after this rule (an unsigned request never burns a nonce).
public enum QueryAdmission: Sendable, Equatable {
    /// The request may go on; `receiver` is the module's key for the requester.
    case admitted(receiver: PartyPublicKey)
    /// It must not, and why.
    case refused(QueryRefusal)

    /// Lengths a request nonce may have: the wire's own bound (``QueryRequestBody/nonceBytes``).
    public static let nonceBytes = QueryRequestBody.nonceBytes

    /// Decides a query request.
    /// - Parameter signedByReceiver: whether the request's signature verifies with the receiver's key.
    public static func decide(module: ModuleDefinition, query: String, receiver: String, nonce: [UInt8],
                              signedByReceiver: (PartyPublicKey) -> Bool) -> QueryAdmission {
        guard let declaration = module.queries[query] else { return .refused(.undeclaredQuery(query)) }
        guard declaration.receivers.contains(receiver), let key = module.parties[receiver] else {
            return .refused(.notReceiver(query: query, receiver: receiver))
        }
        guard nonceBytes.contains(nonce.count) else { return .refused(.badNonce) }
        guard signedByReceiver(key) else { return .refused(.badSignature(receiver: receiver)) }
        return .admitted(receiver: key)
    }
}

/// Why a query request is refused, by ``QueryAdmission``.
public enum QueryRefusal: Sendable, Equatable, CustomStringConvertible {
    /// The module declares no such query.
    case undeclaredQuery(String)
    /// The requester is not a declared receiver of the query.
    case notReceiver(query: String, receiver: String)
    /// The request nonce is not 16 to 64 bytes.
    case badNonce
    /// The request is not signed by the receiver it names.
    case badSignature(receiver: String)

    /// An English reason (names only).
    public var description: String {
        switch self {
        case .undeclaredQuery(let q): "query \(q) is not declared by the module"
        case .notReceiver(let q, let r): "\(r) is not a declared receiver of \(q)"
        case .badNonce: "the request nonce must be \(QueryAdmission.nonceBytes.lowerBound) to \(QueryAdmission.nonceBytes.upperBound) bytes"
        case .badSignature(let r): "the request is not signed by \(r)"
        }
    }

    /// The code the worker logs for it.
    public var code: RefusalCode {
        switch self {
        case .undeclaredQuery: .undeclaredQuery
        case .notReceiver: .notReceiver
        case .badNonce: .badNonce
        case .badSignature: .badSignature
        }
    }
}
