import Foundation
import ParleyCore

/// The process on the other end of a worker's channel, as the session needs it: kill it, and
/// learn how it ended. ``WorkerLauncher`` gives the real one; tests substitute an in-memory worker.
public protocol WorkerProcess: Sendable {
    var pid: pid_t { get }
    /// Kills the worker at once (SIGKILL).
    func kill()
    /// Blocks until the worker has exited, killing it if it has not after `grace` seconds.
    /// - Returns: how it ended, for a person (``WorkerLauncher/describe(status:)``).
    func reap(grace: TimeInterval) -> String
}

/// The host's side of one worker: the I/O shell around ``JobStateMachine``.
///
/// Concurrency (docs/architecture.md, "The host's concurrency model"): one dedicated reader
/// thread blocks in `read(2)` on the worker's channel (a blocking read never polls) and feeds
/// every message to the state machine; heartbeat acknowledgements end there, the rest answer
/// requests. When the channel ends, the reader reaps the process with a pidfd wait (a bounded
/// block, no sleep loop) and feeds its exit. Heartbeats and the heartbeat timeout are driven by
/// one task that sleeps on the injected ``HostClock`` and hands each tick to the session's serial
/// queue. Every failure is reported once through ``onFailure`` as it happens, so the log and the
/// store learn of it without anyone polling.
public final class WorkerSession: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `condition`.
    public let pid: pid_t
    public let runtime: MeasurementDigest
    public let debug: Bool
    private let channel: FramedChannel
    private let process: any WorkerProcess
    private let condition = NSCondition()
    private var machine: JobStateMachine
    private var inbox: [WorkerMessage] = []
    private var exited = false
    private var failureHandler: (@Sendable (String) -> Void)?
    private var failureReported = false
    private let requestLock = NSLock()
    private let clock: any HostClock
    private let ticks = DispatchQueue(label: "parley.worker-session.ticks")
    private var ticker: Task<Void, Never>?

    /// The job's state now.
    public var state: JobStateMachine.State {
        condition.lock()
        defer { condition.unlock() }
        return machine.state
    }

    /// Called once, from whichever context saw it, when the job fails (the worker exited, broke
    /// the protocol or stopped answering) with the reason. Set it once the job is known; a
    /// failure that happened before is reported at once.
    public var onFailure: (@Sendable (String) -> Void)? {
        get { condition.lock(); defer { condition.unlock() }; return failureHandler }
        set {
            condition.lock()
            failureHandler = newValue
            let pending: String? = if case .failed(let why) = machine.state, !failureReported { why } else { nil }
            if pending != nil, newValue != nil { failureReported = true }
            condition.unlock()
            if let pending { newValue?(pending) }
        }
    }

    /// Launches a worker and starts supervising it.
    public convenience init(executable: String, debug: Bool = false, environment: [String: String] = [:], arguments: [String] = [],
                            heartbeatInterval: TimeInterval = 1, heartbeatTimeout: TimeInterval = 10,
                            clock: any HostClock = SystemClock()) throws {
        try self.init(image: try WorkerLauncher.Image(executable: executable), debug: debug, environment: environment, arguments: arguments,
                      heartbeatInterval: heartbeatInterval, heartbeatTimeout: heartbeatTimeout, clock: clock)
    }

    /// Launches a worker from a staged image and starts supervising it.
    public convenience init(image: WorkerLauncher.Image, debug: Bool = false, environment: [String: String] = [:], arguments: [String] = [],
                            heartbeatInterval: TimeInterval = 1, heartbeatTimeout: TimeInterval = 10,
                            clock: any HostClock = SystemClock()) throws {
        let launched = try WorkerLauncher.launch(image: image, debug: debug, environment: environment, arguments: arguments)
        self.init(channel: launched.channel, process: launched.process, runtime: launched.runtime, debug: debug,
                  heartbeatInterval: heartbeatInterval, heartbeatTimeout: heartbeatTimeout, clock: clock)
    }

    /// Supervises a worker already on the other end of `channel` (a launched process, or an
    /// in-memory worker in tests).
    public init(channel: FramedChannel, process: any WorkerProcess, runtime: MeasurementDigest, debug: Bool = false,
                heartbeatInterval: TimeInterval = 1, heartbeatTimeout: TimeInterval = 10, clock: any HostClock = SystemClock()) {
        pid = process.pid
        self.runtime = runtime
        self.channel = channel
        self.process = process
        self.debug = debug
        self.clock = clock
        machine = JobStateMachine(requiredDatasets: [], now: clock.now(), heartbeatInterval: heartbeatInterval, heartbeatTimeout: heartbeatTimeout)
        let period = min(heartbeatInterval, 0.25)
        ticker = Task { [weak self, clock] in
            while !Task.isCancelled {
                do { try await clock.sleep(seconds: period) } catch { return }
                guard let self, !self.hasExited else { return }
                // Sending a heartbeat may block on a full socket: never on the cooperative pool.
                self.ticks.async { self.handle(.tick(clock.now())) }
            }
        }
        // Started after `ticker` is set, so the reader sees it when it cancels it.
        Thread.detachNewThread { [self] in readLoop() }
    }

    deinit {
        ticker?.cancel()
        channel.close()
    }

    private var hasExited: Bool {
        condition.lock()
        defer { condition.unlock() }
        return exited
    }

    /// Feeds an event and carries out the resulting actions.
    @discardableResult
    public func handle(_ event: JobStateMachine.Event) -> [JobStateMachine.Action] {
        condition.lock()
        let wasFailed = if case .failed = machine.state { true } else { false }
        let actions = machine.handle(event)
        var failure: (String, (@Sendable (String) -> Void))?
        if !wasFailed, case .failed(let why) = machine.state, let report = failureHandler, !failureReported {
            failureReported = true
            failure = (why, report)
        }
        condition.broadcast()
        condition.unlock()
        for a in actions {
            switch a {
            case .sendHeartbeat: try? channel.send(WorkerMessage.heartbeat(seq: UInt64(clock.now().timeIntervalSince1970 * 1000)).encoded)
            case .sendStop:
                try? channel.send(WorkerMessage.stop.encoded)
                terminate(grace: 2)
            case .killWorker: process.kill()
            case .rejected: break
            }
        }
        if let failure { failure.1(failure.0) }
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
        if !done { process.kill() }
    }

    private func readLoop() {
        var violation: String?
        while true {
            do {
                guard let frame = try channel.receive() else { break }
                let msg = try WorkerMessage(decoding: frame)
                handle(.heardFromWorker(clock.now()))
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
        handle(.workerExited(process.reap(grace: 3)))
        condition.lock()
        exited = true
        condition.broadcast()
        condition.unlock()
        ticker?.cancel()
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
