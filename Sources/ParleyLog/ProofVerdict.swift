/// The outcome of checking an inclusion or consistency proof.
public enum ProofVerdict: Hashable, Sendable {
    /// The proof holds.
    case valid
    /// The proof does not hold, and why.
    case invalid(ProofFailure)
}

/// Why a Merkle proof was refused.
public enum ProofFailure: Hashable, Sendable, CustomStringConvertible {
    /// The leaf index is not below the tree size.
    case indexOutOfRange(index: UInt64, treeSize: UInt64)
    /// The newer tree is smaller than the older one.
    case sizesDecreasing(older: UInt64, newer: UInt64)
    /// The proof has too many or too few hashes for these sizes.
    case wrongPathLength
    /// Equal sizes (or an empty older tree) need an empty proof, and this one was not.
    case proofNotEmpty
    /// The trees have the same size but different roots (a fork).
    case rootsDiffer
    /// An empty tree was claimed with a root other than SHA-256("").
    case emptyTreeRootMismatch
    /// The path rebuilt a root other than the expected one.
    case rootMismatch(computed: TreeHash)
    /// The path rebuilt the newer root but not the older one.
    case olderRootMismatch(computed: TreeHash)

    /// An English reason a person can act on.
    public var description: String {
        switch self {
        case let .indexOutOfRange(index, treeSize): "leaf index \(index) is not in a tree of \(treeSize) leaves"
        case let .sizesDecreasing(older, newer): "the newer tree (\(newer)) is smaller than the older one (\(older))"
        case .wrongPathLength: "the proof has the wrong number of hashes for these sizes"
        case .proofNotEmpty: "the proof should be empty for these sizes"
        case .rootsDiffer: "two trees of the same size have different roots"
        case .emptyTreeRootMismatch: "the empty tree's root is not SHA-256 of the empty string"
        case let .rootMismatch(computed): "the proof leads to root \(computed.hex), not the expected one"
        case let .olderRootMismatch(computed): "the proof leads to older root \(computed.hex), not the expected one"
        }
    }
}
