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

    /// Adds another descriptor (a socket polled with the queues); readiness is reported the same way.
    public func add(descriptor: Int32) throws(TunError) {
        try add(descriptor, token: UInt64(UInt32(bitPattern: descriptor)) | 1 << 32)
    }

    /// True once `stop()` was called.
    public private(set) var isStopped = false

    /// Waits up to `milliseconds` (-1: forever); true when a queue is readable, false on
    /// timeout or stop. Read every queue of the poller after a true: reads are non-blocking.
    public func wait(milliseconds: Int32 = -1) -> Bool {
        let n = epoll_wait(epoll, events, 16, milliseconds)
        guard n > 0 else { return false }
        var readable = false
        for i in 0..<Int(n) {
            if events[i].data.u64 == UInt64.max { isStopped = true } else { readable = true }
        }
        return readable && !isStopped
    }

    /// Wakes every waiter and makes `isStopped` true; safe from any thread or signal handler.
    public func stop() {
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, 8)
    }
}
