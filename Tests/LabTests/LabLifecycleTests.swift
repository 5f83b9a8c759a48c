import Foundation
import Lab
import Netlink
@testable import Proxy
import Testing

/// Every shipped lab built for real, checked through netlink and by traffic, and removed with
/// nothing left. Labs are renamed with this test run's PID so parallel runs never collide.
@Suite("Lab lifecycle", .serialized)
struct LabLifecycleTests {
    static let tag = "nltlab\(getpid())"

    /// (file, node, address to ping from it, interface kinds expected somewhere in the lab)
    static let labs: [(String, [(String, String)], [String])] = [
        ("veth-pair", [("a", "10.0.0.2"), ("a", "fd00::2")], ["veth"]),
        ("bridge-lan", [("h1", "10.1.0.3"), ("h2", "10.1.0.1")], ["veth", "bridge"]),
        ("routed-chain", [("h1", "10.10.3.2"), ("h1", "fd10:3::2"), ("h2", "10.10.1.2")], ["veth"]),
        ("vxlan-overlay", [("host1", "10.200.0.2")], ["veth", "vxlan"]),
        ("k8s-flannel", [("pod-a", "10.244.1.2"), ("pod-b", "10.244.0.2")], ["veth", "bridge", "vxlan"]),
        ("macvlan-modes", [("bridge1", "10.2.0.12"), ("private1", "10.2.0.100"), ("passthru1", "10.2.0.100")],
         ["veth", "bridge", "macvlan"]),
        ("proxy-kernel", [("host1", "10.200.0.2"), ("host2", "10.200.0.1")], ["veth", "vxlan", "tun"]),
        ("proxy-two-sites", [("a1", "10.31.2.2"), ("b1", "10.31.1.2"), ("gwa", "10.200.0.2")], ["veth", "tun"]),
        ("containers", [("client", "10.0.1.1"), ("web", "10.0.2.2")], ["veth"]),
        ("k8s-service", [("client", "10.244.1.2"), ("node2", "10.244.1.10")], ["veth"]),
        // Across nodes only once BGP has converged: the checks wait for that.
        ("k8s-calico", [("pod1a", "10.244.1.3"), ("node1", "10.0.0.3")], ["veth", "bridge"]),
    ]

    static func builder(_ topology: Topology) -> LabBuilder {
        var builder = LabBuilder(topology: topology)
        builder.netlabExecutable = LabCommandTests.netlab  // it runs the labs' proxies
        return builder
    }

    static func load(_ file: String) throws -> Topology {
        var topology = try TopologyParser.load(path: "\(TopologyValidationTests.repositoryRoot)/topologies/\(file).toml")
        topology.name = "\(tag)-\(file)"
        return topology
    }

    static func ping(_ lab: Topology, from node: String, _ address: String, expectSuccess: Bool = true) throws -> Bool {
        let ns = NetworkNamespace(Topology.namespaceName(lab: lab.name, node: node))
        let status = try NamespaceProcess.run(["ping", "-c", "1", "-W", expectSuccess ? "3" : "1", "-q", address], in: ns)
        return status == 0
    }

    static func leftovers(_ lab: String) -> [String] {
        NetworkNamespace.all().filter { $0.hasPrefix(lab + ".") }
    }

