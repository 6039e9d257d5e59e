import Foundation

/// Runs `operation` to completion on the calling thread and returns its result.
///
/// The task prefers a private executor (SE-0417) that only this thread drains, so every job of
/// `operation` that is not bound to an actor runs here, in order. A job that hops to an actor
/// elsewhere comes back through the same queue; the thread waits for it without holding a thread
/// of the shared pool. For short, computation-only async code called from synchronous code.
func runOnCallingThread<T: Sendable>(_ operation: @escaping @Sendable () async -> T) -> T {
    let executor = CallingThreadExecutor()
    let result = ResultBox<T>()
    Task(executorPreference: executor) {
        let value = await operation()
        executor.finish { result.value = value }
    }
    executor.drain()
    guard let value = result.value else { preconditionFailure("the task finished without a result") }
    return value
}

/// A FIFO of jobs that the thread calling ``drain()`` runs until ``finish(_:)``.
private final class CallingThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` and `finished` are only touched under `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Records the result (under the lock, so ``drain()`` sees it) and ends the drain.
    func finish(_ store: () -> Void) {
        condition.lock()
        store()
        finished = true
        condition.signal()
        condition.unlock()
    }

    func drain() {
        while true {
            condition.lock()
            while jobs.isEmpty, !finished { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    // @unchecked: written once before `finish` releases the lock, read after `drain` returns.
    var value: T?
}
