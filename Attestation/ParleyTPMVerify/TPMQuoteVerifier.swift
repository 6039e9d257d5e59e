/// Verifies a TPM2_Quote, turning an ``UnverifiedTPMQuote`` into a ``TPMQuoteVerdict``.
///
/// Checks run in go-attestation's order and every failure is collected, not just the first:
/// 1. the signature: ECDSA P-256 over SHA-256 of the attest bytes, with the attestation key;
/// 2. `magic` is TPM_GENERATED_VALUE and 3. `type` is TPM_ST_ATTEST_QUOTE;
/// 4. `extraData` equals the expected nonce;
/// 5. the attestation key has ``requiredKeyAttributes`` (restricted, sign, fixedTPM): only a
///    restricted key guarantees that bytes starting with TPM_GENERATED_VALUE came from the TPM;
/// 6. the quoted PCR selection is exactly the set of supplied PCRs (no more, no less);
/// 7. the quote's PCR digest is SHA-256 of the supplied values concatenated in selection order.
///
/// Whether the attestation key itself is trusted (pinned, certified by an EK) is outside this
/// verifier and must be decided by the caller.
public struct TPMQuoteVerifier: Sendable {
    /// The attributes an attestation key must have.
    public static let requiredKeyAttributes: TPMObjectAttributes = [.restricted, .sign, .fixedTPM]

    /// The nonce the verifier sent; the quote's extraData must equal it.
    public let expectedNonce: [UInt8]

    /// - Parameter expectedNonce: the fresh random nonce (16 to 64 bytes) the party generated for
    ///   this quote. A reused or predictable nonce lets an old quote be replayed.
    public init(expectedNonce: [UInt8]) {
        self.expectedNonce = expectedNonce
    }

    /// Runs every check and returns the verdict. Bad evidence is never thrown, it is a
    /// ``TPMQuoteVerdict/refused(_:)`` verdict; the checks (swift-crypto) cannot fail otherwise.
    public func verify(_ quote: UnverifiedTPMQuote) -> TPMQuoteVerdict {
        var failures: [TPMQuoteFailure] = []
        let attestation = quote.attestation

        failures += checkSignature(quote)
        if attestation.magic != TPMConstants.generatedValue {
            failures.append(.wrongMagic(attestation.magic))
        }
        if attestation.type != .attestQuote {
            failures.append(.wrongType(attestation.type))
        }
        if attestation.extraData != expectedNonce {
            failures.append(.nonceMismatch)
        }
        let missing = Self.requiredKeyAttributes.subtracting(quote.attestationKey.attributes)
        if !missing.isEmpty {
            failures.append(.attestationKeyAttributesMissing(missing))
        }
        if let info = attestation.quote {
            failures += checkPCRs(info, bank: quote.pcrBank, supplied: quote.pcrs)
        }

        guard failures.isEmpty else { return .refused(failures) }
        return .verified(VerifiedTPMQuote(
            attestation: attestation, attestationKey: quote.attestationKey,
            pcrBank: quote.pcrBank, pcrs: quote.pcrs))
    }

    private func checkSignature(_ quote: UnverifiedTPMQuote) -> [TPMQuoteFailure] {
        let key = quote.attestationKey
        guard key.curve == .nistP256 else {
            return [.attestationKeyUnsupported("curve is \(key.curve), not nist_p256")]
        }
        guard key.scheme == .ecdsa, key.schemeHash == .sha256 else {
            let hash = key.schemeHash.map { "-\($0)" } ?? ""
            return [.attestationKeyUnsupported("scheme is \(key.scheme)\(hash), not ecdsa-sha256")]
        }
        guard quote.signature.hash == .sha256 else {
            return [.signatureHashUnsupported(quote.signature.hash)]
        }
        let check = TPMCrypto.verifyECDSAP256SHA256(
            x: key.x, y: key.y, r: quote.signature.r, s: quote.signature.s,
            message: quote.attestBytes)
        switch check {
        case .valid: return []
        case .invalid(let why): return [.signatureInvalid(why)]
        }
    }

    private func checkPCRs(_ info: TPMQuoteInfo, bank: TPMAlgorithm,
                           supplied: [Int: [UInt8]]) -> [TPMQuoteFailure] {
        guard bank == .sha256 else { return [.pcrBankUnsupported(bank)] }
        var failures: [TPMQuoteFailure] = []

        // The order the TPM concatenated values in: banks in list order, indices ascending.
        var order: [Int] = []
        for selection in info.pcrSelection {
            let indices = selection.indices
            if selection.hash != bank {
                if !indices.isEmpty { failures.append(.pcrUnexpectedBank(selection.hash)) }
                continue
            }
            order += indices
        }
        let quoted = Set(order)
        for index in supplied.keys.sorted() where !quoted.contains(index) {
            failures.append(.pcrNotQuoted(index))
        }
        for index in quoted.sorted() where supplied[index] == nil {
            failures.append(.pcrNotSupplied(index))
        }
        for (index, value) in supplied.sorted(by: { $0.key < $1.key }) where value.count != 32 {
            failures.append(.pcrValueMalformed(index: index, length: value.count))
        }
        guard failures.isEmpty else { return failures }

        var concatenated: [UInt8] = []
        for index in order {
            concatenated += supplied[index] ?? []
        }
        if TPMCrypto.sha256(concatenated) != info.pcrDigest {
            failures.append(.pcrDigestMismatch)
        }
        return failures
    }
}