    @Test("each shipped lab comes up, carries traffic, and goes down without a trace",
          arguments: Array(0..<labs.count))
    func shippedLab(index: Int) throws {
        let (file, pings, kinds) = Self.labs[index]
        let topology = try Self.load(file)
        defer { _ = try? LabTeardown.down(topology.name) }
        #expect(try Self.builder(topology).up() == .created)
        #expect(try Self.builder(topology).up() == .alreadyUp)
        for (node, address) in pings {
            #expect(try Self.ping(topology, from: node, address), "\(file): \(node) -> \(address)")
        }
        // What the lab says it shows holds.
        #expect(!topology.checks.isEmpty, "\(file) has no [[checks]]")
        for outcome in LabChecks.run(topology) { #expect(outcome.passed, "\(file): \(outcome.line)") }
        let status = try #require(LabStatus.read(topology.name))
        #expect(status.complete)
        #expect(status.nodes.count == topology.nodes.count)
        let seenKinds = Set(status.nodes.flatMap { $0.interfaces.map(\.kind) })
        for kind in kinds { #expect(seenKinds.contains(kind), "\(file): no \(kind) link") }
        for node in topology.nodes {
            let actual = try #require(status.nodes.first { $0.name == node.name })
            for interface in node.interfaces where interface.kind != .existing {
                let seen = actual.interfaces.first { $0.name == interface.name }
                #expect(seen != nil, "\(file): \(node.name):\(interface.name) missing")
                for address in interface.addresses {
                    #expect(seen?.addresses.contains(address.description) == true, "\(file): \(address) missing")
                }
                if interface.up { #expect(seen?.state != "DOWN", "\(file): \(interface.name) is down") }
            }
        }
        let proxies = LabState.load(topology.name)?.proxies ?? []
        #expect(proxies.count == topology.nodes.filter { $0.proxy != nil }.count)
        for record in proxies {
            let node = status.nodes.first { $0.name == record.node }
            #expect(node?.proxy?.tun == record.tun, "\(file): the proxy of \(record.node) does not answer")
            #expect((node?.proxy?.tunPacketsIn ?? 0) > 0, "\(file): the proxy of \(record.node) forwarded nothing")
        }
        let report = try LabTeardown.down(topology.name)
        for record in proxies { #expect(kill(record.pid, 0) != 0, "\(file): proxy \(record.pid) left running") }
        #expect(report.namespaces == topology.nodes.count)
        #expect(Self.leftovers(topology.name).isEmpty)
        #expect(LabState.load(topology.name) == nil)
        #expect(try !LabTeardown.down(topology.name).wasUp)
    }

    @Test("a lab's proxy that dies is restarted by its supervisor; down ends both")
    func proxySupervision() throws {
        let topology = try Self.load("proxy-kernel")
        defer { _ = try? LabTeardown.down(topology.name) }
        try Self.builder(topology).up()
        let record = try #require(LabState.load(topology.name)?.proxies.first)
        let namespace = NetworkNamespace(record.namespace)
        let first = try namespace.run { try ControlClient.status(tun: record.tun) }.pid
        #expect(first != record.pid, "the supervisor should run the proxy as its child")
        kill(first, SIGKILL)
        var second: Int32?
        for _ in 0..<100 where second == nil {
            usleep(50_000)
            second = (try? namespace.run { try ControlClient.status(tun: record.tun) })?.pid
            if second == first { second = nil }
        }
        #expect(second != nil, "the proxy was not restarted")
        #expect(try Self.ping(topology, from: "host1", "10.200.0.2"))
        _ = try LabTeardown.down(topology.name)
        #expect(kill(record.pid, 0) != 0, "the supervisor is still running")
        if let second { #expect(kill(second, 0) != 0, "the restarted proxy is still running") }
    }

    @Test("down ends what still runs inside a lab's namespaces, even with its state file lost")
    func strayProcesses() throws {
        let topology = try Self.load("veth-pair")
        defer { _ = try? LabTeardown.down(topology.name) }
        try Self.builder(topology).up()
        let ns = NetworkNamespace(Topology.namespaceName(lab: topology.name, node: "a"))
        let pid = try NamespaceProcess.spawn(["sleep", "300"], in: ns)
        #expect(ns.processes().contains(pid))
        LabState.remove(topology.name)
        let report = try LabTeardown.down(topology.name)
        #expect(report.processes >= 1 && report.namespaces == 2)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, WNOHANG) == pid || kill(pid, 0) != 0, "sleep \(pid) still runs")
    }

    @Test("macvlan modes: private and vepa siblings cannot reach each other")
    func macvlanIsolation() throws {
        let topology = try Self.load("macvlan-modes")
        defer { _ = try? LabTeardown.down(topology.name) }
        try LabBuilder(topology: topology).up()
        #expect(try !Self.ping(topology, from: "private1", "10.2.0.22", expectSuccess: false))
        #expect(try !Self.ping(topology, from: "vepa1", "10.2.0.32", expectSuccess: false))
    }

    @Test("a failure midway removes everything already created")
    func rollback() throws {
        var topology = try Self.load("routed-chain")
        // A route through an interface that does not exist fails only at build time.
        topology.nodes[topology.nodes.count - 1].routes.append(
            Route(destination: nil, gateway: nil, device: "nope0", isIPv6: false))
        #expect(throws: NetlinkError.self) { try LabBuilder(topology: topology).up() }
        #expect(Self.leftovers(topology.name).isEmpty)
        #expect(LabState.load(topology.name) == nil)
    }

    @Test("tbf rate impairment from the file is applied", .enabled(if: KernelSupport.current.tbf))
    func impairmentFromFile() throws {
        var parser = TopologyParser(text: """
            name = "\(Self.tag)-imp"
            [nodes.a.interfaces.eth0]
            addresses = ["10.0.0.1/24"]
            impair = { rate = "20mbit" }
            [nodes.b.interfaces.eth0]
            addresses = ["10.0.0.2/24"]
            [[links]]
            endpoints = ["a:eth0", "b:eth0"]
            """, file: "imp.toml", kernel: KernelSupport.current)
        let topology = try parser.parse()
        defer { _ = try? LabTeardown.down(topology.name) }
        try LabBuilder(topology: topology).up()
        let status = try #require(LabStatus.read(topology.name))
        let eth0 = status.nodes.first { $0.name == "a" }?.interfaces.first { $0.name == "eth0" }
        #expect(eth0?.qdiscs.contains("tbf") == true)
    }
}

@Suite("VLAN trunk lab", .serialized)
struct VLANTrunkLabTests {
    @Test("access ports, a tagged trunk and a router-on-a-stick",
          .enabled(if: KernelSupport.current.vlan && KernelSupport.current.bridgeVLANFiltering,
                   "needs CONFIG_VLAN_8021Q and CONFIG_BRIDGE_VLAN_FILTERING"))
    func trunk() throws {
        let topology = try LabLifecycleTests.load("vlan-trunk")
        defer { _ = try? LabTeardown.down(topology.name) }
        try LabBuilder(topology: topology).up()
        #expect(try LabLifecycleTests.ping(topology, from: "red1", "10.30.10.3"))
        #expect(try LabLifecycleTests.ping(topology, from: "blue1", "10.30.20.3"))
        #expect(try LabLifecycleTests.ping(topology, from: "red1", "10.30.20.2"))
    }
}
