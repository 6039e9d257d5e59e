import ParleyCore

/// Who may upload which dataset when: the one rule, a pure function of the module, the dataset,
/// whether the upload is signed by the dataset's declared provider, and what the job is doing.
///
/// The host's `JobStateMachine.admitUpload` decides with it (the HTTP handler and the host
/// service ask the machine); the worker, which trusts no host, checks the same rule again as
/// defense in depth. The checks run in a fixed order, so every caller refuses a bad upload for
/// the same first reason: the dataset is declared, the provider signed, the job collects
/// datasets, the dataset is not in yet.
public enum UploadAdmission: Sendable, Equatable {
    /// The upload may go on; `provider` is the party the module names for the dataset.
    case admitted(provider: String)
    /// It must not, and why.
    case refused(UploadRefusal)

    /// What the job is doing, as far as uploads are concerned.
    public enum JobState: Sendable, Equatable {
        /// Collecting datasets; `received` are those accepted so far.
        case collecting(received: Set<String>)
        /// Not collecting (launching, every dataset in, stopped, failed): the state's name.
        case notCollecting(String)
    }

    /// Decides an upload.
    /// - Parameters:
    ///   - signedByProvider: whether the upload's signature verifies with the declared
    ///     provider's key; nil while it cannot be known yet (the worker learns it only at the end of
    ///     the stream, and then asks again).
    public static func decide(module: ModuleDefinition, dataset: String, signedByProvider: (PartyPublicKey) -> Bool?,
                              job: JobState) -> UploadAdmission {
        guard let declaration = module.datasets[dataset], let key = module.parties[declaration.provider] else {
            return .refused(.undeclaredDataset(dataset))
        }
        if signedByProvider(key) == false { return .refused(.notProvider(dataset: dataset, provider: declaration.provider)) }
        switch job {
        case .notCollecting(let state): return .refused(.notCollecting(state: state))
        case .collecting(let received):
            if received.contains(dataset) { return .refused(.alreadyUploaded(dataset)) }
        }
        return .admitted(provider: declaration.provider)
    }
}

/// Why an upload is refused, by ``UploadAdmission``.
public enum UploadRefusal: Sendable, Equatable, CustomStringConvertible {
    /// The module declares no such dataset (or names no key for its provider).
    case undeclaredDataset(String)
    /// The upload is not signed by the dataset's declared provider.
    case notProvider(dataset: String, provider: String)
    /// The job does not collect datasets now.
    case notCollecting(state: String)
    /// The dataset is in already: uploads cannot be replaced or replayed.
    case alreadyUploaded(String)

    /// An English reason (names only, never data).
    public var description: String {
        switch self {
        case .undeclaredDataset(let d): "dataset \(d) is not declared by the module"
        case .notProvider(_, let provider): "the upload is not signed by \(provider), the dataset's declared provider"
        case .notCollecting(let state): "the job is \(state), not collecting datasets"
        case .alreadyUploaded(let d): "dataset \(d) was already uploaded; uploads cannot be replaced or replayed"
        }
    }

    /// The code the worker logs for it; nil for ``notCollecting``, which only the host can
    /// know (the worker never sees such an upload).
    public var code: RefusalCode? {
        switch self {
        case .undeclaredDataset: .undeclaredDataset
        case .notProvider: .notProvider
        case .alreadyUploaded: .alreadyUploaded
        case .notCollecting: nil
        }
    }
}
