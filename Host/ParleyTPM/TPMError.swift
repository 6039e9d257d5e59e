import CTSS2

/// The error every ParleyTPM API throws: a stable code, a reason a person can act on, the TSS2
/// response code when the TPM or the TSS stack refused, and where in the code it was raised.
///
/// Reasons name the operation and the decoded response code, never authorisation values.
public struct TPMError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable, extensible classification of the failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable text form.
        public let rawValue: String
        /// Creates a code from its stable text form.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// The stable text form.
        public var description: String { rawValue }

        /// The TPM, a TCTI or the ESAPI layer returned a TSS2_RC other than success; see
        /// ``TPMError/responseCode``.
        public static let tss = Code("tss")
        /// A caller-supplied value is out of range (nonce length, PCR index, digest size).
        public static let invalidArgument = Code("invalid-argument")
        /// PCRs kept changing while a quote was taken, so no consistent set of values was read.
        public static let pcrsChanged = Code("pcrs-changed")
        /// A bug or an unexpected failure inside ParleyTPM or a library it calls.
        public static let `internal` = Code("internal")
    }

    /// What kind of failure this is.
    public let code: Code
    /// A human-readable explanation.
    public let reason: String
    /// The TSS2_RC when ``code`` is ``Code/tss``, else nil.
    public let responseCode: UInt32?
    /// The source file that raised the error.
    public let fileID: String
    /// The source line that raised the error.
    public let line: Int

    /// Creates an error; the source location is captured automatically.
    public init(_ code: Code, _ reason: String, responseCode: UInt32? = nil,
                fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.responseCode = responseCode
        self.fileID = fileID
        self.line = line
    }

    /// An error for a failed TSS2 call, with the response code decoded by Tss2_RC_Decode.
    /// - Parameters:
    ///   - responseCode: the TSS2_RC returned.
    ///   - operation: what was being done, for example "Esys_Quote".
    public static func tss(_ responseCode: UInt32, _ operation: String,
                           fileID: String = #fileID, line: Int = #line) -> TPMError {
        let decoded = Tss2_RC_Decode(responseCode).map { String(cString: $0) } ?? "unknown"
        let hex = String(responseCode, radix: 16)
        return TPMError(.tss, "\(operation) failed with 0x\(hex): \(decoded)",
                        responseCode: responseCode, fileID: fileID, line: line)
    }

    /// `code: reason`.
    public var description: String { "\(code): \(reason)" }

    /// Equality ignores the source location.
    public static func == (lhs: TPMError, rhs: TPMError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason && lhs.responseCode == rhs.responseCode
    }
}

/// Throws ``TPMError/tss(_:_:fileID:line:)`` unless `responseCode` is TPM2_RC_SUCCESS.
func check(_ responseCode: TSS2_RC, _ operation: String,
           fileID: String = #fileID, line: Int = #line) throws(TPMError) {
    guard responseCode == 0 else {
        throw TPMError.tss(responseCode, operation, fileID: fileID, line: line)
    }
}
