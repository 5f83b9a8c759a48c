import CShim
#if canImport(Glibc)
import Glibc
#endif

/// Waits for queues to become readable, and wakes at once when asked to stop: an eventfd in
/// the same epoll set, so a read loop ends cleanly without killing its thread.
public final class TunPoller: @unchecked Sendable {
    private let epoll: Int32
    private let wake: Int32
    /// Reused by every wait, so waiting allocates nothing.
    private let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 16)

    public init(_ queues: [TunQueue]) throws(TunError) {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw .system(operation: "epoll_create1", errno: errno) }
        wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wake >= 0 else { throw .system(operation: "eventfd", errno: errno) }
        try add(wake, token: UInt64.max)
        for queue in queues { try add(queue.descriptor, token: UInt64(queue.index)) }
    }

    deinit {
        Glibc.close(epoll)
        Glibc.close(wake)
        events.deallocate()
    }

    private func add(_ fd: Int32, token: UInt64) throws(TunError) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = token
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else { throw .system(operation: "epoll_ctl", errno: errno) }
    }

    private var added = 0

    /// Adds another descriptor (a socket polled with the queues); returns its bit in
    /// `Readiness.descriptors` (the first one added is bit 0).
    @discardableResult
    public func add(descriptor: Int32) throws(TunError) -> Int {
        let index = added
        try add(descriptor, token: 1 << 32 | UInt64(min(index, 63)))
        added += 1
        return min(index, 63)
    }

    /// True once `stop()` was called.
    public private(set) var isStopped = false

    /// What one wait found readable.
    public struct Readiness: Sendable, Equatable {
        /// Bit i: the queue whose index is i (queues from index 63 on share bit 63).
        public var queues: UInt64 = 0
        /// Bit i: the descriptor `add(descriptor:)` numbered i.
        public var descriptors: UInt64 = 0

        public init(queues: UInt64 = 0, descriptors: UInt64 = 0) {
            self.queues = queues
            self.descriptors = descriptors
        }

        public var isEmpty: Bool { queues == 0 && descriptors == 0 }
    }

    /// Waits up to `milliseconds` (-1: forever) and says what is readable: empty on timeout or
    /// stop. Reading only what is ready spares a non-blocking read that would find nothing,
    /// a system call per wakeup that a lone packet's latency pays.
    public func waitForReadiness(milliseconds: Int32 = -1) -> Readiness {
        let n = epoll_wait(epoll, events, 16, milliseconds)
        var ready = Readiness()
        guard n > 0 else { return ready }
        for i in 0..<Int(n) {
            let token = events[i].data.u64
            if token == UInt64.max {
                isStopped = true
            } else if token >> 32 == 1 {
                ready.descriptors |= 1 << (token & 63)
            } else {
                ready.queues |= 1 << min(token, 63)
            }
        }
        return isStopped ? Readiness() : ready
    }

    /// Waits up to `milliseconds` (-1: forever); true when a queue is readable, false on
    /// timeout or stop. Read every queue of the poller after a true: reads are non-blocking.
    public func wait(milliseconds: Int32 = -1) -> Bool {
        !waitForReadiness(milliseconds: milliseconds).isEmpty
    }

    /// Wakes every waiter and makes `isStopped` true; safe from any thread or signal handler.
    public func stop() {
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, 8)
    }
}
