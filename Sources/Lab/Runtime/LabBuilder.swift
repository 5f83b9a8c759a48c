import Foundation
import Netlink
import Packet
import Proxy
#if canImport(Glibc)
import Glibc
#endif

func usleepMilliseconds(_ ms: UInt32) { usleep(ms * 1000) }

/// Turns a validated `Topology` into kernel objects through netlink, one netlink socket per
/// namespace, and removes everything it made if any step fails.
public struct LabBuilder {
    public enum Outcome: Sendable, Equatable {
        case created
        case alreadyUp
    }

    public let topology: Topology
    /// Receives one line per phase (and per 100 nodes in large labs).
    public var progress: @Sendable (String) -> Void
    /// Wait for veth ends to be operationally up before returning (and before `exec`).
    public var waitForCarrier = true
    /// The netlab binary that runs a node's proxy (`netlab proxy run --topology ...`); by
    /// default the running program, which is netlab itself when the CLI builds the lab.
    public var proxyExecutable: String = LabBuilder.runningExecutable()

    public static func runningExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "netlab"
    }

    public init(topology: Topology, waitForCarrier: Bool = true, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.topology = topology
        self.waitForCarrier = waitForCarrier
        self.progress = progress
    }

    /// Builds the lab, holding its lock (a second `up` or `down` of it waits). A lab that is
    /// already fully up is left alone; leftovers of a crashed `up` are removed first. A
    /// namespace with a node's name that netlab did not make for this lab stops it before
    /// anything is created.
    @discardableResult
    public func up() throws -> Outcome {
        let lock = try LabLock(lab: topology.name, waiting: progress)
        defer { withExtendedLifetime(lock) {} }
        let namespaces = topology.nodes.map { topology.namespace(of: $0) }
        let previous = LabState.load(topology.name)
        let foreign = namespaces.filter { $0.exists && !LabTeardown.isOwned($0, by: topology.name, state: previous) }
        guard foreign.isEmpty else { throw ForeignNamespaceError(lab: topology.name, names: foreign.map(\.name)) }
        if let previous, previous.complete, namespaces.allSatisfy(\.exists) {
            return .alreadyUp
        }
        _ = LabTeardown.downLocked(topology.name)
        var state = LabState(name: topology.name, file: topology.file, namespaces: namespaces.map(\.name))
        try state.save()
        try FileManager.default.createDirectory(atPath: LabState.logDirectory(lab: topology.name), withIntermediateDirectories: true)
        do {
            try build(&state)
            try startProxies(&state)
            state.complete = true
            try state.save()
            return .created
        } catch {
            progress("failed: \(error); removing what was created")
            _ = LabTeardown.downLocked(topology.name)
            throw error
        }
    }

    private func build(_ state: inout LabState) throws {
        let total = topology.nodes.count
        let topology = self.topology
        let mark = LabMark(lab: topology.name, upID: state.upID)
        progress("creating \(total) namespace\(total == 1 ? "" : "s")")
        try Parallel.forEach(topology.nodes) { node in
            // Marked before it is mounted under its name: never visible without the mark.
            let ns = try NetworkNamespace.create(topology.namespace(of: node).name) { try mark.write(with: RouteSocket()) }
            try ns.run {
                // No duplicate address detection: a lab's addresses are unique by construction,
                // and DAD keeps link-local addresses (and so IPv6 neighbour discovery) unusable
                // for the first second or two.
                try? NetworkNamespace.writeSysctl("net.ipv6.conf.all.accept_dad", "0")
                try? NetworkNamespace.writeSysctl("net.ipv6.conf.default.accept_dad", "0")
            }
        }
        for node in topology.nodes {
            let namespace = topology.namespace(of: node)
            state.identities[namespace.name] = namespace.identity
        }
        try state.save()
        progress("creating \(topology.links.count) veth link\(topology.links.count == 1 ? "" : "s")")
        try Parallel.forEach(topology.links) { link in
            guard let a = topology.node(named: link.a.node), let b = topology.node(named: link.b.node) else { return }
            let peerNamespace = topology.namespace(of: b)
            let request = LinkRequest(name: link.a.interface, kind: .veth(peer: link.b.interface, peerNamespace: peerNamespace))
            try topology.namespace(of: a).run { try RouteSocket().add(request) }
        }
        progress("creating interfaces")
        try Parallel.forEach(topology.nodes) { node in try Self.createInterfaces(of: node, in: topology) }
        // Interfaces on a parent in another node are made there, straight into their own node.
        for node in topology.nodes {
            for interface in node.interfaces {
                guard let parent = interface.foreignParent, let parentNode = topology.node(named: parent.node) else { continue }
                let target = topology.namespace(of: node)
                let request: LinkRequest
                switch interface.kind {
                case let .macvlan(_, mode):
                    request = LinkRequest(name: interface.name, kind: .macvlan(parent: parent.interface, mode: mode), namespace: target)
                case let .vlan(_, id, qinq):
                    request = LinkRequest(name: interface.name, kind: .vlan(parent: parent.interface, id: id, qinq: qinq), namespace: target)
                default:
                    continue
                }
                try topology.namespace(of: parentNode).run { try RouteSocket().add(request) }
            }
        }
        progress("configuring addresses, sysctls and routes")
        try Parallel.forEach(topology.nodes) { node in try Self.configure(node, in: topology) }
        if waitForCarrier || topology.nodes.contains(where: { !$0.exec.isEmpty }) { try waitForLinks() }
        for node in topology.nodes where !node.exec.isEmpty {
            let log = LabState.execLog(lab: topology.name, node: node.name)
            for command in node.exec {
                progress("\(node.name)$ \(command)")
                let result = try NamespaceProcess.run(Self.inCgroup(of: node.name, in: topology.name, ["/bin/sh", "-c", command]),
                                                      in: topology.namespace(of: node), log: log, timeout: node.execTimeout)
                if !result.output.isEmpty {
                    for line in result.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast(result.output.hasSuffix("\n") ? 1 : 0) {
                        progress("  \(line)")
                    }
                }
                guard let status = result.status else {
                    throw ExecTimeoutError(node: node.name, command: command, timeout: node.execTimeout, output: result.output)
                }
                if status != 0 { progress("  (exit status \(status))") }
            }
        }
    }

    /// Starts each node's proxy under a supervisor (`netlab proxy run --topology FILE --node N
    /// --supervise`), records it in the state file at once (so `down` ends it even if `up`
    /// fails later), and waits until its control socket answers.
    private func startProxies(_ state: inout LabState) throws {
        let file = topology.file.hasPrefix("/") ? topology.file : FileManager.default.currentDirectoryPath + "/" + topology.file
        for node in topology.nodes {
            guard let proxy = node.proxy else { continue }
            let namespace = topology.namespace(of: node)
            let log = LabState.proxyLog(lab: topology.name, node: node.name)
            try? FileManager.default.removeItem(atPath: log)
            progress("starting the proxy of \(node.name) (log \(log))")
            let pid = try NamespaceProcess.spawnDaemon(
                Self.inCgroup(of: node.name, in: topology.name,
                              [proxyExecutable, "proxy", "run", "--topology", file, "--node", node.name, "--supervise"]),
                in: namespace, log: log)
            state.processes.append(pid)
            state.proxies.append(.init(node: node.name, namespace: namespace.name, tun: proxy.tun.name, pid: pid, log: log))
            try state.save()
            try Self.waitForProxy(tun: proxy.tun.name, pid: pid, in: namespace, log: log)
        }
    }

    /// `arguments`, joining the node's cgroup first (made now if it is not there yet) where the
    /// machine has cgroup v2 (see `NodeCgroup`).
    public static func inCgroup(of node: String, in lab: String, _ arguments: [String]) -> [String] {
        guard let cgroup = NodeCgroup(lab: lab, node: node), (try? cgroup.create()) != nil else { return arguments }
        return cgroup.wrap(arguments)
    }

    /// Waits (at most 10 s) for a proxy's control socket; fails with the end of its log if the
    /// proxy exits or never answers.
    static func waitForProxy(tun: String, pid: Int32, in namespace: NetworkNamespace, log: String) throws {
        for _ in 0..<200 {
            if (try? namespace.run { try ControlClient.status(tun: tun) }) != nil { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { break }
            usleepMilliseconds(50)
        }
        let tail = (FileManager.default.contents(atPath: log).map { String(decoding: $0, as: UTF8.self) } ?? "")
            .split(separator: "\n").suffix(5).joined(separator: "\n")
        throw NetlinkError("proxy in \(namespace.name)", reason: "did not come up; its log (\(log)) ends with:\n\(tail)")
    }

    /// Waits (at most 3 s) until every veth end that is up is operationally up.
    ///
    /// The kernel's link watcher switches a link to its real qdisc up to a second after the
    /// carrier comes up; a packet sent before that is dropped. Without this wait the first
    /// ping of a fresh lab is lost and answered a second late.
    private func waitForLinks() throws {
        let deadline = ContinuousClock.now + .seconds(3)
        var pending = topology.nodes
        while !pending.isEmpty {
            pending = try pending.filter { node in
                try topology.namespace(of: node).run {
                    try RouteSocket().links().contains { $0.kind == "veth" && $0.isUp && $0.operationalState != 6 }
                }
            }
            if pending.isEmpty || ContinuousClock.now > deadline { break }
            try? Task.checkCancellation()
            usleepMilliseconds(20)
        }
        if !pending.isEmpty {
            progress("warning: links of \(pending.map(\.name).joined(separator: ", ")) are not operationally up yet")
        }
    }

    /// The node's own links (not veth ends, which the links phase made), on one thread with
    /// one netlink socket.
    private static func createInterfaces(of node: Node, in topology: Topology) throws {
        try topology.namespace(of: node).run {
            let socket = try RouteSocket()
            for interface in node.interfaces where interface.foreignParent == nil {
                switch interface.kind {
                case .veth, .existing:
                    break
                case let .bridge(_, filtering):
                    try socket.add(LinkRequest(name: interface.name, kind: .bridge(vlanFiltering: filtering)))
                case let .macvlan(parent, mode):
                    try socket.add(LinkRequest(name: interface.name, kind: .macvlan(parent: parent, mode: mode)))
                case let .vlan(parent, id, qinq):
                    try socket.add(LinkRequest(name: interface.name, kind: .vlan(parent: parent, id: id, qinq: qinq)))
                case let .vxlan(config):
                    try socket.add(LinkRequest(name: interface.name, kind: .vxlan(config)))
                case .dummy:
                    try socket.add(LinkRequest(name: interface.name, kind: .dummy))
                case .tun, .tap:
                    try PersistentTun.create(interface.name, tap: interface.kind == .tap)
                }
            }
        }
    }

    /// Bridge ports, sysctls (after the interfaces they may name), MTU, MAC, addresses, link
    /// state, impairment and routes of one node.
    private static func configure(_ node: Node, in topology: Topology) throws {
        try topology.namespace(of: node).run {
            let socket = try RouteSocket()
            for (key, value) in node.sysctls { try NetworkNamespace.writeSysctl(key, value) }
            for case let (bridge, .bridge(ports, _)) in node.interfaces.map({ ($0.name, $0.kind) }) {
                for port in ports { try socket.change(port, master: bridge) }
            }
            for interface in node.interfaces {
                if interface.mtu != nil || interface.mac != nil {
                    try socket.change(interface.name, mtu: interface.mtu, mac: interface.mac)
                }
                if let vlans = interface.bridgeVLANs {
                    if let pvid = vlans.pvid { try socket.addBridgeVLAN(pvid, port: interface.name, pvid: true, untagged: true) }
                    for vid in vlans.tagged { try socket.addBridgeVLAN(vid, port: interface.name) }
                }
                for address in interface.addresses { try socket.addAddress(address, to: interface.name) }
                if interface.up { try socket.change(interface.name, up: true) }
                if let impairment = interface.impairment { try socket.setImpairment(impairment, on: interface.name) }
            }
            for route in node.routes {
                try socket.addRoute(to: route.destination, via: route.gateway, device: route.device, ipv6: route.isIPv6)
            }
        }
    }
}
