import Foundation

/// A person's request to a lab's supervisor (`netlab service LAB NODE SERVICE stop|start|restart`):
/// a file /run/netlab/LAB/requests/NODE.SERVICE.ACTION, which the supervisor acts on and removes
/// within a tick (50 ms). A file, not a socket: the supervisor already wakes every tick, and
/// the lab's directory is root's alone.
public struct ServiceRequest: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        case stop, start, restart
    }

    public var node: String
    public var service: String
    public var action: Action

    public init(node: String, service: String, action: Action) {
        self.node = node
        self.service = service
        self.action = action
    }

    public static func directory(lab: String) -> String { "\(LabState.logDirectory(lab: lab))/requests" }

    public func path(lab: String) -> String { "\(Self.directory(lab: lab))/\(node).\(service).\(action.rawValue)" }

    /// Leaves the request for the supervisor.
    public func send(lab: String) throws {
        try FileManager.default.createDirectory(atPath: Self.directory(lab: lab), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path(lab: lab), contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path(lab: lab)])
        }
    }

    /// The requests waiting, oldest first; each is removed as it is read.
    static func take(lab: String) -> [ServiceRequest] {
        let directory = Self.directory(lab: lab)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory), !entries.isEmpty else { return [] }
        return entries.sorted().compactMap { entry in
            unlink("\(directory)/\(entry)")
            let parts = entry.split(separator: ".").map(String.init)
            guard parts.count == 3, let action = Action(rawValue: parts[2]) else { return nil }
            return ServiceRequest(node: parts[0], service: parts[1], action: action)
        }
    }
}
