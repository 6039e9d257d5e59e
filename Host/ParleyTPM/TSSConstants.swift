import CTSS2

/// TPM constants whose C macros contain casts Swift cannot import (TPM 2.0 Part 2).
enum TSSConstant {
    static let algECC: TPM2_ALG_ID = 0x0023
    static let algECDSA: TPM2_ALG_ID = 0x0018
    static let algSHA256: TPM2_ALG_ID = 0x000B
    static let algNull: TPM2_ALG_ID = 0x0010
    static let curveNISTP256: TPM2_ECC_CURVE = 0x0003

    static let attrFixedTPM: TPMA_OBJECT = 1 << 1
    static let attrFixedParent: TPMA_OBJECT = 1 << 4
    static let attrSensitiveDataOrigin: TPMA_OBJECT = 1 << 5
    static let attrUserWithAuth: TPMA_OBJECT = 1 << 6
    static let attrRestricted: TPMA_OBJECT = 1 << 16
    static let attrSign: TPMA_OBJECT = 1 << 18

    /// Bytes in a PC-client PCR bitmap (24 PCRs).
    static let pcrSelectBytes = 3
    /// Highest PCR index on a PC-client TPM.
    static let maxPCRIndex = 23
}
