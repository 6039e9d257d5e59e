import Foundation
import ParleyCore
import ParleyHost

/// The operator's bearer token: 32 random bytes in hex, created on first start in the data
/// directory (`operator-token`, mode 0600). Operator requests (launch, stop, list) carry it.
public enum OperatorToken {
    public static func path(in dataDirectory: String) -> String { HostFiles.operatorToken(in: dataDirectory) }

    /// Reads the token, creating it first if there is none.
    public static func loadOrCreate(dataDirectory: String, random: any HostRandom = SystemRandom()) throws -> String {
        let p = path(in: dataDirectory)
        if FileManager.default.fileExists(atPath: p) {
            return try FileIO.readText(p).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let token = Hex.encode(random.bytes(32))
        try FileIO.write(Array((token + "\n").utf8), to: p, mode: 0o600)
        return token
    }

    /// Constant-time comparison of a presented `Authorization` header with the token.
    public static func matches(header: String?, token: String) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let a = Array(header.dropFirst(7).utf8), b = Array(token.utf8)
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
