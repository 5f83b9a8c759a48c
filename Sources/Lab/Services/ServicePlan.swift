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
            for service in node.services {
                entries.append(Entry(node: node.name, service: service, arguments: ["/bin/sh", "-c", service.command],
                                     log: Self.log(lab: lab, node: node.name, service: service.name)))
            }
        }
    }

    public static func load(lab: String) -> ServicePlan? {
        guard let data = FileManager.default.contents(atPath: path(lab: lab)) else { return nil }
        return try? JSONDecoder().decode(ServicePlan.self, from: data)
    }

    public func save() throws {
        try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: Self.path(lab: lab)), options: .atomic)
    }
}
