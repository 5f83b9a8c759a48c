import Foundation

/// Every service of a running lab, as `up` hands them to the lab's supervisor
/// (/run/netlab/LAB/services.plan.json): the file's services and the nodes' proxies, with the
/// exact command each runs and where its output goes.
public struct ServicePlan: Codable, Sendable, Equatable {
    /// One service to run.
    public struct Entry: Codable, Sendable, Equatable {
        public var node: String
        public var service: Service
        /// What is spawned (in the node, in its cgroup): `/bin/sh -c COMMAND` for a file's service.
        public var arguments: [String]
        public var log: String
        /// Spawned in the supervisor's own namespaces (the host's network), in the node's cgroup:
        /// a proxy stitch's proxy, whose sockets belong on the underlay. nil: in the node.
        public var inHost: Bool? = nil

        public var reference: ServiceReference { ServiceReference(node: node, service: service.name) }
    }

    public var lab: String
    public var entries: [Entry]

    public static func path(lab: String) -> String { "\(LabState.logDirectory(lab: lab))/services.plan.json" }

    /// Where the output of `service` in `node` goes.
    public static func log(lab: String, node: String, service: String) -> String {
        "\(LabState.logDirectory(lab: lab))/\(node).\(service).log"
    }

    /// The topology's services and, as a service named `proxy`, each node's proxy
    /// (`netlab proxy run --topology FILE --node NODE`, ready when its control socket answers,
    /// restarted when it fails).
    public init(_ topology: Topology, netlab: String) {
        lab = topology.name
        let file = topology.file.hasPrefix("/") ? topology.file : FileManager.default.currentDirectoryPath + "/" + topology.file
        entries = []
        for node in topology.nodes {
            if let proxy = node.proxy {
                let service = Service(name: "proxy", command: "\(netlab) proxy run --topology \(file) --node \(node.name)",
                                      ready: .proxy(tun: proxy.tun.name), restart: .onFailure, readyTimeout: 10)
                entries.append(Entry(node: node.name, service: service,
                                     arguments: [netlab, "proxy", "run", "--topology", file, "--node", node.name],
                                     log: Self.log(lab: lab, node: node.name, service: "proxy")))
            }
            for interface in node.interfaces {
                guard case .proxyStitch = interface.kind else { continue }
                let name = Self.stitchService(interface: interface.name)
                let config = Self.stitchConfiguration(lab: lab, node: node.name, interface: interface.name)
                let service = Service(name: name, command: "\(netlab) proxy run --config \(config)",
                                      ready: .proxy(tun: interface.name), restart: .onFailure, readyTimeout: 10)
                entries.append(Entry(node: node.name, service: service, arguments: [netlab, "proxy", "run", "--config", config],
                                     log: Self.log(lab: lab, node: node.name, service: name), inHost: true))
            }
            for service in node.services {
                entries.append(Entry(node: node.name, service: service, arguments: ["/bin/sh", "-c", service.command],
                                     log: Self.log(lab: lab, node: node.name, service: service.name)))
            }
        }
    }

    /// The service of a proxy stitch end: `stitch-IFACE`.
    public static func stitchService(interface: String) -> String { "stitch-\(interface)" }

    /// Where `up` writes the configuration of a proxy stitch end's proxy.
    public static func stitchConfiguration(lab: String, node: String, interface: String) -> String {
        "\(LabState.logDirectory(lab: lab))/\(node).\(interface).stitch.toml"
    }

    public static func load(lab: String) -> ServicePlan? {
        guard let data = FileManager.default.contents(atPath: path(lab: lab)) else { return nil }
        return try? JSONDecoder().decode(ServicePlan.self, from: data)
    }

    public func save() throws {
        try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: Self.path(lab: lab)), options: .atomic)
    }
}
