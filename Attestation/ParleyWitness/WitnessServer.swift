import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import ParleyCore
import ParleyLog

/// `parley witness`: a small HTTP service, run by a party or a third party, that follows host
/// logs and cosigns their checkpoints (c2sp.org/tlog-witness `POST /add-checkpoint`, cosignatures
/// in c2sp.org/tlog-cosignature `cosignature/v1` Ed25519 form). It keeps the latest checkpoint it
/// cosigned per log and refuses anything that does not extend it, so a host cannot show two
/// parties two histories and have both cosigned. It trusts nothing of the host but its log key.
///
/// Files in its data directory: `witness-key` (mode 0600, `PRIVATE+KEY+<name>+<id>+...`),
/// `witness-key.pub` (the vkey parties pin) and `witness-state` (deterministic CBOR
/// `{origin: checkpoint body}`, written and fsynced before every answer).
public final class WitnessServer: @unchecked Sendable {
    // @unchecked: `state` is guarded by `lock`; the check and the persist happen under it together.
    private let lock = NSLock()
    private var state: WitnessState
    private let statePath: String
    private let now: @Sendable () -> Date

    /// The witness's public key, for parties to pin.
    public var key: CosignerKey { state.signer.verifierKey }

    /// Opens (or creates) a witness in `dataDirectory` following `logs`.
    /// - Parameter name: the key's name when it is created (a schema-less URL by convention).
    /// - Throws: `ParleyError` if the key or state file is unusable.
    public init(dataDirectory: String, name: String, logs: [NoteVerifierKey], now: @escaping @Sendable () -> Date = { Date() }) throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let keyPath = dataDirectory + "/witness-key"
        let signer: CosignerSigningKey
        if FileManager.default.fileExists(atPath: keyPath) {
            do { signer = try CosignerSigningKey(parsing: try FileIO.readText(keyPath).trimmingCharacters(in: .whitespacesAndNewlines)) } catch let e as LogError {
                throw ParleyError(.badKey, "\(keyPath) is not a witness key: \(e.reason)")
            }
        } else {
            do { signer = try CosignerSigningKey(name: name, privateKey: .init()) } catch { throw ParleyError(.badKey, error.reason) }
            try FileIO.write(Array((signer.encoded + "\n").utf8), to: keyPath, mode: 0o600, overwrite: false)
        }
        try FileIO.write(Array((signer.verifierKey.encoded + "\n").utf8), to: dataDirectory + "/witness-key.pub", mode: 0o644)
        statePath = dataDirectory + "/witness-state"
        var latest: [String: Checkpoint] = [:]
        if FileManager.default.fileExists(atPath: statePath) {
            for (origin, body) in try CBORDecoder().decode(try FileIO.read(statePath, maxBytes: 16 << 20)).textKeyedMap("witness state") {
                do { latest[origin] = try Checkpoint.parse(body: try body.textValue("checkpoint")) } catch let e as LogError {
                    throw ParleyError(.malformed, "\(statePath): \(e.reason)")
                }
            }
        }
        state = WitnessState(logs: logs, latest: latest, signer: signer)
        self.now = now
    }

    /// Handles one `add-checkpoint` body. - Returns: status, content type and body of the answer.
    public func addCheckpoint(_ body: [UInt8]) -> (status: Int, contentType: String, body: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        var next = state
        switch next.add(body, now: UInt64(max(0, now().timeIntervalSince1970))) {
        case .cosigned(let line, _):
            var map: [String: CBOR] = [:]
            for (origin, checkpoint) in next.latest { map[origin] = .text(checkpoint.body) }
            do { try FileIO.write(CBOREncoder.encode(.textMap(map)), to: statePath, mode: 0o600) } catch {
                return (500, "text/plain", Array("the witness cannot persist its state; nothing was cosigned\n".utf8))
            }
            state = next
            return (200, "text/plain; charset=utf-8", Array((line + "\n").utf8))
        case .refused(.conflict(let size)):
            return (409, "text/x.tlog.size", Array("\(size)\n".utf8))
        case .refused(let why):
            return (why.httpStatus, "text/plain; charset=utf-8", Array((why.description + "\n").utf8))
        }
    }

    /// The HTTP application; `onRunning` receives the bound port (for port 0).
    public func application(host: String, port: Int, logLevel: Logger.Level = .warning,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.post("/add-checkpoint") { req, _ -> Response in
            var req = req
            guard let buffer = try? await req.collectBody(upTo: WitnessState.maxRequestBytes) else {
                return Response(status: .contentTooLarge)
            }
            let answer = self.addCheckpoint(Array(buffer: buffer))
            return Response(status: .init(code: answer.status), headers: [.contentType: answer.contentType],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        var logger = Logger(label: "parley-witness")
        logger.logLevel = logLevel
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "parley-witness"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }
}
