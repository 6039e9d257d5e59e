/// A TPM2_Quote and the PCR values it covers, as produced by ``TPMClient/quote(nonce:pcrs:key:)``.
///
/// These bytes are exactly what the `parley/tpm-quote/2` evidence carries and what
/// `tpm2_checkquote` checks (`-m attest -s signature -q nonce -f pcrs -l sha256:…`).
public struct TPMQuote: Sendable, Equatable {
    /// TPMS_ATTEST bytes exactly as the TPM signed them (TPM2B_ATTEST's attestationData).
    public let attest: [UInt8]
    /// The marshalled TPMT_SIGNATURE (ECDSA, SHA-256).
    public let signature: [UInt8]
    /// The nonce placed in the quote's extraData.
    public let nonce: [UInt8]
    /// The PCR bank of ``pcrs``; always `sha256`.
    public let pcrBank: String
    /// SHA-256 PCR index -> value, read right after the quote and checked against its digest.
    public let pcrs: [Int: [UInt8]]

    public init(attest: [UInt8], signature: [UInt8], nonce: [UInt8], pcrBank: String, pcrs: [Int: [UInt8]]) {
        self.attest = attest
        self.signature = signature
        self.nonce = nonce
        self.pcrBank = pcrBank
        self.pcrs = pcrs
    }

    /// The PCR values concatenated in ascending index order: the quote's digest input and the
    /// `-f` file format `tpm2_checkquote` accepts with `-l sha256:<indices>`.
    public var concatenatedPCRValues: [UInt8] {
        pcrs.keys.sorted().flatMap { pcrs[$0] ?? [] }
    }
}
