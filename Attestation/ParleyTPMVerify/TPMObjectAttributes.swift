/// TPMA_OBJECT: the attribute bits of a TPM object (TPM 2.0 Part 2, table 31).
public struct TPMObjectAttributes: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The 32-bit attribute word as it appears on the wire.
    public let rawValue: UInt32
    /// Wraps a wire value.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The object cannot be duplicated: its private part never leaves this TPM.
    public static let fixedTPM = TPMObjectAttributes(rawValue: 1 << 1)
    /// Saved contexts of this object are invalidated by TPM Reset and Restart.
    public static let stClear = TPMObjectAttributes(rawValue: 1 << 2)
    /// The object's parent cannot change.
    public static let fixedParent = TPMObjectAttributes(rawValue: 1 << 4)
    /// The TPM generated the sensitive data itself (no caller-supplied key material).
    public static let sensitiveDataOrigin = TPMObjectAttributes(rawValue: 1 << 5)
    /// User-role actions may use the authValue.
    public static let userWithAuth = TPMObjectAttributes(rawValue: 1 << 6)
    /// Admin-role actions need a policy session.
    public static let adminWithPolicy = TPMObjectAttributes(rawValue: 1 << 7)
    /// Not subject to dictionary-attack protection.
    public static let noDA = TPMObjectAttributes(rawValue: 1 << 10)
    /// Duplication requires an inner wrapper.
    public static let encryptedDuplication = TPMObjectAttributes(rawValue: 1 << 11)
    /// The key only signs or decrypts TPM-formatted structures: a restricted signing key refuses
    /// to sign data that starts with TPM_GENERATED_VALUE unless the TPM produced it.
    public static let restricted = TPMObjectAttributes(rawValue: 1 << 16)
    /// A decryption key.
    public static let decrypt = TPMObjectAttributes(rawValue: 1 << 17)
    /// A signing key.
    public static let sign = TPMObjectAttributes(rawValue: 1 << 18)

    private static let named: [(TPMObjectAttributes, String)] = [
        (.fixedTPM, "fixedTPM"), (.stClear, "stClear"), (.fixedParent, "fixedParent"),
        (.sensitiveDataOrigin, "sensitiveDataOrigin"), (.userWithAuth, "userWithAuth"),
        (.adminWithPolicy, "adminWithPolicy"), (.noDA, "noDA"),
        (.encryptedDuplication, "encryptedDuplication"), (.restricted, "restricted"),
        (.decrypt, "decrypt"), (.sign, "sign"),
    ]

    /// The set bits by TCG name, `|`-separated; unnamed bits appear as one hex value.
    public var description: String {
        var parts: [String] = []
        var rest = rawValue
        for (flag, name) in Self.named where contains(flag) {
            parts.append(name)
            rest &= ~flag.rawValue
        }
        if rest != 0 { parts.append(hex32(rest)) }
        return parts.isEmpty ? "none" : parts.joined(separator: "|")
    }
}
