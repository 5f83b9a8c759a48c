import Foundation
import Netlink
import Packet
import Proxy
import Synchronization
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
    /// The netlab binary that runs a lab's service supervisor (`netlab supervise`), its nodes'
    /// proxies (`netlab proxy run --topology ...`) and inits (`netlab node-init`); by default the
    /// running program, which is netlab itself when the CLI builds the lab.
    public var netlabExecutable: String = LabBuilder.runningExecutable()

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
        let foreignFiles = HostsFile.foreign(topology)
        guard foreignFiles.isEmpty else { throw ForeignFileError(lab: topology.name, paths: foreignFiles) }
        if let previous, previous.complete, namespaces.allSatisfy(\.exists) {
            return .alreadyUp
        }
        _ = LabTeardown.downLocked(topology.name)
        var state = LabState(name: topology.name, file: topology.file, namespaces: namespaces.map(\.name))
        state.digest = TopologyDigest.of(file: topology.file)
        if let host = topology.host.flatMap({ topology.host(named: $0) }) {
            state.lab = topology.lab
            state.host = host.name
            state.hostAddress = host.address.description
            state.stitches = topology.stitches.map { stitch in
                let mineIsA = stitch.hosts.a.name == host.name
                let end = mineIsA ? stitch.link.a : stitch.link.b
                let peer = mineIsA ? stitch.hosts.b : stitch.hosts.a
                return .init(node: end.node, interface: end.interface, vni: stitch.vni, peerHost: peer.name,
                             peerAddress: peer.address.description, peer: (mineIsA ? stitch.link.b : stitch.link.a).description)
            }
        }
        try state.save()
        try FileManager.default.createDirectory(atPath: LabState.logDirectory(lab: topology.name), withIntermediateDirectories: true)
        do {
            try build(&state)
            try startServices(&state)
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
        try NodeNamespaces.prepareDirectory(lab: topology.name)
        try NodeNamespaces.createBaseMountNamespace(lab: topology.name)
        // The names files go to /etc (a disk, most likely) while the cores make namespaces.
        let names = Parallel.inBackground { try HostsFile.writeAll(topology) }
        try Parallel.forEach(topology.nodes) { node in
            // One thread per node does all that needs to be inside its new namespace (a thread
            // and a setns each, 500 times, are a tenth of a second).
            let uts = Mutex<Int32>(-1)
            defer { uts.withLock { if $0 >= 0 { close($0) } } }
            // Marked before it is mounted under its name: never visible without the mark.
            try NetworkNamespace.create(topology.namespace(of: node).name) {
                try mark.write(with: RouteSocket())
                // No duplicate address detection: a lab's addresses are unique by construction,
                // and DAD keeps link-local addresses (and so IPv6 neighbour discovery) unusable
                // for the first second or two.
                try? NetworkNamespace.writeSysctl("net.ipv6.conf.all.accept_dad", "0")
                try? NetworkNamespace.writeSysctl("net.ipv6.conf.default.accept_dad", "0")
                // A node with no more isolation gets its hostname here; the others later, with
                // their mounts (which need the lab's hosts files).
                if node.isolation.isEmpty {
                    let fd = try NodeNamespaces.unshareUTS(hostname: node.hostname)
                    uts.withLock { $0 = fd }
                }
            }
            let fd = uts.withLock { $0 }
            if fd >= 0 { try NodeNamespaces(lab: topology.name, node: node.name).bindUTS(fd) }
        }
        try names.get()
        for node in topology.nodes {
            let namespace = topology.namespace(of: node)
            state.identities[namespace.name] = namespace.identity
        }
        try state.save()
        try makeContainers()
        progress("creating \(topology.links.count) veth link\(topology.links.count == 1 ? "" : "s")")
        try Parallel.forEach(topology.links) { link in
            guard let a = topology.node(named: link.a.node), let b = topology.node(named: link.b.node) else { return }
            let peerNamespace = topology.namespace(of: b)
            let request = LinkRequest(name: link.a.interface, kind: .veth(peer: link.b.interface, peerNamespace: peerNamespace))
            try topology.namespace(of: a).run { try RouteSocket().add(request) }
        }
        try createStitches()
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
                let result = try NamespaceProcess.run(["/bin/sh", "-c", command], in: NodeEnvironment(lab: topology.name, node: node.name),
                                                      log: log, timeout: node.execTimeout)
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

    /// The ends of links to other hosts: vxlan devices made from netlab's own network namespace,
    /// where the host's underlay address is (their socket stays there), straight into the node.
    private func createStitches() throws {
        let ends = topology.nodes.flatMap { node in
            node.interfaces.compactMap { interface -> (Node, Interface, LinkRequest.VXLAN)? in
                if case let .stitch(config) = interface.kind { return (node, interface, config) }
                return nil
            }
        }
        guard !ends.isEmpty else { return }
        progress("stitching \(ends.count) link\(ends.count == 1 ? "" : "s") to other hosts over VXLAN")
        let socket = try RouteSocket()
        for (node, interface, config) in ends {
            try socket.add(LinkRequest(name: interface.name, kind: .vxlan(config), mtu: interface.mtu, namespace: topology.namespace(of: node)))
        }
    }

    /// What makes each node a small container beside its network namespace: the lab's names
    /// in /etc/netns, the cgroups of nodes with limits (or an init), and each node's UTS (and
    /// mount and PID) namespaces.
    private func makeContainers() throws {
        let topology = self.topology
        var cgroups: [String: NodeCgroup] = [:]
        for node in topology.nodes where !node.limits.isEmpty || node.isolation.contains(.pid) {
            guard let cgroup = NodeCgroup(lab: topology.name, node: node.name) else {
                if node.limits.isEmpty { continue }
                throw CgroupError(path: "netlab/\(topology.name)/\(node.name)", reason: "this machine has no cgroup hierarchy for node \(node.name)'s limits")
            }
            try cgroup.create(limits: node.limits)
            cgroups[node.name] = cgroup
        }
        let initCommand = [netlabExecutable, "node-init"]
        let nodeCgroups = cgroups
        let isolated = topology.nodes.filter { !$0.isolation.isEmpty }
        guard !isolated.isEmpty else { return }
        progress("making the mount and PID namespaces of \(isolated.count) node\(isolated.count == 1 ? "" : "s")")
        try Parallel.forEach(isolated) { node in
            let log = "\(LabState.logDirectory(lab: topology.name))/\(node.name).init.log"
            _ = try NodeNamespaces(lab: topology.name, node: node.name).create(
                in: topology.namespace(of: node), hostname: node.hostname, isolation: node.isolation, files: node.files,
                cgroup: nodeCgroups[node.name], initCommand: initCommand, initLog: log)
        }
    }

    /// Starts the lab's service supervisor (`netlab supervise LAB`, in the cgroup
    /// netlab/LAB/.supervisor) with the file's services and the nodes' proxies, records it at
    /// once (so `down` ends it even if `up` fails later), and waits until every service is ready.
    private func startServices(_ state: inout LabState) throws {
        let plan = ServicePlan(topology, netlab: netlabExecutable)
        guard !plan.entries.isEmpty else { return }
        try writeStitchConfigurations()
        try plan.save()
        let log = LabState.supervisorLog(lab: topology.name)
        let cgroup = NodeCgroup.supervisor(lab: topology.name)
        try cgroup?.create()
        let files = try CgroupFiles(cgroup)
        defer { files.close() }
        let stdio = try NamespaceProcess.StandardStreams(log: log)
        defer { stdio.close() }
        progress("starting \(plan.entries.count) service\(plan.entries.count == 1 ? "" : "s") (supervisor log \(log))")
        let pid = try NamespaceProcess.spawnOnThisThread([netlabExecutable, "supervise", topology.name], stdio: stdio, cgroup: files)
        state.supervisor = pid
        state.processes.append(pid)
        for node in topology.nodes {
            guard let proxy = node.proxy else { continue }
            state.proxies.append(.init(node: node.name, namespace: topology.namespace(of: node).name, tun: proxy.tun.name, pid: pid,
                                       log: LabState.proxyLog(lab: topology.name, node: node.name)))
        }
        try state.save()
        try waitForServices(plan, supervisor: pid)
    }

    /// The configuration of each proxy stitch end's proxy, where its service reads it.
    private func writeStitchConfigurations() throws {
        for node in topology.nodes {
            for interface in node.interfaces {
                guard case let .proxyStitch(end) = interface.kind else { continue }
                let text = end.configuration(namespace: topology.namespace(of: node).name, interface: interface.name,
                                             addresses: interface.addresses, mtu: interface.mtu ?? topology.stitch.linkMTU(ipv6: end.local.isIPv6))
                let path = ServicePlan.stitchConfiguration(lab: topology.name, node: node.name, interface: interface.name)
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            }
        }
    }

    /// Waits until every service is ready (or ran and ended well); fails with the end of the
    /// log of the first that failed, or when the supervisor ends.
    private func waitForServices(_ plan: ServicePlan, supervisor: Int32) throws {
        var lastReport = ContinuousClock.now
        // The supervisor bounds each service's wait (ready_timeout, restart limit); this only
        // guards against a supervisor that hangs.
        let deadline = ContinuousClock.now + .seconds(600)
        while true {
            let statuses = ServiceStatus.load(lab: topology.name)
            if let failed = statuses.first(where: { $0.state == .failed }) {
                throw ServiceFailedError(node: failed.node, service: failed.name, reason: failed.message ?? "failed", log: failed.log)
            }
            let pending = plan.entries.filter { entry in
                !statuses.contains { $0.reference == entry.reference && ($0.state == .ready || $0.state == .exited) }
            }
            if pending.isEmpty { return }
            var status: Int32 = 0
            if waitpid(supervisor, &status, WNOHANG) == supervisor || ContinuousClock.now > deadline {
                throw ServiceFailedError(node: "", service: "", reason: "the lab's supervisor ended", log: LabState.supervisorLog(lab: topology.name))
            }
            if ContinuousClock.now - lastReport > .seconds(2) {
                lastReport = ContinuousClock.now
                progress("waiting for " + pending.prefix(8).map { $0.reference.description }.joined(separator: ", ") + (pending.count > 8 ? ", ..." : ""))
            }
            usleepMilliseconds(20)
        }
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
                    try RouteSocket().links().contains { $0.kind == .veth && $0.isUp && $0.operationalState != .up }
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
                case .veth, .existing, .stitch:
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
                case .proxyStitch:
                    // Made here so that its addresses and routes are set with the rest; its
                    // proxy attaches to it when the services start.
                    try PersistentTun.create(interface.name, tap: false, multiQueue: ProxyStitchEnd.queues > 1)
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
