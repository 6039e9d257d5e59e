import Foundation
import ParleyCore
import ParleyHost

/// A fake worker on the other end of a real framed channel (a socketpair in this process), so a
/// ``WorkerSession`` can be driven without spawning `parley-enclave`. Each message the host
/// sends is handed to `answer`, which returns the messages to send back (none for upload data;
/// ``Reply/exit(_:)`` to end the conversation as a crashed worker would).
public final class InMemoryWorker: WorkerProcess, @unchecked Sendable {
    // @unchecked: `received` and `ending` are guarded by `lock`; `peer` is used by one thread.
    public enum Reply: Sendable {
        case send(WorkerMessage)
        /// Close the channel, as a worker that exits; `status` is how the exit is described.
        case exit(String)
    }

    public let pid: pid_t
    /// The host's end: give it to ``WorkerSession/init(channel:process:runtime:debug:heartbeatInterval:heartbeatTimeout:clock:)``.
    public let channel: FramedChannel
    private let peer: FramedChannel
    private let lock = NSCondition()
    private var received: [WorkerMessage] = []
    private var ending: String?
    private var ended = false

    /// - Parameter answer: what the worker replies to each message; see ``standard(_:)``.
    public init(pid: pid_t = 4242, answer: @escaping @Sendable (WorkerMessage) -> [Reply] = InMemoryWorker.standard) throws {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw ParleyError(.io, "cannot create an in-memory worker channel")
        }
        self.pid = pid
        channel = FramedChannel(fd: fds[0])
        peer = FramedChannel(fd: fds[1])
        Thread.detachNewThread { [self] in serve(answer) }
    }

    /// What a healthy worker answers: `ready` to `start`, `heartbeat_ack` to heartbeats,
    /// `closed` to `close`, and it exits on `stop`.
    public static func standard(_ m: WorkerMessage) -> [Reply] {
        switch m {
        case .start(let start):
            return [.send(.ready(.init(publicKey: [UInt8](repeating: 1, count: 32), signingKey: [UInt8](repeating: 2, count: 65),
                                       debug: start.debug, sandbox: ["in-memory": "no sandbox"], ledger: nil)))]
        case .heartbeat(let seq): return [.send(.heartbeatAck(seq: seq))]
        case .close: return [.send(.closed(entry: [0xa0]))]
        case .stop: return [.exit("exit status 0")]
        default: return []
        }
    }

    /// Every message the host sent, in order.
    public var messages: [WorkerMessage] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Kills the fake worker: its end of the channel closes, as a killed process's would.
    public func kill() { end("killed by signal 9 SIGKILL (killed: a memory or process limit, or the host)") }

    public func reap(grace: TimeInterval) -> String {
        lock.lock()
        defer { lock.unlock() }
        let deadline = Date().addingTimeInterval(grace)
        while !ended, lock.wait(until: deadline) {}
        if !ended { ending = ending ?? "killed by signal 9 SIGKILL (killed: a memory or process limit, or the host)" }
        return ending ?? "exit status 0"
    }

    private func end(_ how: String) {
        lock.lock()
        defer { lock.unlock() }
        if ending == nil { ending = how }
        if !ended { shutdown(peer.fd, Int32(SHUT_RDWR)) }
    }

    /// Waits until the host has sent `count` messages of `kind` (or `timeout` passes); true if it has.
    public func waitFor(_ kind: WorkerMessage.Kind, count: Int = 1, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while received.filter({ $0.kind == kind }).count < count { if !lock.wait(until: deadline) { break } }
        return received.filter({ $0.kind == kind }).count >= count
    }

    private func serve(_ answer: @Sendable (WorkerMessage) -> [Reply]) {
        loop: while let frame = try? peer.receive(), let m = try? WorkerMessage(decoding: frame) {
            lock.lock()
            received.append(m)
            lock.broadcast()
            lock.unlock()
            for reply in answer(m) {
                switch reply {
                case .send(let r): try? peer.send(r.encoded)
                case .exit(let how): end(how); break loop
                }
            }
        }
        lock.lock()
        peer.close()
        if ending == nil { ending = "exit status 0" }
        ended = true
        lock.broadcast()
        lock.unlock()
    }
}
