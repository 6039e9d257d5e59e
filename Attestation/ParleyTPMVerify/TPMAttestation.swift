/// TPMS_CLOCK_INFO: the TPM's clock and reset counters at the time it signed.
public struct TPMClockInfo: Sendable, Equatable {
    /// Milliseconds the TPM has been powered since it was manufactured or cleared.
    public let clock: UInt64
    /// Number of TPM Resets (reboots) since the last clear.
    public let resetCount: UInt32
    /// Number of TPM Restarts or Resumes since the last reset.
    public let restartCount: UInt32
    /// Whether the clock value is guaranteed never to have run backwards.
    public let safe: Bool
}

/// TPMS_QUOTE_INFO: what a quote covers.
public struct TPMQuoteInfo: Sendable, Equatable {
    /// The PCRs quoted, per bank, in the order the TPM digested them.
    public let pcrSelection: [TPMPCRSelection]
    /// The hash, with the signing scheme's hash algorithm, of the selected PCR values
    /// concatenated in selection order.
    public let pcrDigest: [UInt8]
}

/// The type-specific body of a TPMS_ATTEST.
public enum TPMAttestedInfo: Sendable, Equatable {
    /// TPM_ST_ATTEST_QUOTE: a PCR quote.
    case quote(TPMQuoteInfo)
    /// Any other attestation type, kept as raw bytes; a quote verifier refuses these.
    case other(TPMStructureTag, [UInt8])
}

/// A TPMS_ATTEST structure, parsed from the exact bytes a TPM signed (TPM 2.0 Part 2, 10.12.12).
///
/// **Untrusted.** Parsing checks only the encoding, not the magic, the type, the signature or
/// anything else. Use ``TPMQuoteVerifier`` to decide whether the content can be believed.
public struct TPMAttestation: Sendable, Equatable {
    /// Caps applied while parsing.
    public enum Limits {
        /// Largest accepted TPMS_ATTEST, in bytes (sizeof(TPMS_ATTEST) in tss2 is under 2 KiB).
        public static let maxBytes = 2048
        /// Largest accepted qualifiedSigner (TPM2B_NAME: hash algorithm + SHA-512 digest).
        public static let maxNameBytes = 66
        /// Largest accepted extraData (TPM2B_DATA) and pcrDigest (TPM2B_DIGEST).
        public static let maxDataBytes = 64
    }

    /// Should be ``TPMConstants/generatedValue``. Untrusted.
    public let magic: UInt32
    /// The attestation type; a quote is ``TPMStructureTag/attestQuote``. Untrusted.
    public let type: TPMStructureTag
    /// The name of the key that signed (nameAlg || hash of its public area). Untrusted.
    public let qualifiedSigner: [UInt8]
    /// The caller's qualifying data: in Parley, the party's nonce. Untrusted.
    public let extraData: [UInt8]
    /// The TPM's clock. Untrusted.
    public let clockInfo: TPMClockInfo
    /// The TPM firmware version (vendor-specific). Untrusted.
    public let firmwareVersion: UInt64
    /// The type-specific body. Untrusted.
    public let attested: TPMAttestedInfo

    /// The quote body when ``type`` is a quote, else nil.
    public var quote: TPMQuoteInfo? {
        if case .quote(let info) = attested { return info }
        return nil
    }

    /// Parses TPMS_ATTEST bytes (as in TPM2B_ATTEST's attestationData, without its size).
    /// - Throws: ``TPMEvidenceError`` `.malformed` (truncated or trailing bytes, bad boolean) or
    ///   `.limitExceeded` (a size over ``Limits``).
    public static func parse(_ bytes: [UInt8]) throws(TPMEvidenceError) -> TPMAttestation {
        guard bytes.count <= Limits.maxBytes else {
            throw TPMEvidenceError(.limitExceeded,
                "TPMS_ATTEST is \(bytes.count) bytes, over the cap of \(Limits.maxBytes)")
        }
        var reader = TPMByteReader(bytes, structure: "TPMS_ATTEST")
        let magic = try reader.readUInt32("magic")
        let type = TPMStructureTag(rawValue: try reader.readUInt16("type"))
        let signer = try reader.readSized("qualifiedSigner", cap: Limits.maxNameBytes)
        let extraData = try reader.readSized("extraData", cap: Limits.maxDataBytes)
        let clock = try reader.readUInt64("clockInfo.clock")
        let resetCount = try reader.readUInt32("clockInfo.resetCount")
        let restartCount = try reader.readUInt32("clockInfo.restartCount")
        let safe = try reader.readUInt8("clockInfo.safe")
        guard safe <= 1 else {
            throw reader.error(.malformed, "clockInfo.safe is \(safe), not a TPMI_YES_NO")
        }
        let firmware = try reader.readUInt64("firmwareVersion")

        let attested: TPMAttestedInfo
        if type == .attestQuote {
            let selection = try TPMPCRSelection.readList(&reader)
            let digest = try reader.readSized("pcrDigest", cap: Limits.maxDataBytes)
            attested = .quote(TPMQuoteInfo(pcrSelection: selection, pcrDigest: digest))
        } else {
            attested = .other(type, try reader.readBytes(reader.remaining, "attested"))
        }
        try reader.expectEnd()
        return TPMAttestation(
            magic: magic, type: type, qualifiedSigner: signer, extraData: extraData,
            clockInfo: TPMClockInfo(clock: clock, resetCount: resetCount,
                                    restartCount: restartCount, safe: safe == 1),
            firmwareVersion: firmware, attested: attested)
    }
}
