import Foundation
import Netlink

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
    /// The proxies `up` started (their supervisors' PIDs), also listed in `processes`.
    public var proxies: [ProxyRecord]
    /// The id of the `up` that made the lab, as its namespaces' marks carry it (`LabMark`).
    public var upID: String
    /// Each namespace's identity when `up` created it, by name.
    public var identities: [String: NetworkNamespace.Identity]
    /// The lab's service supervisor, for `status` (`down` ends it by its cgroup, not this PID).
    public var supervisor: Int32?
    /// In a multi-host lab: the file's lab name, this share's host and its underlay address.
    public var lab: String?
    public var host: String?
    public var hostAddress: String?
    /// The topology file's digest when `up` read it (`TopologyDigest`).
    public var digest: String?
    /// The stitched links of this share: the local end, its VNI and the peer host.
    public var stitches: [StitchRecord] = []

    /// One stitched link end on this host.
    public struct StitchRecord: Codable, Sendable, Equatable {
        public var node: String
        public var interface: String
        public var vni: UInt32
        public var peerHost: String
        public var peerAddress: String
        public var peer: String
    }

    /// A proxy running in a node of the lab.
    public struct ProxyRecord: Codable, Sendable, Equatable {
        public var node: String
        public var namespace: String
        /// Its TUN device, which names its control socket.
        public var tun: String
        /// The PID of what supervises it: the lab's service supervisor.
        public var pid: Int32
        /// Where its log goes.
        public var log: String
    }

    public init(name: String, file: String, namespaces: [String], upID: String = LabMark.newUpID()) {
        self.name = name
        self.file = file
        self.namespaces = namespaces
        self.processes = []
        self.created = Date().timeIntervalSince1970
        self.complete = false
        self.proxies = []
        self.upID = upID
        self.identities = [:]
    }

    private enum CodingKeys: String, CodingKey {
        case name, file, namespaces, processes, created, complete, proxies, upID = "up_id", identities, supervisor
        case lab, host, hostAddress = "host_address", digest, stitches
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        file = try c.decode(String.self, forKey: .file)
        namespaces = try c.decode([String].self, forKey: .namespaces)
        processes = try c.decode([Int32].self, forKey: .processes)
        created = try c.decode(Double.self, forKey: .created)
        complete = try c.decode(Bool.self, forKey: .complete)
        // State files written before proxies existed have none.
        proxies = try c.decodeIfPresent([ProxyRecord].self, forKey: .proxies) ?? []
        // State files written before marks existed have neither.
        upID = try c.decodeIfPresent(String.self, forKey: .upID) ?? ""
        identities = try c.decodeIfPresent([String: NetworkNamespace.Identity].self, forKey: .identities) ?? [:]
        supervisor = try c.decodeIfPresent(Int32.self, forKey: .supervisor)
        lab = try c.decodeIfPresent(String.self, forKey: .lab)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        hostAddress = try c.decodeIfPresent(String.self, forKey: .hostAddress)
        digest = try c.decodeIfPresent(String.self, forKey: .digest)
        stitches = try c.decodeIfPresent([StitchRecord].self, forKey: .stitches) ?? []
    }

    /// The lab's own directory, for its logs: `down` removes it whole.
    public static func logDirectory(lab: String) -> String { "\(directory)/\(lab)" }

    /// Where the log of the proxy in `node` goes.
    public static func proxyLog(lab: String, node: String) -> String { "\(logDirectory(lab: lab))/\(node).proxy.log" }

    /// Where the lab's service supervisor writes what it has to say.
    public static func supervisorLog(lab: String) -> String { "\(logDirectory(lab: lab))/supervisor.log" }

    /// Where the output of `node`'s exec commands goes.
    public static func execLog(lab: String, node: String) -> String { "\(logDirectory(lab: lab))/\(node).exec.log" }

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
