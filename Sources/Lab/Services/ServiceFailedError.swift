import Foundation

/// A service did not become ready (it failed, timed out, or was restarted too often): `up`
/// removes the lab and says which, with the end of its log.
public struct ServiceFailedError: Error, CustomStringConvertible, Sendable {
    public let node: String
    public let service: String
    public let reason: String
    public let log: String

    public var description: String {
        let tail = (FileManager.default.contents(atPath: log).map { String(decoding: $0.suffix(4096), as: UTF8.self) } ?? "")
            .split(separator: "\n").suffix(10).joined(separator: "\n")
        let what = service.isEmpty ? "services" : "service \(service) of node \(node)"
        return "\(what): \(reason); " + (tail.isEmpty ? "its log (\(log)) is empty" : "its log (\(log)) ends with:\n\(tail)")
    }
}
