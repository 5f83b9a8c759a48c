import Foundation

/// A value behind a lock, for state that a worker changes with raw buffers in hand and that
/// other threads read between batches.
///
/// `Synchronization.Mutex` asks for a `sending` value, which the compiler cannot prove for
/// state mixed with a worker's unsafe buffers; this lock leaves that proof to its callers,
/// whose rule is simple: touch the value only inside `withLock`.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
