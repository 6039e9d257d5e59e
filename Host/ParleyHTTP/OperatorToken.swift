import Foundation
import Hummingbird
import HTTPTypes
import ParleyCore
import ParleyHost

/// The operator's bearer token: 32 random bytes in hex, created on first start in the data
/// directory (`operator-token`, mode 0600). Operator requests (launch, stop, list) carry it;
/// ``OperatorAuthMiddleware`` checks it before any of their handlers runs.
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

    /// Constant-time comparison of a presented `Authorization` header with the token: the time
    /// taken depends on the token's length only, never on where a guess first differs or on the
    /// length of the guess.
    public static func matches(header: String?, token: String) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let presented = Array(header.dropFirst(7).utf8), expected = Array(token.utf8)
        var diff: UInt8 = presented.count == expected.count ? 0 : 1
        for i in expected.indices {
            diff |= (i < presented.count ? presented[i] : 0) ^ expected[i]
        }
        return diff == 0 && !expected.isEmpty
    }
}

/// Refuses a request with 401 unless it carries the operator's bearer token; the routes of a
/// group with this middleware are the operator's (launch, list, stop), and their handlers never
/// see a request without the token.
struct OperatorAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    /// The refusal's message (the API has always worded the launch refusal more fully).
    let message: String

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        guard OperatorToken.matches(header: request.headers[.authorization], token: token) else {
            return HostServer.error(.unauthorized, message, code: "unauthorized")
        }
        return try await next(request, context)
    }
}
