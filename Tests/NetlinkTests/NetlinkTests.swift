import Foundation
import Netlink
import Packet
import Testing
import TestSupport

/// The netlink layer against the real kernel, in namespaces this test makes and removes.
@Suite("Netlink layer", .serialized)
struct NetlinkTests {
    static let prefix = "nlk\(getpid())"

    /// One echo answered within a few tries. The tries are for readiness, not for loss: IPv6
    /// installs the prefix route only when the kernel's link watcher reports the carrier, up to a
    /// second after the peer comes up, and a ping before that fails at once ("unreachable").
    static func ping(from ns: NetworkNamespace, _ address: String, attempts: Int = 5) -> Bool {
        for _ in 0..<attempts {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ip", "netns", "exec", ns.name, "ping", "-c", "1", "-W", "1", address]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return false }
            process.waitUntilExit()
            if process.terminationStatus == 0 { return true }
            usleep(200_000)
        }
        return false
    }

    @Test("namespaces appear in /run/netns and go away")
    func namespaces() throws {
        let name = "\(Self.prefix)-ns"
        let ns = try NetworkNamespace.create(name)
        defer { try? ns.delete() }
        #expect(ns.exists)
        #expect(NetworkNamespace.all().contains(name))
        #expect(throws: NetlinkError.self) { try NetworkNamespace.create(name) }
        let links = try ns.run { try RouteSocket().links().map(\.name) }
        #expect(links == ["lo"])
        try ns.delete()
        #expect(!ns.exists)
    }

    @Test("veth between namespaces, addresses, routes, ping both families")
    func vethPing() throws {
        let a = try NetworkNamespace.create("\(Self.prefix)-a")
        defer { try? a.delete() }
        let b = try NetworkNamespace.create("\(Self.prefix)-b")
        defer { try? b.delete() }
        try a.run {
            let socket = try RouteSocket()
            try socket.add(LinkRequest(name: "eth0", kind: .veth(peer: "eth0", peerNamespace: b), mtu: 1400,
                                       mac: MACAddress("02:00:00:00:aa:01")))
            try socket.addAddress(IPPrefix("10.77.0.1/24")!, to: "eth0")
            try socket.addAddress(IPPrefix("fd00:77::1/64")!, to: "eth0")
            try socket.change("eth0", up: true)
            try socket.change("lo", up: true)
            try socket.addRoute(to: IPPrefix("10.78.0.0/16"), via: IPAddress("10.77.0.2"), device: nil, ipv6: false)
        }
        try b.run {
            let socket = try RouteSocket()
            try socket.addAddress(IPPrefix("10.77.0.2/24")!, to: "eth0")
            try socket.addAddress(IPPrefix("fd00:77::2/64")!, to: "eth0")
            try socket.change("eth0", up: true)
        }
        #expect(Self.ping(from: a, "10.77.0.2"))
        #expect(Self.ping(from: a, "fd00:77::2"))
        let (links, addresses, routes) = try a.run {
            let socket = try RouteSocket()
            return (try socket.links(), try socket.addresses(), try socket.routes())
        }
        let eth0 = try #require(links.first { $0.name == "eth0" })
        #expect(eth0.kind == .veth && eth0.mtu == 1400 && eth0.isUp && eth0.mac == MACAddress("02:00:00:00:aa:01"))
        #expect(eth0.operationalState == .up && eth0.hasCarrier)
        #expect(addresses.contains { $0.prefix == IPPrefix("10.77.0.1/24") })
        #expect(addresses.contains { $0.prefix == IPPrefix("fd00:77::1/64") })
        #expect(routes.contains { $0.destination == IPPrefix("10.78.0.0/16") && $0.gateway == IPAddress("10.77.0.2") })
    }

