import Foundation
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
        /// The hostname its UTS namespace gives it.
        public var hostname: String?
        /// Its namespaces beside net and uts ("mount", "pid").
        public var isolation: [String] = []
        /// Which cgroup hierarchies it uses ("v2", "v2 + v1 (cpu, memory)"), nil without a cgroup.
        public var cgroup: String?
        /// Processes, CPU time and memory from its cgroup.
        public var usage: CgroupUsage?
        /// Its services as the lab's supervisor last reported them.
        public var services: [ServiceStatus] = []
    }

    /// A stitched link's end on this host (a lab over several hosts).
    public struct StitchStatus: Codable, Sendable {
        public var node: String
        public var interface: String
        public var vni: UInt32
        public var peerHost: String
        public var peerAddress: String
        /// The other end, `NODE:IFACE` on the peer host.
        public var peer: String
        /// Packets that arrived on it from the peer host: 0 means the stitch does not work (yet).
        public var receivedPackets: UInt64?
    }

    public var name: String
    public var file: String
    public var complete: Bool
    /// In a lab over several hosts: this share's host, and the digest of the file it was built from.
    public var host: String?
    public var digest: String?
    public var stitches: [StitchStatus] = []
    /// The veth links between the nodes, as the topology file has them (`NODE:IFACE` pairs).
    public var links: [[String]] = []
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
        let services = ServiceStatus.load(lab: name)
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
                        name: link.name, kind: link.kind?.description ?? (link.name == "lo" ? "loopback" : "device"),
                        state: link.isUp ? (link.hasCarrier ? "UP" : "NO-CARRIER") : "DOWN",
                        mtu: link.mtu, mac: link.name == "lo" ? nil : link.mac?.description,
                        master: link.masterIndex.flatMap { byIndex[$0] },
                        addresses: addresses.filter { $0.interfaceIndex == link.index && !$0.prefix.address.isIPv6LinkLocal }
                            .map(\.prefix.description),
                        qdiscs: qdiscs.filter { $0.interfaceIndex == link.index }.map(\.kind))
                }
                let routes = try socket.routes().map {
                    RouteStatus(destination: $0.destinationText, gateway: $0.gateway?.description,
                                device: $0.interfaceIndex.flatMap { byIndex[$0] })
                }
                let record = state?.proxies.first { $0.node == node }
                let proxy = record.flatMap { try? ControlClient.status(tun: $0.tun) }
                let namespaces = NodeNamespaces(lab: name, node: node)
                var status = NodeStatus(name: node, namespace: namespace, interfaces: interfaces, routes: routes,
                                        proxy: proxy, proxyPID: record?.pid, proxyLog: record?.log)
                status.hostname = namespaces.hostnameFromThisThread()
                status.isolation = namespaces.isolation.map(\.rawValue)
                return status
            }) else { continue }
            var full = status
            if let cgroup = NodeCgroup(lab: name, node: status.name), access(cgroup.path, F_OK) == 0 {
                full.cgroup = cgroup.kind
                full.usage = cgroup.usage
            }
            full.services = services.filter { $0.node == status.name }
            nodes.append(full)
        }
        let alive = (state?.processes ?? []).filter { $0 > 1 && kill($0, 0) == 0 }
        var status = LabStatus(name: name, file: state?.file ?? "", complete: state?.complete ?? false, host: state?.host,
                               digest: state?.digest, nodes: nodes, processes: alive)
        if let file = state?.file, var topology = try? TopologyParser.load(path: file) {
            if let host = state?.host { topology = topology.share(for: host) }
            status.links = topology.links.map { [$0.a.description, $0.b.description] }
        }
        status.stitches = (state?.stitches ?? []).map { record in
            let namespace = NetworkNamespace(Topology.namespaceName(lab: name, node: record.node))
            let received = try? namespace.run { Self.receivedPackets(record.interface) }
            return StitchStatus(node: record.node, interface: record.interface, vni: record.vni, peerHost: record.peerHost,
                                peerAddress: record.peerAddress, peer: record.peer, receivedPackets: received ?? nil)
        }
        return status
    }

    /// Packets `interface` of the calling thread's network namespace received
    /// (/proc/thread-self/net/dev: the thread's namespace, not the process's).
    static func receivedPackets(_ interface: String) -> UInt64? {
        for line in (readSmallFile("/proc/thread-self/net/dev") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == interface else { continue }
            let fields = parts[1].split(separator: " ")
            return fields.count > 1 ? UInt64(fields[1]) : nil
        }
        return nil
    }

    /// A readable table, one block per node.
    public var table: String {
        var lines = ["lab \(name)" + (file.isEmpty ? "" : " (\(file))") + (complete ? "" : "  [incomplete: run netlab down]")]
        if let host { lines.append("host \(host), file digest \(digest ?? "?")") }
        for stitch in stitches {
            let received = stitch.receivedPackets.map { $0 > 0 ? "\($0) packets in" : "nothing received yet" } ?? "not there"
            lines.append("stitch \(stitch.node):\(stitch.interface) vni \(stitch.vni) <-> \(stitch.peer) on \(stitch.peerHost) (\(stitch.peerAddress)): \(received)")
        }
        for node in nodes {
            lines.append("")
            var header = "node \(node.name)"
            if let hostname = node.hostname, hostname != node.name { header += "  hostname \(hostname)" }
            if !node.isolation.isEmpty { header += "  isolation \(node.isolation.joined(separator: ","))" }
            lines.append(header + "  (netlab exec \(name) \(node.name) -- CMD)")
            if let cgroup = node.cgroup, let usage = node.usage {
                var text = "  cgroup \(cgroup): \(usage.processes) process\(usage.processes == 1 ? "" : "es")"
                if let cpu = usage.cpuSeconds { text += String(format: ", cpu %.2f s", cpu) }
                if let memory = usage.memoryBytes {
                    text += ", memory \(Self.size(memory))" + (usage.memoryLimit.map { " of \(Self.size($0))" } ?? "")
                }
                if let kills = usage.oomKills, kills > 0 { text += ", \(kills) OOM kill\(kills == 1 ? "" : "s")" }
                lines.append(text)
            }
            for service in node.services {
                var text = "  service \(service.name): \(service.state.rawValue)"
                if let pid = service.pid { text += " (pid \(pid))" }
                text += ", \(service.restarts) restart\(service.restarts == 1 ? "" : "s"), since \(Self.clock(service.since))"
                if let message = service.message { text += ": \(message)" }
                lines.append(text)
            }
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

    static func size(_ bytes: UInt64) -> String {
        let units = ["B", "K", "M", "G", "T"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes)B" : String(format: value < 10 ? "%.1f%@" : "%.0f%@", value, units[unit])
    }

    static func clock(_ seconds: Double) -> String {
        var time = time_t(seconds)
        var parts = tm()
        localtime_r(&time, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
