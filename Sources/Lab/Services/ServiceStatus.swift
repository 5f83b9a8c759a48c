import Foundation

/// A service of a running lab as its supervisor last saw it; the supervisor keeps the list in
/// /run/netlab/LAB/services.json for `up` (which waits for readiness), `status` and `logs`.
public struct ServiceStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// For the services it comes after.
        case waiting
        /// Started, not ready yet.
        case starting
        case ready
        /// Ended; started again after a back-off.
        case restarting
        /// Ended with status 0 and not to be restarted.
        case exited
        /// Ended otherwise, never became ready, or restarted too often: given up.
        case failed
        /// Stopped on request (`netlab service ... stop`); `start` runs it again.
        case stopped
    }

    public var node: String
    public var name: String
    public var state: State
    /// The running process (its process group), while there is one.
    public var pid: Int32?
    public var restarts: Int
    /// Seconds since the epoch when it entered `state`.
    public var since: Double
    /// The last exit status (128 + signal when killed).
    public var exitStatus: Int32?
    /// Why it failed, for a person.
    public var message: String?
    public var log: String

    public var reference: ServiceReference { ServiceReference(node: node, service: name) }

    public static func path(lab: String) -> String { "\(LabState.logDirectory(lab: lab))/services.json" }

    public static func load(lab: String) -> [ServiceStatus] {
        guard let data = FileManager.default.contents(atPath: path(lab: lab)) else { return [] }
        return (try? JSONDecoder().decode([ServiceStatus].self, from: data)) ?? []
    }

    static func save(_ statuses: [ServiceStatus], lab: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try? encoder.encode(statuses).write(to: URL(fileURLWithPath: path(lab: lab)), options: .atomic)
    }
}
