import Lab
import Packet
@testable import Proxy
import Testing

/// What a host's share makes of a link stitched by proxies, and the proxy configuration it
/// writes for it, read back by the proxy's own parser: no namespace needed.
@Suite("Proxy stitch ends")
struct ProxyStitchEndTests {
    static let lab = """
        name = "px6"
        [stitch]
        kind = "proxy"
        port = 4900
        [hosts.east]
        address = "2001:db8::1"
        [hosts.west]
        address = "2001:db8::2"
        [nodes.a]
        host = "east"
        [nodes.a.interfaces.eth0]
        addresses = ["10.1.0.1/24", "fd00:1::1/64"]
        [[nodes.a.routes]]
        to = "10.3.0.0/24"
        via = "10.1.0.2"
        [[nodes.a.routes]]
        to = "default6"
        via = "fd00:1::2"
        [nodes.b]
        host = "west"
        [nodes.b.interfaces.eth0]
        addresses = ["10.1.0.2/24", "fd00:1::2/64"]
        [nodes.c]
        host = "west"
        [[links]]
        endpoints = ["c:eth1", "a:eth1"]
        [[links]]
        endpoints = ["a:eth0", "b:eth0"]
        """

    @Test("over an IPv6 underlay: a port per stitched link, the link's subnets and the routes through the far end, a configuration the proxy reads")
    func configuration() throws {
        var parser = TopologyParser(text: Self.lab, file: "px6.toml")
        let topology = try parser.parse()
        let share = topology.share(for: "east")
        let a = try #require(share.nodes.first { $0.name == "a" })
        let eth0 = try #require(a.interface(named: "eth0"))
        guard case let .proxyStitch(end) = eth0.kind else {
            Issue.record("a:eth0 is \(eth0.kindName), not a proxy stitch")
            return
        }
        // The second stitched link of the file: the stitch port plus one.
        #expect(end.port == 4901 && end.local == IPAddress("2001:db8::1") && end.remote == IPAddress("2001:db8::2"))
        #expect(Set(end.routes) == Set(["10.1.0.0/24", "fd00:1::/64", "10.3.0.0/24", "::/0"].compactMap { IPPrefix($0) }), "\(end.routes)")
        let text = end.configuration(namespace: "px6@east.a", interface: "eth0", addresses: eth0.addresses, mtu: 1430)
        let proxy = try ProxyConfigurationParser.parse(text, file: "stitch.toml")
        #expect(proxy.tun.name == "eth0" && proxy.tun.namespace == "px6@east.a" && !proxy.tun.addRoutes && proxy.tun.mtu == 1430)
        #expect(proxy.tun.queues == ProxyStitchEnd.queues && proxy.tun.addresses == eth0.addresses)
        #expect(proxy.listen.description == "[2001:db8::1]:4901")
        #expect(proxy.peers.map(\.endpoint.description) == ["[2001:db8::2]:4901"] && proxy.peers.first?.vni == end.vni)
        #expect(proxy.peer(for: IPAddress("10.3.0.9")!) != nil && proxy.peer(for: IPAddress("2001:db8:99::1")!) != nil)
    }
}
