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

/// The host's side of one worker: an actor around ``JobStateMachine``, the one owner of the
/// job's state.
///
/// Concurrency (docs/architecture.md, "The host's concurrency model"):
/// - **Reading**: one dedicated thread blocks in `read(2)` on the worker's channel (a blocking
///   read never polls) and hands every frame, in order, to the actor through an `AsyncStream`.
///   When the channel ends it reaps the process with a pidfd wait and hands over the exit.
/// - **Writing**: frames go out on the session's own serial queue, never on the cooperative
///   pool, since a write blocks while the worker's socket buffer is full.
/// - **Time**: heartbeats, the heartbeat timeout, request timeouts and the stop grace all sleep
///   on the injected ``HostClock``; nothing reads the wall clock.
/// - **Failures** are reported once through the failure handler (``setFailureHandler(_:)``) as
///   they happen, so the log and the store learn of them without anyone polling.
public actor WorkerSession {
    public nonisolated let pid: pid_t
    public nonisolated let runtime: MeasurementDigest
    public nonisolated let debug: Bool
    private nonisolated let channel: FramedChannel
    private nonisolated let process: any WorkerProcess
    private nonisolated let clock: any HostClock
    private nonisolated let writer = DispatchQueue(label: "parley.worker-session.writer")
    private var machine: JobStateMachine
    private var exited = false
    private var exitWaiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
    private var failureHandler: (@Sendable (String) -> Void)?
    private var failureReported = false
    /// One request at a time: callers queue here in arrival order.
    private var requestBusy = false
    private var requestQueue: [CheckedContinuation<Void, Never>] = []
    /// The request waiting for its answer, and an answer that came before the request was parked.
    private var inFlight: InFlight?
    private var nextID: UInt64 = 0

    private struct InFlight {
        let id: UInt64
        let sent: WorkerMessage.Kind
        let expecting: Set<WorkerMessage.Kind>
        var side: Side = .none
        var isAnswered: Bool { if case .answered = side { true } else { false } }
    }

    /// Which half of a request's rendezvous has arrived: the caller waiting, or the answer.
    private enum Side {
        case none
        case waiting(CheckedContinuation<WorkerMessage, any Error>)
        case answered(Result<WorkerMessage, any Error>)
    }

    /// What the reader thread hands the actor.
    private enum ChannelEvent: Sendable {
        case message(WorkerMessage)
        case violation(String)
        case exited(String)
    }

    /// The job's state now.
    public var state: JobStateMachine.State { machine.state }

    /// Sets what is called once, when the job fails (the worker exited, broke the protocol or
    /// stopped answering), with the reason. Set it once the job is known; a failure that
    /// happened before is reported at once.
    public func setFailureHandler(_ handler: (@Sendable (String) -> Void)?) {
        failureHandler = handler
        if case .failed(let why) = machine.state, !failureReported, let handler {
            failureReported = true
            handler(why)
        }
    }

    /// Launches a worker and starts supervising it.
    public init(executable: String, debug: Bool = false, environment: [String: String] = [:], arguments: [String] = [],
                heartbeatInterval: TimeInterval = 1, heartbeatTimeout: TimeInterval = 10,
                clock: any HostClock = SystemClock()) throws {
        try self.init(image: try WorkerLauncher.Image(executable: executable), debug: debug, environment: environment, arguments: arguments,
                      heartbeatInterval: heartbeatInterval, heartbeatTimeout: heartbeatTimeout, clock: clock)
    }

    /// Launches a worker from a staged image and starts supervising it.
    public init(image: WorkerLauncher.Image, debug: Bool = false, environment: [String: String] = [:], arguments: [String] = [],
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
        let (events, sink) = AsyncStream.makeStream(of: ChannelEvent.self)
        Thread.detachNewThread { [channel, process] in Self.read(channel, process, into: sink) }
        Task { [weak self] in
            for await event in events {
                guard let self else { return }
                await self.deliver(event)
            }
        }
        let period = min(heartbeatInterval, 0.25)
        Task { [weak self, clock] in
            while true {
                do { try await clock.sleep(seconds: period) } catch { return }
                guard let self, await self.tick() else { return }
            }
        }
    }

    deinit {
        channel.close()
    }

    /// Feeds an event and carries out the resulting actions.
    @discardableResult
    public func handle(_ event: JobStateMachine.Event) -> [JobStateMachine.Action] {
        let wasFailed = if case .failed = machine.state { true } else { false }
        let actions = machine.handle(event)
        for a in actions {
            switch a {
            case .sendHeartbeat:
                let beat = WorkerMessage.heartbeat(seq: UInt64(clock.now().timeIntervalSince1970 * 1000)).encoded
                writer.async { [channel] in try? channel.send(beat) }
            case .sendStop:
                writer.async { [channel] in try? channel.send(WorkerMessage.stop.encoded) }
                killAfter(grace: 2)
            case .killWorker: process.kill()
            case .rejected: break
            }
        }
        if machine.state.isTerminal { failInFlight(ParleyError(.io, "the job is \(machine.state)")) }
        if !wasFailed, case .failed(let why) = machine.state, let report = failureHandler, !failureReported {
            failureReported = true
            report(why)
        }
        return actions
    }

    /// Sets the datasets the job needs (from the module) once it is known.
    public func requireDatasets(_ names: Set<String>) {
        let old = machine
        var fresh = JobStateMachine(requiredDatasets: names, now: old.lastHeard, heartbeatInterval: old.heartbeatInterval,
                                    heartbeatTimeout: old.heartbeatTimeout)
        if old.state != .launching { _ = fresh.handle(.workerReady) }
        machine = fresh
    }

    /// Sends a request and waits for its answer; requests are answered one at a time, in the
    /// order they were made.
    /// - Parameter timeout: seconds of the session's clock; no answer by then is a protocol
    ///   violation that fails the job.
    /// - Throws: if the worker exits, breaks the protocol, or does not answer within `timeout`.
    public func request(_ message: WorkerMessage, expecting kinds: Set<WorkerMessage.Kind>, timeout: TimeInterval = 30) async throws -> WorkerMessage {
        await acquireRequestSlot()
        defer { releaseRequestSlot() }
        guard !exited, !machine.state.isTerminal else { throw ParleyError(.io, "the job is \(machine.state)") }
        nextID += 1
        let id = nextID
        // Parked before the write: the answer may come back before the write returns.
        inFlight = InFlight(id: id, sent: message.kind, expecting: kinds)
        do {
            try await write(message)
        } catch {
            if inFlight?.id == id { inFlight = nil }
            throw error
        }
        let timer = Task { [weak self, clock] in
            do { try await clock.sleep(seconds: timeout) } catch { return }
            await self?.expire(id, timeout: timeout)
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<WorkerMessage, any Error>) in
            guard inFlight?.id == id else {
                c.resume(throwing: ParleyError(.io, "the job is \(machine.state)"))
                return
            }
            meet(.waiting(c))
        }
    }

    /// Sends a message that has no answer (upload data), on the session's writer queue.
    public nonisolated func send(_ message: WorkerMessage) async throws {
        try await write(message)
    }

    /// Stops the worker: `stop`, then SIGKILL if it has not exited after a grace of 2 s.
    public func stop() { handle(.stopRequested) }

    /// Waits until the worker process has exited, or `timeout` seconds of real time pass (a
    /// bound for callers that must not hang, such as tests); true if it has exited.
    public func waitForExit(timeout: TimeInterval) async -> Bool {
        if exited { return true }
        nextID += 1
        let id = nextID
        let bound = Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1_000_000_000))
            await self?.endWait(id, exited: false)
        }
        defer { bound.cancel() }
        return await withCheckedContinuation { exitWaiters[id] = $0 }
    }

    // MARK: Inside

    private nonisolated func write(_ message: WorkerMessage) async throws {
        let bytes = message.encoded
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            writer.async { [channel] in
                do { try channel.send(bytes); c.resume() } catch { c.resume(throwing: error) }
            }
        }
    }

    private func acquireRequestSlot() async {
        guard requestBusy else { requestBusy = true; return }
        await withCheckedContinuation { requestQueue.append($0) }
    }

    private func releaseRequestSlot() {
        if requestQueue.isEmpty { requestBusy = false } else { requestQueue.removeFirst().resume() }
    }

    /// Hands the answer to the request waiting for it (or keeps it until it waits).
    private func answer(_ result: Result<WorkerMessage, any Error>) {
        meet(.answered(result))
    }

    /// One half of the request in flight arrives: with the other half there, the caller resumes
    /// and the request is done; otherwise this half waits for it.
    private func meet(_ arriving: Side) {
        guard var pending = inFlight else { return }
        switch (pending.side, arriving) {
        case (.waiting(let c), .answered(let r)), (.answered(let r), .waiting(let c)):
            inFlight = nil
            c.resume(with: r)
        default:
            pending.side = arriving
            inFlight = pending
        }
    }

    private func failInFlight(_ error: any Error) {
        guard inFlight != nil else { return }
        answer(.failure(error))
    }

    private func deliver(_ event: ChannelEvent) {
        switch event {
        case .message(let m):
            handle(.heardFromWorker(clock.now()))
            switch m {
            case .heartbeatAck: return
            case .failure(let why):
                handle(.protocolViolation("the worker reported: \(why)"))
                return
            default: break
            }
            guard let pending = inFlight, !pending.isAnswered else {
                handle(.protocolViolation("sent \(m.kind.rawValue) when nothing was asked"))
                return
            }
            if pending.expecting.contains(m.kind) {
                answer(.success(m))
            } else {
                // The caller hears "internal" (the worker's fault, not the caller's input); then the job fails.
                answer(.failure(ParleyError(.internal, "the worker answered \(pending.sent.rawValue) with \(m.kind.rawValue)")))
                handle(.protocolViolation("answered \(pending.sent.rawValue) with \(m.kind.rawValue)"))
            }
        case .violation(let why):
            handle(.protocolViolation(why))
        case .exited(let how):
            handle(.workerExited(how)) // the job is terminal now: handle failed any request in flight
            exited = true
            let waiters = exitWaiters
            exitWaiters = [:]
            for w in waiters.values { w.resume(returning: true) }
        }
    }

    private func expire(_ id: UInt64, timeout: TimeInterval) {
        guard let pending = inFlight, pending.id == id else { return }
        answer(.failure(ParleyError(.io, "the worker did not answer \(pending.sent.rawValue) in time")))
        handle(.protocolViolation("no answer to \(pending.sent.rawValue) within \(Int(timeout)) s"))
    }

    private func endWait(_ id: UInt64, exited: Bool) {
        exitWaiters.removeValue(forKey: id)?.resume(returning: exited)
    }

    /// One heartbeat tick; false once the worker has exited (the ticker ends).
    private func tick() -> Bool {
        guard !exited else { return false }
        handle(.tick(clock.now()))
        return true
    }

    private func killAfter(grace: TimeInterval) {
        Task { [weak self, clock] in
            do { try await clock.sleep(seconds: grace) } catch { return }
            await self?.killIfRunning()
        }
    }

    private func killIfRunning() {
        if !exited { process.kill() }
    }

    /// The reader thread: every frame in order, then how the process ended.
    private static func read(_ channel: FramedChannel, _ process: any WorkerProcess, into sink: AsyncStream<ChannelEvent>.Continuation) {
        var violation: String?
        while true {
            do {
                guard let frame = try channel.receive() else { break }
                sink.yield(.message(try WorkerMessage(decoding: frame)))
            } catch let e as ParleyError where e.code == .io {
                break // the worker is gone: its exit status says why
            } catch {
                violation = "\(error)"
                break
            }
        }
        if let violation { sink.yield(.violation(violation)) }
        sink.yield(.exited(process.reap(grace: 3)))
        sink.finish()
    }
}
