import CTSS2

/// A connection to one TPM through tpm2-tss ESAPI: attestation key, PCRs and quotes.
///
/// The TCTI configuration string picks the transport, for example `swtpm:path=/run/x/sock` for
/// the swtpm software TPM or `device:/dev/tpmrm0` for a kernel resource-managed TPM.
///
/// Not thread-safe (ESAPI contexts are not): confine a client to one task or actor. Transient
/// objects this client creates are flushed when it is released, so a TPM without a resource
/// manager (swtpm) does not run out of object slots.
public final class TPMClient {
    /// The TCTI configuration string this client was opened with.
    public let tctiConfiguration: String

    let context: OpaquePointer
    private var tcti: OpaquePointer?
    /// Transient key handles loaded by this client, flushed on ``flushLoadedKeys()`` and deinit.
    var loadedKeys: [SigningKeyTemplate: ESYS_TR] = [:]

    /// Opens a TPM.
    /// - Parameters:
    ///   - tcti: a TCTI configuration string for Tss2_TctiLdr_Initialize.
    ///   - endorsementAuth: the endorsement hierarchy's authorisation value; empty (the
    ///     default of a fresh TPM and of swtpm) when none is set.
    /// - Throws: ``TPMError`` `.tss` when the TCTI cannot be loaded or ESAPI cannot start,
    ///   `.invalidArgument` when `endorsementAuth` is longer than 64 bytes.
    public init(tcti: String, endorsementAuth: [UInt8] = []) throws(TPMError) {
        var tctiContext: OpaquePointer?
        try check(Tss2_TctiLdr_Initialize(tcti, &tctiContext), "Tss2_TctiLdr_Initialize(\(tcti))")
        var esysContext: OpaquePointer?
        let responseCode = Esys_Initialize(&esysContext, tctiContext, nil)
        guard responseCode == 0, let esysContext else {
            Tss2_TctiLdr_Finalize(&tctiContext)
            throw TPMError.tss(responseCode, "Esys_Initialize")
        }
        self.tctiConfiguration = tcti
        self.context = esysContext
        self.tcti = tctiContext

        if !endorsementAuth.isEmpty {
            var auth = TPM2B_AUTH()
            auth.size = UInt16(clamping: endorsementAuth.count)
            try TSSBytes.write(endorsementAuth, into: &auth.buffer, field: "endorsement auth")
            try check(Esys_TR_SetAuth(context, parley_esys_tr_rh_endorsement(), &auth),
                      "Esys_TR_SetAuth(endorsement)")
        }
    }

    deinit {
        for handle in loadedKeys.values {
            _ = Esys_FlushContext(context, handle)
        }
        var esysContext: OpaquePointer? = context
        Esys_Finalize(&esysContext)
        Tss2_TctiLdr_Finalize(&tcti)
    }

    /// Flushes every transient key this client loaded. Later calls load them again.
    /// - Throws: ``TPMError`` `.tss` when the TPM refuses a flush (the key is forgotten anyway).
    public func flushLoadedKeys() throws(TPMError) {
        let handles = loadedKeys
        loadedKeys = [:]
        for handle in handles.values {
            try check(Esys_FlushContext(context, handle), "Esys_FlushContext")
        }
    }
}
