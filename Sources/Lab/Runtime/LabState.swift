import Foundation

/// What `netlab up` records under /run/netlab before it creates anything, so that `down` can
/// remove a lab whose `up` crashed or was killed halfway.
public struct LabState: Codable, Sendable, Equatable {
    public static let directory = "/run/netlab"

    public var name: String
    public var file: String
    /// Every namespace the lab owns (created or about to be).
    public var namespaces: [String]
    /// Processes the lab started (exec'd daemons, proxies), ended by `down`.
    public var processes: [Int32]
    /// Seconds since the epoch when `up` began.
    public var created: Double
    /// True once `up` finished.
    public var complete: Bool

    public init(name: String, file: String, namespaces: [String]) {
        self.name = name
        self.file = file
        self.namespaces = namespaces
        self.processes = []
        self.created = Date().timeIntervalSince1970
        self.complete = false
    }

    public static func path(of lab: String) -> String { "\(directory)/\(lab).json" }

    public static func load(_ lab: String) -> LabState? {
        guard let data = FileManager.default.contents(atPath: path(of: lab)) else { return nil }
        return try? JSONDecoder().decode(LabState.self, from: data)
    }

    public func save() throws {
        try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Write then rename, so a crash never leaves half a state file.
        let target = Self.path(of: name)
        let temporary = target + ".tmp"
        try encoder.encode(self).write(to: URL(fileURLWithPath: temporary))
        _ = rename(temporary, target)
    }

    public static func remove(_ lab: String) {
        try? FileManager.default.removeItem(atPath: path(of: lab))
    }

    /// Names of the labs that have a state file.
    public static func all() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }
}
