import CShim
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Answers `netlab proxy status` and `netlab proxy flows` on the control socket.
///
/// The protocol is one request line (`status`, or `flows N`) and one JSON answer, after which
/// the server closes the connection. The server has a thread of its own, so a slow client never
/// holds a worker; it reads the workers' state between their batches.
final class ControlServer: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func socketName(tun: String) -> String { ControlSocketAddress.name(tun: tun) }

    private let descriptor: Int32
    private let wake: Int32
    private weak var daemon: ProxyDaemon?
    private let finished = DispatchSemaphore(value: 0)

    init(name: String, daemon: ProxyDaemon) throws(Failure) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        let bound = ControlSocketAddress.with(name) { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "bind @\(name): \(reason) (is another proxy with this device name running here?)")
        }
        descriptor = fd
        wake = eventfd(0, Int32(EFD_CLOEXEC))
        self.daemon = daemon
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.name = "proxy-control"
        thread.start()
    }

    func stop() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
        finished.wait()
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
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var request: [UInt8] = []
        var byte: UInt8 = 0
        while request.count < 256, read(client, &byte, 1) == 1, byte != UInt8(ascii: "\n") { request.append(byte) }
        let words = String(decoding: request, as: UTF8.self).split(separator: " ")
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
            body = Data("{\"error\":\"unknown request; expected 'status' or 'flows N'\"}".utf8)
        }
        body.append(UInt8(ascii: "\n"))
        body.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var sent = 0
            while sent < raw.count {
                let n = send(client, base + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                sent += n
            }
        }
    }
}
