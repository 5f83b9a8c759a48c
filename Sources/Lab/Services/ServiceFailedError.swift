import Foundation

/// A service did not become ready (it failed, timed out, or was restarted too often): `up`
/// removes the lab and says which, with the end of its log (read when the error is made: the
/// log goes with the lab).
public struct ServiceFailedError: Error, CustomStringConvertible, Sendable {
    public let node: String
    public let service: String
    public let reason: String
    public let log: String
    /// The last lines of the log.
    public let tail: String

    public init(node: String, service: String, reason: String, log: String) {
        self.node = node
        self.service = service
        self.reason = reason
        self.log = log
        tail = (FileManager.default.contents(atPath: log).map { String(decoding: $0.suffix(4096), as: UTF8.self) } ?? "")
            .split(separator: "\n").suffix(10).joined(separator: "\n")
    }

    public var description: String {
        let what = service.isEmpty ? "services" : "service \(service) of node \(node)"
        return "\(what): \(reason); " + (tail.isEmpty ? "its log (\(log)) was empty" : "its log (\(log)) ended with:\n\(tail)")
    }
}
