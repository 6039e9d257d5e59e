import Foundation
import ParleyCore

/// The host's side of one worker: the I/O shell around ``JobStateMachine``. A reader thread
/// receives every message (heartbeat acknowledgements feed the state machine, the rest answer
/// requests); a ticker drives heartbeats and the timeout; when the worker exits or breaks the
/// protocol the job fails with the reason and the host carries on.
public final class WorkerSession: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `condition`.
    public let pid: pid_t
    public let runtime: MeasurementDigest
    public let debug: Bool
    private let channel: FramedChannel
    private let condition = NSCondition()
    private var machine: JobStateMachine
    private var inbox: [WorkerMessage] = []
    private var exited = false
    private let requestLock = NSLock()
    private let now: @Sendable () -> Date

    /// The job's state now.
    public var state: JobStateMachine.State {
        condition.lock()
        defer { condition.unlock() }
        return machine.state
    }

    /// Launches a worker and starts supervising it.
    public convenience init(executable: String, debug: Bool = false, environment: [String: String] = [:], arguments: [String] = [],
                            heartbeatInterval: TimeInterval = 1, heartbeatTimeout: TimeInterval = 10,
                            now: @escaping @Sendable () -> Date = { Date() }) throws {
        try self.init(image: try WorkerLauncher.Image(executable: executable), debug: debug, environment: environment, arguments: arguments,
                      heartbeatInterval: heartbeatInterval, heartbeatTimeout: heartbeatTimeout, now: now)
    }

    /// Launches a worker from a staged image and starts supervising it.
    public init(image: WorkerLauncher.Image, debug: Bool = false, environment: [String: String] = [:], arguments: [String] = [],
                heartbeatInterval: TimeInterval = 1, heartbeatTimeout: TimeInterval = 10,
                now: @escaping @Sendable () -> Date = { Date() }) throws {
        let launched = try WorkerLauncher.launch(image: image, debug: debug, environment: environment, arguments: arguments)
        pid = launched.pid
        runtime = launched.runtime
        channel = launched.channel
        self.debug = debug
        self.now = now
        machine = JobStateMachine(requiredDatasets: [], now: now(), heartbeatInterval: heartbeatInterval, heartbeatTimeout: heartbeatTimeout)
        Thread.detachNewThread { [self] in readLoop() }
        Thread.detachNewThread { [self] in tickLoop() }
    }

    deinit { channel.close() }

    /// Feeds an event and carries out the resulting actions.
    @discardableResult
    public func handle(_ event: JobStateMachine.Event) -> [JobStateMachine.Action] {
        condition.lock()
        let actions = machine.handle(event)
        condition.broadcast()
        condition.unlock()
        for a in actions {
            switch a {
            case .sendHeartbeat: try? channel.send(WorkerMessage.heartbeat(seq: UInt64(now().timeIntervalSince1970 * 1000)).encoded)
            case .sendStop:
                try? channel.send(WorkerMessage.stop.encoded)
                terminate(grace: 2)
            case .killWorker: kill(pid, SIGKILL)
            case .rejected: break
            }
        }
        return actions
    }

    /// Sets the datasets the job needs (from the module) once it is known.
    public func requireDatasets(_ names: Set<String>) {
        condition.lock()
        let old = machine
        var fresh = JobStateMachine(requiredDatasets: names, now: old.lastHeard, heartbeatInterval: old.heartbeatInterval,
                                    heartbeatTimeout: old.heartbeatTimeout)
        if old.state != .launching { _ = fresh.handle(.workerReady) }
        machine = fresh
        condition.unlock()
    }

    /// Sends a request and waits for its answer (one request at a time).
    /// - Throws: if the worker exits, breaks the protocol, or does not answer within `timeout`.
    public func request(_ message: WorkerMessage, expecting kinds: Set<WorkerMessage.Kind>, timeout: TimeInterval = 30) throws -> WorkerMessage {
        requestLock.lock()
        defer { requestLock.unlock() }
        try channel.send(message.encoded)
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while inbox.isEmpty {
            if exited || machine.state.isTerminal { throw ParleyError(.io, "the job is \(machine.state)") }
            if !condition.wait(until: deadline) {
                condition.unlock()
                handle(.protocolViolation("no answer to \(message.kind.rawValue) within \(Int(timeout)) s"))
                condition.lock()
                throw ParleyError(.io, "the worker did not answer \(message.kind.rawValue) in time")
            }
        }
        let reply = inbox.removeFirst()
        guard kinds.contains(reply.kind) else {
            condition.unlock()
            handle(.protocolViolation("answered \(message.kind.rawValue) with \(reply.kind.rawValue)"))
            condition.lock()
            throw ParleyError(.internal, "the worker answered \(message.kind.rawValue) with \(reply.kind.rawValue)")
        }
        return reply
    }

    /// Sends a message that has no answer (upload data).
    public func send(_ message: WorkerMessage) throws {
        try channel.send(message.encoded)
    }

    /// Stops the worker: `stop`, then SIGKILL if it has not exited after `grace` seconds.
    public func stop() { handle(.stopRequested) }

    private func terminate(grace: TimeInterval) {
        let deadline = Date().addingTimeInterval(grace)
        condition.lock()
        while !exited, condition.wait(until: deadline) {}
        let done = exited
        condition.unlock()
        if !done { kill(pid, SIGKILL) }
    }

    private func readLoop() {
        var violation: String?
        while true {
            do {
                guard let frame = try channel.receive() else { break }
                let msg = try WorkerMessage(decoding: frame)
                handle(.heardFromWorker(now()))
                if case .heartbeatAck = msg { continue }
                if case .failure(let why) = msg { violation = "the worker reported: \(why)" ; break }
                condition.lock()
                inbox.append(msg)
                condition.broadcast()
                condition.unlock()
            } catch let e as ParleyError where e.code == .io {
                break // the worker is gone: its exit status says why
            } catch {
                violation = "\(error)"
                break
            }
        }
        if let violation { handle(.protocolViolation(violation)) }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(3)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline { kill(pid, SIGKILL); waitpid(pid, &status, 0); break }
            usleep(10_000)
        }
        handle(.workerExited(WorkerLauncher.describe(status: status)))
        condition.lock()
        exited = true
        condition.broadcast()
        condition.unlock()
    }

    private func tickLoop() {
        while true {
            usleep(useconds_t(min(machine.heartbeatInterval, 0.25) * 1_000_000))
            condition.lock()
            let done = exited
            condition.unlock()
            if done { return }
            handle(.tick(now()))
        }
    }

    /// Blocks until the worker process has exited (or `timeout` passes); true if it has.
    public func waitForExit(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !exited { if !condition.wait(until: deadline) { break } }
        return exited
    }
}
