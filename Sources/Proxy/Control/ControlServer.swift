import CShim
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Answers `netlab proxy status` and `netlab proxy flows` on the control socket.
///
/// The protocol is one request line (`status`, or `flows N`) and one JSON answer, after which
/// the server closes the connection. Only clients `ControlAccess` allows are answered; the
/// others get one line saying so. A slow or idle client never holds the others: each is served
/// on a thread of its own, with a deadline for the whole exchange, a bounded request, and a
/// bounded number of clients at once (past it, a "busy" line that the client retries on). The
/// server reads the workers' state between their batches, so no client holds a worker either.
final class ControlServer: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func socketName(tun: String) -> String { ControlSocketAddress.name(tun: tun) }

    /// Clients served at once.
    static let maximumClients = 32
    /// The whole exchange, request and answer, must be over by then.
    static let deadline: Double = 2
    /// A request is one short line.
    static let maximumRequest = 256

    private let descriptor: Int32
    private let wake: Int32
    private weak var daemon: ProxyDaemon?
    private let access: ControlAccess
    private let finished = DispatchSemaphore(value: 0)
    private let clients = DispatchGroup()
    private let active = Atomic<Int>(0)

    init(name: String, daemon: ProxyDaemon, access: ControlAccess = .current()) throws(Failure) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        let bound = ControlSocketAddress.with(name) { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "bind @\(name): \(reason) (is another proxy with this device name running here?)")
        }
        descriptor = fd
        wake = eventfd(0, Int32(EFD_CLOEXEC))
        self.daemon = daemon
        self.access = access
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.name = "proxy-control"
        thread.start()
    }

    /// Stops accepting, and waits for the clients being served (each within its deadline).
    func stop() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
        finished.wait()
        clients.wait()
        close(descriptor)
        close(wake)
    }

    private func serve() {
        var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        while true {
            guard poll(&fds, 2, -1) >= 0 || errno == EINTR else { return }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let client = accept(descriptor, nil, nil)
            guard client >= 0 else { continue }
            // Non-blocking and close-on-exec: every read and write waits in poll, against the
            // client's deadline.
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            guard let credentials = ControlAccess.client(of: client), access.allows(credentials) else {
                Self.turnAway(client, saying: ControlAccess.refusal)
                continue
            }
            guard active.add(1, ordering: .relaxed).newValue <= Self.maximumClients else {
                active.subtract(1, ordering: .relaxed)
                Self.turnAway(client, saying: "busy: \(Self.maximumClients) control clients are being served; try again")
                continue
            }
            clients.enter()
            let thread = Thread { [self] in
                answer(client, until: Self.now() + Self.deadline)
                close(client)
                active.subtract(1, ordering: .relaxed)
                clients.leave()
            }
            thread.name = "proxy-control-client"
            thread.start()
        }
    }

    /// Answers with one error line and closes, on the accepting thread, without waiting for
    /// the client: what it already sent is read first, since closing a Unix socket with unread
    /// data resets it, and the client would see the reset instead of the line.
    private static func turnAway(_ client: Int32, saying message: String) {
        send(line: error(message), to: client, until: now() + 0.1)
        var sink = [UInt8](repeating: 0, count: 512)
        _ = read(client, &sink, sink.count)
        shutdown(client, Int32(SHUT_WR))
        close(client)
    }

    private func answer(_ client: Int32, until deadline: Double) {
        guard let request = Self.readLine(from: client, until: deadline) else { return }
        let words = request.split(separator: " ")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var body: Data
        switch (words.first, daemon) {
        case ("status"?, let daemon?):
            body = (try? encoder.encode(daemon.status())) ?? Data()
        case ("flows"?, let daemon?):
            let limit = words.count > 1 ? Int(words[1]) ?? 20 : 20
            body = (try? encoder.encode(daemon.flows(top: max(1, min(limit, 100_000))))) ?? Data()
        default:
            body = Data(Self.error("unknown request; expected 'status' or 'flows N'").utf8)
        }
        body.append(UInt8(ascii: "\n"))
        Self.send(body, to: client, until: deadline)
    }

    private static func error(_ message: String) -> String {
        let escaped = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "{\"error\":\"\(escaped)\"}\n"
    }

    /// Monotonic seconds.
    private static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Waits until `descriptor` is ready for `events` or the deadline passed.
    private static func wait(_ descriptor: Int32, for events: Int32, until deadline: Double) -> Bool {
        while true {
            let left = deadline - now()
            guard left > 0 else { return false }
            var fd = pollfd(fd: descriptor, events: Int16(events), revents: 0)
            let n = poll(&fd, 1, Int32(max(1, left * 1000)))
            if n > 0 { return true }
            if n < 0, errno == EINTR { continue }
            if n == 0 { continue }  // the loop's deadline check ends it
            return false
        }
    }

    /// The request line, without its newline; nil when it did not come whole in time or
    /// within `maximumRequest` bytes.
    private static func readLine(from client: Int32, until deadline: Double) -> String? {
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: maximumRequest)
        while request.count <= maximumRequest {
            guard wait(client, for: Int32(POLLIN), until: deadline) else { return nil }
            let n = read(client, &chunk, chunk.count)
            if n < 0, errno == EAGAIN || errno == EINTR { continue }
            guard n > 0 else { return request.isEmpty ? nil : String(decoding: request, as: UTF8.self) }
            request.append(contentsOf: chunk[..<n])
            if let newline = request.firstIndex(of: UInt8(ascii: "\n")) {
                return String(decoding: request[..<newline], as: UTF8.self)
            }
        }
        send(line: error("request longer than \(maximumRequest) bytes"), to: client, until: deadline)
        return nil
    }

    private static func send(line: String, to client: Int32, until deadline: Double) {
        send(Data(line.utf8), to: client, until: deadline)
    }

    /// Writes all of `data` unless the client stops reading past the deadline.
    private static func send(_ data: Data, to client: Int32, until deadline: Double) {
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var sent = 0
            while sent < raw.count {
                let n = Glibc.send(client, base + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n > 0 {
                    sent += n
                } else if n < 0, errno == EAGAIN || errno == EINTR {
                    guard wait(client, for: Int32(POLLOUT), until: deadline) else { return }
                } else {
                    return
                }
            }
        }
    }
}
