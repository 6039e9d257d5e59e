import Foundation
import ParleyCore
import ParleyModule

/// The life of one job on the host, as a value: events in, actions out, time passed in.
/// No I/O happens here, so every transition is tested without processes (``WorkerSession`` is
/// the thin shell that feeds it real events and carries out its actions).
public struct JobStateMachine: Sendable, Equatable {
    public enum State: Sendable, Equatable, CustomStringConvertible {
        /// The worker process is starting, locking itself down and making its keys.
        case launching
        /// The worker is up; the host is measuring the launch and producing its quote.
        case attesting
        /// Waiting for the declared datasets; `received` are those accepted so far.
        case collectingDatasets(received: Set<String>)
        /// Every dataset is in: queries may run.
        case ready
        /// A query is running.
        case runningQuery(String)
        /// Stopped by the operator. Terminal.
        case stopped
        /// Failed, with the reason. Terminal: no partial result is ever released from here.
        case failed(String)

        public var isTerminal: Bool {
            switch self {
            case .stopped, .failed: return true
            default: return false
            }
        }

        /// The short name the API reports.
        public var name: String {
            switch self {
            case .launching: return "launching"
            case .attesting: return "attesting"
            case .collectingDatasets: return "collecting-datasets"
            case .ready: return "ready"
            case .runningQuery: return "running-query"
            case .stopped: return "stopped"
            case .failed: return "failed"
            }
        }

        public var description: String {
            if case .failed(let why) = self { return "failed: \(why)" }
            return name
        }
    }

    public enum Event: Sendable, Equatable {
        /// The worker answered `start` with its keys.
        case workerReady
        /// The launch is measured (quote provider recorded it).
        case launchMeasured
        case datasetAccepted(String)
        case queryStarted(String)
        case queryFinished
        /// Any message from the worker proves it alive at this time.
        case heardFromWorker(Date)
        /// Periodic clock tick.
        case tick(Date)
        case workerExited(String)
        case protocolViolation(String)
        case stopRequested
    }

    public enum Action: Sendable, Equatable {
        case sendHeartbeat
        case sendStop
        case killWorker
        /// The event is not allowed now; nothing changed.
        case rejected(String)
    }

    public private(set) var state: State = .launching
    public let requiredDatasets: Set<String>
    public let heartbeatInterval: TimeInterval
    public let heartbeatTimeout: TimeInterval
    public private(set) var lastHeard: Date
    private var lastHeartbeatSent: Date

    public init(requiredDatasets: Set<String>, now: Date, heartbeatInterval: TimeInterval = 1, heartbeatTimeout: TimeInterval = 10) {
        self.requiredDatasets = requiredDatasets
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.lastHeard = now
        self.lastHeartbeatSent = now
    }

    public mutating func handle(_ event: Event) -> [Action] {
        if state.isTerminal {
            if case .workerExited = event { return [] }
            return [.rejected("the job is \(state.name)")]
        }
        switch (state, event) {
        case (.launching, .workerReady):
            state = .attesting
        case (.attesting, .launchMeasured):
            state = requiredDatasets.isEmpty ? .ready : .collectingDatasets(received: [])
        case (.collectingDatasets(var received), .datasetAccepted(let d)):
            guard requiredDatasets.contains(d), !received.contains(d) else {
                return [.rejected(received.contains(d) ? "dataset \(d) was already uploaded" : "dataset \(d) is not declared by the module")]
            }
            received.insert(d)
            state = received == requiredDatasets ? .ready : .collectingDatasets(received: received)
        case (.ready, .queryStarted(let q)):
            state = .runningQuery(q)
        case (.runningQuery, .queryFinished):
            state = .ready
        case (_, .heardFromWorker(let t)):
            lastHeard = max(lastHeard, t)
        case (_, .tick(let now)):
            if now.timeIntervalSince(lastHeard) > heartbeatTimeout {
                state = .failed("the worker stopped answering (no heartbeat for \(Int(heartbeatTimeout)) s)")
                return [.killWorker]
            }
            if now.timeIntervalSince(lastHeartbeatSent) >= heartbeatInterval {
                lastHeartbeatSent = now
                return [.sendHeartbeat]
            }
        case (_, .workerExited(let why)):
            state = .failed("the worker exited: \(why)")
        case (_, .protocolViolation(let why)):
            state = .failed("the worker broke the protocol: \(why)")
            return [.killWorker]
        case (_, .stopRequested):
            state = .stopped
            return [.sendStop]
        default:
            return [.rejected("\(Self.describe(event)) is not allowed while the job is \(state.name)")]
        }
        return []
    }

    /// Whether an upload of `dataset` may go on while the job is in `state`: the one rule,
    /// ``UploadAdmission``, applied to this job. The HTTP handler and ``HostService`` ask this;
    /// nobody else decides it on the host.
    /// - Parameter signedByProvider: whether the upload verifies with the provider's key, or nil
    ///   while that is not known yet.
    public static func admitUpload(_ dataset: String, module: ModuleDefinition, state: State,
                                   signedByProvider: (PartyPublicKey) -> Bool? = { _ in nil }) -> UploadAdmission {
        let job: UploadAdmission.JobState
        if case .collectingDatasets(let received) = state { job = .collecting(received: received) } else { job = .notCollecting(state.description) }
        return UploadAdmission.decide(module: module, dataset: dataset, signedByProvider: signedByProvider, job: job)
    }

    static func describe(_ e: Event) -> String {
        switch e {
        case .workerReady: return "a ready message"
        case .launchMeasured: return "a launch measurement"
        case .datasetAccepted(let d): return "an upload of \(d)"
        case .queryStarted(let q): return "running query \(q)"
        case .queryFinished: return "a query result"
        default: return "\(e)"
        }
    }
}
