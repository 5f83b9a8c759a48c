import Foundation
import Netlink
import Testing

/// The proxy's path MTU follows the underlay while it runs: inner senders get ICMP
/// "fragmentation needed" with the new inner MTU, and their transfers go on intact.
@Suite("Proxy path MTU at run time", .serialized)
struct ProxyPathMTUTests {
    static func config(listen: String, peer: String) -> String {
        """
        [tun]
        name = "vx0"
        addresses = ["10.10.0.1/24"]
        [underlay]
        listen = "\(listen):4789"
        [[peers]]
        endpoint = "\(peer):4789"
        vni = 42
        routes = ["10.10.0.0/24"]
        """
    }

    static func kernelPeer(_ namespace: NetworkNamespace, local: String, remote: String, mtu: Int) -> [[String]] {
        [
            ["ip", "-n", namespace.name, "link", "add", "vx", "type", "vxlan", "id", "42", "local", local, "remote", remote,
             "dstport", "4789", "dev", "eth0"],
            ["ip", "-n", namespace.name, "link", "set", "vx", "mtu", "\(mtu)", "up"],
            ["ip", "-n", namespace.name, "addr", "add", "10.10.0.2/24", "dev", "vx"],
        ]
    }

    static func peerPath(_ proxy: ProxyFixture.RunningProxy) throws -> (inner: Int, underlay: Int) {
        let peer = (try proxy.status()["peers"] as? [[String: Any]])?.first ?? [:]
        return (peer["path_mtu"] as? Int ?? 0, peer["underlay_mtu"] as? Int ?? 0)
    }

    @Test("the underlay interface's MTU lowered under a running proxy: ICMP with the new inner MTU, the transfer intact")
    func loweredInterface() throws {
        let tag = "tnm\(getpid())"
        let (proxyNS, peer) = try ProxyFixture.underlay(tag, a: "10.88.4.2", b: "10.88.4.1", prefix: 24)
        defer { try? proxyNS.delete() }
        defer { try? peer.delete() }
        try ProxyFixture.setUp(Self.kernelPeer(peer, local: "10.88.4.1", remote: "10.88.4.2", mtu: 1450))
        let config = try ProxyFixture.write(Self.config(listen: "10.88.4.2", peer: "10.88.4.1"), name: "\(tag).toml")
        defer { try? FileManager.default.removeItem(atPath: config) }
        let proxy = try ProxyFixture.RunningProxy(in: proxyNS, config: config)
        #expect(try Self.peerPath(proxy) == (1450, 1500))

        try ProxyFixture.setUp([["ip", "-n", proxyNS.name, "link", "set", "eth0", "mtu", "1300"]])
        let t = try ProxyFixture.transfer(from: proxyNS, to: peer, address: "10.10.0.2", port: 7200, bytes: 3 << 20)
        #expect(!t.sent.isEmpty && t.sent == t.received, "\(t)")
        #expect(try Self.peerPath(proxy) == (1250, 1300))
        // The local TCP took the ICMP: the kernel holds 1250 for the inner destination.
        let (_, route) = try ProxyFixture.run(in: proxyNS, ["ip", "route", "get", "10.10.0.2"])
        #expect(route.contains("mtu 1250"), "\(route)")
        let drops = try proxy.status()["drops"] as? [String: Int] ?? [:]
        #expect((drops["too_big"] ?? 0) > 0, "\(drops)")

        // Raised again, the path follows within the monitor's second.
        try ProxyFixture.setUp([["ip", "-n", proxyNS.name, "link", "set", "eth0", "mtu", "1500"]])
        var path = (inner: 0, underlay: 0)
        for _ in 0..<30 where path != (1450, 1500) {
            Thread.sleep(forTimeInterval: 0.1)
            path = try Self.peerPath(proxy)
        }
        #expect(path == (1450, 1500))
        let (status, output) = try ProxyFixture.run(in: proxyNS, [ProxyFixture.netlab, "proxy", "status"])
        #expect(status == 0 && output.contains("1450 (1500)"), "\(output)")
        _ = proxy.stop()
    }

    @Test("a router with a smaller MTU on the far side: its ICMP lowers the peer's path, the transfer intact")
    func routerOnThePath() throws {
        let tag = "tnu\(getpid())"
        let (proxyNS, router) = try ProxyFixture.underlay(tag, a: "10.88.5.2", b: "10.88.5.1", prefix: 24)
        defer { try? proxyNS.delete() }
        defer { try? router.delete() }
        let peer = try NetworkNamespace.create("\(tag)k")
        defer { try? peer.delete() }
        try ProxyFixture.setUp([
            ["ip", "-n", peer.name, "link", "set", "lo", "up"],
            ["ip", "-n", router.name, "link", "add", "far", "type", "veth", "peer", "name", "eth0", "netns", peer.name],
            ["ip", "-n", router.name, "link", "set", "far", "mtu", "1300", "up"],
            ["ip", "-n", peer.name, "link", "set", "eth0", "up"],
            ["ip", "-n", router.name, "addr", "add", "10.88.6.1/24", "dev", "far"],
            ["ip", "-n", peer.name, "addr", "add", "10.88.6.2/24", "dev", "eth0"],
            ["ip", "netns", "exec", router.name, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
            ["ip", "-n", proxyNS.name, "route", "add", "10.88.6.0/24", "via", "10.88.5.1"],
            ["ip", "-n", peer.name, "route", "add", "10.88.5.0/24", "via", "10.88.6.1"],
        // Only the router's side of the far link is small: the peer's vxlan device keeps 1450, so
        // TCP's MSS lets full-sized segments reach the router (the peer sends back only ACKs).
        ] + Self.kernelPeer(peer, local: "10.88.6.2", remote: "10.88.5.2", mtu: 1450))
        let config = try ProxyFixture.write(Self.config(listen: "10.88.5.2", peer: "10.88.6.2"), name: "\(tag).toml")
        defer { try? FileManager.default.removeItem(atPath: config) }
        let proxy = try ProxyFixture.RunningProxy(in: proxyNS, config: config)
        #expect(try Self.peerPath(proxy) == (1450, 1500), "nothing has told the proxy's host about the router's MTU yet")

        let t = try ProxyFixture.transfer(from: proxyNS, to: peer, address: "10.10.0.2", port: 7201, bytes: 3 << 20)
        #expect(!t.sent.isEmpty && t.sent == t.received, "\(t)")
        #expect(try Self.peerPath(proxy) == (1250, 1300))
        let (status, output) = try ProxyFixture.run(in: proxyNS, [ProxyFixture.netlab, "proxy", "status"])
        #expect(status == 0 && output.contains("1250 (1300)"), "\(output)")
        _ = proxy.stop()
    }
}
