import Dispatch
import Foundation

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
