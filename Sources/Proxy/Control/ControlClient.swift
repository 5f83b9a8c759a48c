import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Asks a running proxy over its control socket (in the calling thread's network namespace).
public enum ControlClient {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Sends `request` (`status`, `flows N`) to the proxy of TUN device `tun`; returns the JSON.
    public static func request(_ request: String, tun: String) throws(Failure) -> Data {
        let name = ControlSocketAddress.name(tun: tun)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard ControlSocketAddress.with(name, { connect(fd, $0, $1) }) == 0 else {
            throw Failure(description: "no proxy with device \(tun) answers here (@\(name): \(String(cString: strerror(errno))))")
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let line = Array((request + "\n").utf8)
        // A server that turns the client away (not allowed, busy) answers and closes at once,
        // maybe before the request is out: the send then fails, but the answer is waiting.
        let sent = send(fd, line, line.count, Int32(MSG_NOSIGNAL))
        let sendError = sent == line.count ? nil : "send to @\(name): \(String(cString: strerror(errno)))"
        var answer = Data()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            // A server that closed with part of the request unread resets the connection after
            // its answer: the answer is whole.
            if n < 0, errno == ECONNRESET, answer.last == UInt8(ascii: "\n") { break }
            if n < 0 { throw Failure(description: sendError ?? "read from @\(name): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            answer.append(contentsOf: chunk[..<n])
        }
        if let sendError, answer.isEmpty { throw Failure(description: sendError) }
        return answer
    }

    /// The proxy's status.
    public static func status(tun: String) throws(Failure) -> ProxyStatus {
        try decode(ProxyStatus.self, response(to: "status", tun: tun))
    }

    /// The proxy's top flows by bytes.
    public static func flows(tun: String, top: Int) throws(Failure) -> [FlowReport] {
        try decode([FlowReport].self, response(to: "flows \(top)", tun: tun))
    }

    /// What the server says when it does not answer the request.
    private struct Refusal: Decodable {
        let error: String
    }

    /// The JSON answer to `request`, retried for up to two seconds while the server is busy;
    /// a refusal (not allowed, an unknown request) is thrown as its one line.
    public static func response(to request: String, tun: String) throws(Failure) -> Data {
        var delay = 0.05
        var waited = 0.0
        while true {
            let data = try Self.request(request, tun: tun)
            guard let refusal = try? JSONDecoder().decode(Refusal.self, from: data) else { return data }
            guard refusal.error.hasPrefix("busy"), waited < 2 else { throw Failure(description: refusal.error) }
            Thread.sleep(forTimeInterval: delay)
            waited += delay
            delay = min(delay * 2, 0.4)
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws(Failure) -> T {
        let decoder = JSONDecoder()
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw Failure(description: "unexpected answer: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
    }
}
