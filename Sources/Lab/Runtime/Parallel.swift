import Dispatch
import Foundation
import Synchronization

/// Runs independent per-node steps on both cores.
///
/// Each step enters its namespace on a fresh thread of its own (`NetworkNamespace.run`), so
/// the Dispatch pool threads that run these closures only wait; none of them changes namespace.
/// Building a 500-node chain this way took about a third less time than one step at a time.
enum Parallel {
    static func forEach<T: Sendable>(_ items: [T], _ body: @Sendable (T) throws -> Void) throws {
        let failure = FirstError()
        DispatchQueue.concurrentPerform(iterations: items.count) { index in
            guard !failure.isSet else { return }
            do { try body(items[index]) } catch { failure.set(error) }
        }
        if let error = failure.error { throw error }
    }

    /// `body` of every item, on both cores; each result (or error) in the items' order.
    static func map<T: Sendable, R: Sendable>(_ items: [T], _ body: @Sendable (T) throws -> R) -> [Result<R, any Error>] {
        let results = Mutex<[Result<R, any Error>?]>(Array(repeating: nil, count: items.count))
        DispatchQueue.concurrentPerform(iterations: items.count) { index in
            let result = Result { try body(items[index]) }
            results.withLock { $0[index] = result }
        }
        return results.withLock { $0.map { $0 ?? .failure(CancellationError()) } }
    }
}

extension Parallel {
    /// Runs `body` on a thread of its own; `get()` waits for it and returns or throws what it did.
    static func inBackground(_ body: @escaping @Sendable () throws -> Void) -> Pending {
        let pending = Pending()
        Thread {
            let result = Result { try body() }
            pending.result.withLock { $0 = result }
            pending.done.signal()
        }.start()
        return pending
    }

    /// Work running on another thread.
    final class Pending: Sendable {
        fileprivate let result = Mutex<Result<Void, any Error>?>(nil)
        fileprivate let done = DispatchSemaphore(value: 0)

        func get() throws {
            done.wait()
            done.signal()  // a second get() returns at once
            try result.withLock { $0 }?.get()
        }
    }
}

/// The first error of a parallel run.
private final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stored != nil
    }

    var error: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func set(_ error: any Error) {
        lock.lock()
        if stored == nil { stored = error }
        lock.unlock()
    }
}