    @Test("bridge with a port, macvlan on a veth, vxlan on an underlay")
    func linkKinds() throws {
        let ns = try NetworkNamespace.create("\(Self.prefix)-k")
        defer { try? ns.delete() }
        let links = try ns.run {
            let socket = try RouteSocket()
            try socket.add(LinkRequest(name: "br0", kind: .bridge(vlanFiltering: false)))
            try socket.add(LinkRequest(name: "p0", kind: .veth(peer: "p1", peerNamespace: nil)))
            try socket.change("p0", master: "br0")
            try socket.add(LinkRequest(name: "mv0", kind: .macvlan(parent: "p1", mode: .bridge)))
            try socket.add(LinkRequest(name: "vx0", kind: .vxlan(.init(vni: 42, remote: IPAddress("10.9.9.2"),
                                                                        local: IPAddress("10.9.9.1"), device: "p1"))))
            #expect(throws: NetlinkError.self) { try socket.add(LinkRequest(name: "p0", kind: .bridge(vlanFiltering: false))) }
            #expect(throws: NetlinkError.self) {
                try socket.add(LinkRequest(name: "mv1", kind: .macvlan(parent: "nope", mode: .vepa)))
            }
            return try socket.links()
        }
        func kind(_ name: String) -> LinkKind? { links.first { $0.name == name }?.kind }
        #expect(kind("br0") == .bridge)
        #expect(kind("mv0") == .macvlan)
        #expect(kind("vx0") == .vxlan)
        #expect(kind("lo") == nil)
        let bridgeIndex = links.first { $0.name == "br0" }?.index
        #expect(links.first { $0.name == "p0" }?.masterIndex == bridgeIndex)
        let details = try ProcessRunner.run(["ip", "-n", ns.name, "-d", "link", "show"]).output
        #expect(details.contains("vxlan id 42 remote 10.9.9.2 local 10.9.9.1 dev p1"))
        #expect(details.contains("macvlan mode bridge"))
    }

    @Test("dummy links and 802.1Q sub-interfaces", .enabled(if: KernelSupport.current.dummy && KernelSupport.current.vlan))
    func dummyAndVLAN() throws {
        let ns = try NetworkNamespace.create("\(Self.prefix)-d")
        defer { try? ns.delete() }
        let links = try ns.run {
            let socket = try RouteSocket()
            try socket.add(LinkRequest(name: "d0", kind: .dummy))
            try socket.add(LinkRequest(name: "d0.100", kind: .vlan(parent: "d0", id: 100, qinq: false)))
            return try socket.links()
        }
        #expect(links.first { $0.name == "d0" }?.kind == .dummy)
        #expect(links.first { $0.name == "d0.100" }?.kind == .vlan)
    }

    @Test("bridge VLAN filtering and port VLANs", .enabled(if: KernelSupport.current.bridgeVLANFiltering))
    func bridgeVLANs() throws {
        let ns = try NetworkNamespace.create("\(Self.prefix)-v")
        defer { try? ns.delete() }
        try ns.run {
            let socket = try RouteSocket()
            try socket.add(LinkRequest(name: "br0", kind: .bridge(vlanFiltering: true)))
            try socket.add(LinkRequest(name: "p0", kind: .veth(peer: "p1", peerNamespace: nil)))
            try socket.change("p0", master: "br0")
            try socket.addBridgeVLAN(10, port: "p0", pvid: true, untagged: true)
        }
        #expect(try ProcessRunner.run(["ip", "-n", ns.name, "-d", "link", "show", "br0"]).output.contains("vlan_filtering 1"))
        #expect(try ProcessRunner.run(["bridge", "-n", ns.name, "vlan", "show", "dev", "p0"]).output.contains("10 PVID"))
    }

    @Test("tbf rate limiting, replaced and removed", .enabled(if: KernelSupport.current.tbf))
    func rateImpairment() throws {
        let ns = try NetworkNamespace.create("\(Self.prefix)-q")
        defer { try? ns.delete() }
        try ns.run {
            let socket = try RouteSocket()
            try socket.add(LinkRequest(name: "p0", kind: .veth(peer: "p1", peerNamespace: nil)))
            try socket.change("p0", up: true)
            try socket.setImpairment(Impairment(rate: 10_000_000), on: "p0")
            #expect(try socket.qdiscs().contains { $0.kind == "tbf" })
        }
        let shown = try ProcessRunner.run(["tc", "-n", ns.name, "qdisc", "show", "dev", "p0"]).output
        #expect(shown.contains("tbf") && shown.contains("rate 10Mbit"), "\(shown)")
        try ns.run { try RouteSocket().setImpairment(Impairment(), on: "p0") }
        #expect(!(try ProcessRunner.run(["tc", "-n", ns.name, "qdisc", "show", "dev", "p0"]).output).contains("tbf"))
    }

    @Test("netem delay, jitter and loss under tbf", .enabled(if: KernelSupport.current.netem))
    func netemImpairment() throws {
        let ns = try NetworkNamespace.create("\(Self.prefix)-n")
        defer { try? ns.delete() }
        try ns.run {
            let socket = try RouteSocket()
            try socket.add(LinkRequest(name: "p0", kind: .veth(peer: "p1", peerNamespace: nil)))
            try socket.change("p0", up: true)
            try socket.setImpairment(Impairment(delay: 10_000, jitter: 1_000, loss: 1.5, rate: 10_000_000), on: "p0")
        }
        let shown = try ProcessRunner.run(["tc", "-n", ns.name, "qdisc", "show", "dev", "p0"]).output
        #expect(shown.contains("netem") && shown.contains("delay 10ms") && shown.contains("loss 1.5%"), "\(shown)")
        #expect(shown.contains("tbf"), "\(shown)")
    }

    @Test("the kernel probe names what is missing")
    func probe() {
        let support = KernelSupport.current
        #expect(support.missing.contains("CONFIG_DUMMY") == !support.dummy)
        #expect(support.missing.contains("CONFIG_NET_SCH_NETEM") == !support.netem)
    }

    @Test("sysctls written inside a namespace stay there")
    func sysctl() throws {
        let ns = try NetworkNamespace.create("\(Self.prefix)-s")
        defer { try? ns.delete() }
        try ns.run { try NetworkNamespace.writeSysctl("net.ipv4.ip_forward", "1") }
        #expect(try ProcessRunner.run(["ip", "netns", "exec", ns.name, "cat", "/proc/sys/net/ipv4/ip_forward"]).output.hasPrefix("1"))
        #expect(try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8).hasPrefix("0"))
    }
}
