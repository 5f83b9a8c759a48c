import Netlink
import Proxy
#if canImport(Glibc)
import Glibc
#endif

/// A running lab as the kernel sees it: read back through netlink, not from the file.
public struct LabStatus: Codable, Sendable {
    public struct InterfaceStatus: Codable, Sendable {
        public var name: String
        public var kind: String
        public var state: String
        public var mtu: Int
        public var mac: String?
        public var master: String?
        public var addresses: [String]
        public var qdiscs: [String]
    }

    public struct RouteStatus: Codable, Sendable {
        public var destination: String
        public var gateway: String?
        public var device: String?
    }

    public struct NodeStatus: Codable, Sendable {
        public var name: String
        public var namespace: String
        public var interfaces: [InterfaceStatus]
        public var routes: [RouteStatus]
        /// The node's proxy as its control socket reports it (nil: none, or not answering).
        public var proxy: ProxyStatus?
        /// The proxy's supervisor PID and log, when the lab started one here.
        public var proxyPID: Int32?
        public var proxyLog: String?
    }

    public var name: String
    public var file: String
    public var complete: Bool
    public var nodes: [NodeStatus]
    /// PIDs the lab started that are still running.
    public var processes: [Int32]

    /// Reads the lab `name`; nil when it is not up.
    public static func read(_ name: String) -> LabStatus? {
        let state = LabState.load(name)
        var names = Set(NetworkNamespace.all().filter { $0.hasPrefix(name + ".") })
        names.formUnion(state?.namespaces.filter { NetworkNamespace($0).exists } ?? [])
        guard state != nil || !names.isEmpty else { return nil }
        var nodes: [NodeStatus] = []
        for namespace in names.sorted() {
            let ns = NetworkNamespace(namespace)
            let node = String(namespace.dropFirst(name.count + 1))
            guard let status = try? ns.run({ () -> NodeStatus in
                let socket = try RouteSocket()
                let links = try socket.links()
                let addresses = try socket.addresses()
                let qdiscs = try socket.qdiscs()
                let byIndex = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
                let interfaces = links.map { link in
                    InterfaceStatus(
                        name: link.name, kind: link.kind ?? (link.name == "lo" ? "loopback" : "device"),
                        state: link.isUp ? (link.hasCarrier ? "UP" : "NO-CARRIER") : "DOWN",
                        mtu: link.mtu, mac: link.name == "lo" ? nil : link.mac,
                        master: link.masterIndex.flatMap { byIndex[$0] },
                        addresses: addresses.filter { $0.interfaceIndex == link.index }.map(\.prefix)
                            .filter { !$0.hasPrefix("fe80:") },
                        qdiscs: qdiscs.filter { $0.interfaceIndex == link.index }.map(\.kind))
                }
                let routes = try socket.routes().map {
                    RouteStatus(destination: $0.destination, gateway: $0.gateway,
                                device: $0.interfaceIndex.flatMap { byIndex[$0] })
                }
                let record = state?.proxies.first { $0.node == node }
                let proxy = record.flatMap { try? ControlClient.status(tun: $0.tun) }
                return NodeStatus(name: node, namespace: namespace, interfaces: interfaces, routes: routes,
                                  proxy: proxy, proxyPID: record?.pid, proxyLog: record?.log)
            }) else { continue }
            nodes.append(status)
        }
        let alive = (state?.processes ?? []).filter { $0 > 1 && kill($0, 0) == 0 }
        return LabStatus(name: name, file: state?.file ?? "", complete: state?.complete ?? false, nodes: nodes,
                         processes: alive)
    }

    /// A readable table, one block per node.
    public var table: String {
        var lines = ["lab \(name)" + (file.isEmpty ? "" : " (\(file))") + (complete ? "" : "  [incomplete: run netlab down]")]
        for node in nodes {
            lines.append("")
            lines.append("node \(node.name)  (ip netns exec \(node.namespace) ...)")
            lines.append("  " + pad("IFACE", 16) + pad("KIND", 9) + pad("STATE", 11) + pad("MTU", 7) + pad("MASTER", 10) + "ADDRESSES")
            for i in node.interfaces {
                var extra = i.addresses.joined(separator: " ")
                if !i.qdiscs.isEmpty { extra += "  [" + i.qdiscs.joined(separator: ",") + "]" }
                lines.append("  " + pad(i.name, 16) + pad(i.kind, 9) + pad(i.state, 11) + pad("\(i.mtu)", 7)
                             + pad(i.master ?? "-", 10) + extra)
            }
            if let pid = node.proxyPID {
                if let p = node.proxy {
                    let peers = p.peers.map { "\($0.endpoint) vni \($0.vni)" }.joined(separator: ", ")
                    let drops = p.drops.values.reduce(0, +)
                    lines.append("  proxy \(p.tun) (pid \(pid)): peers \(peers); tun in \(p.tunPacketsIn) out \(p.tunPacketsOut), drops \(drops), flows \(p.activeFlows)")
                } else {
                    lines.append("  proxy (pid \(pid)): not answering; see \(node.proxyLog ?? "its log")")
                }
            }
            for route in node.routes {
                var text = "  route " + route.destination
                if let gateway = route.gateway { text += " via \(gateway)" }
                if let device = route.device { text += " dev \(device)" }
                lines.append(text)
            }
        }
        if !processes.isEmpty { lines.append("processes: " + processes.map(String.init).joined(separator: " ")) }
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
