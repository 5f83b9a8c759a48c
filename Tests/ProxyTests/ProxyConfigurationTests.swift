import ConfigFile
import Packet
@testable import Proxy
import Testing

@Suite("Proxy configuration")
struct ProxyConfigurationTests {
    /// The configuration of issue 5, word for word.
    static let example = """
        [tun]
        name = "vx0"                    # TUN device to create
        addresses = ["10.10.0.1/24"]    # assigned to it; IPv6 too
        mtu = 1450                      # default: underlay MTU minus 50 (IPv4 underlay) or 70 (IPv6)

        [underlay]
        listen = "192.0.2.1:4789"       # local UDP address and port

        [[peers]]
        endpoint = "192.0.2.2:4789"     # a remote VTEP: another netlab proxy or a Linux vxlan device
        vni = 42
        routes = ["10.10.0.0/24"]       # inner destinations sent to this peer

        [metrics]
        listen = "127.0.0.1:9108"       # optional: Prometheus text format at /metrics
        """

    @Test("the documented keys parse as written")
    func example() throws {
        let config = try ProxyConfigurationParser.parse(Self.example, file: "proxy.toml")
        #expect(config.tun.name == "vx0")
        #expect(config.tun.addresses == [IPPrefix("10.10.0.1/24")!])
        #expect(config.tun.mtu == 1450)
        #expect(config.listen.description == "192.0.2.1:4789")
        #expect(config.peers.count == 1)
        #expect(config.peers[0].endpoint.description == "192.0.2.2:4789")
        #expect(config.peers[0].vni == 42)
        #expect(config.peers[0].routes == [IPPrefix("10.10.0.0/24")!])
        #expect(config.metricsListen?.description == "127.0.0.1:9108")
        #expect(config.peer(for: IPAddress("10.10.0.9")!)?.vni == 42)
        #expect(config.peer(for: IPAddress("10.11.0.9")!) == nil)
    }

    @Test("a device in another namespace, without the peers' routes: what a lab's proxy stitch writes")
    func deviceElsewhere() throws {
        let text = Self.example.replacingOccurrences(of: "[underlay]", with: "namespace = \"lab@east.a\"\nadd_routes = false\n[underlay]")
        let config = try ProxyConfigurationParser.parse(text, file: "proxy.toml")
        #expect(config.tun.namespace == "lab@east.a" && !config.tun.addRoutes)
        let defaults = try ProxyConfigurationParser.parse(Self.example, file: "proxy.toml")
        #expect(defaults.tun.namespace == nil && defaults.tun.addRoutes)
        let bad = Self.example.replacingOccurrences(of: "[underlay]", with: "namespace = \"../etc\"\n[underlay]")
        #expect(throws: ConfigErrors.self) { try ProxyConfigurationParser.parse(bad, file: "proxy.toml") }
        do {
            _ = try ProxyConfigurationParser.parse(bad, file: "proxy.toml")
        } catch {
            #expect(error.errors.first?.description.contains("proxy.toml:6: tun.namespace: '../etc' is not a network namespace name") == true,
                    "\(error.errors)")
        }
    }

    @Test("MTU defaults to the underlay's minus 50 (IPv4) or 70 (IPv6)")
    func mtuDefaults() throws {
        let v4 = try ProxyConfigurationParser.parse("""
            [tun]
            addresses = ["10.10.0.1/24"]
            [underlay]
            listen = "192.0.2.1:4789"
            [[peers]]
            endpoint = "192.0.2.2:4789"
            vni = 1
            routes = ["10.10.0.0/24"]
            """, file: "a.toml")
        #expect(v4.effectiveMTU(underlayMTU: 1500) == 1450)
        let v6 = try ProxyConfigurationParser.parse("""
            [tun]
            addresses = ["fd00::1/64"]
            [underlay]
            listen = "[2001:db8::1]:4789"
            mtu = 9000
            [[peers]]
            endpoint = "[2001:db8::2]:4789"
            vni = 1
            routes = ["fd00::/64"]
            """, file: "b.toml")
        #expect(v6.effectiveMTU(underlayMTU: 1500) == 8930)
        #expect(v6.peers[0].endpoint.port == 4789)
    }

    @Test("longest prefix wins between peers")
    func longestPrefix() throws {
        let config = try ProxyConfigurationParser.parse("""
            [tun]
            addresses = ["10.10.0.1/24"]
            [underlay]
            listen = "192.0.2.1:4789"
            [[peers]]
            endpoint = "192.0.2.2:4789"
            vni = 1
            routes = ["10.0.0.0/8"]
            [[peers]]
            endpoint = "192.0.2.3:4789"
            vni = 2
            routes = ["10.20.0.0/16"]
            """, file: "c.toml")
        #expect(config.peer(for: IPAddress("10.20.1.1")!)?.vni == 2)
        #expect(config.peer(for: IPAddress("10.30.1.1")!)?.vni == 1)
    }

    @Test("each problem names its line and key", arguments: [
        ("[tun]\nname = \"vx0\"\n[underlay]\nlisten = \"192.0.2.1:4789\"\n[[peers]]\nendpoint = \"192.0.2.2\"\nvni = 1\n", 6, "peers.0.endpoint", "not ADDRESS:PORT"),
        ("[tun]\nname = \"vx0\"\n[underlay]\nlisten = \"192.0.2.1:4789\"\n[[peers]]\nendpoint = \"192.0.2.2:4789\"\nvni = 16777216\n", 7, "peers.0.vni", "out of range"),
        ("[tun]\nname = \"vx0\"\n[underlay]\nlisten = \"192.0.2.1:4789\"\n[[peers]]\nendpoint = \"[2001:db8::2]:4789\"\nvni = 1\n", 6, "peers.0.endpoint", "address family"),
        ("[tun]\nname = \"averyveryverylongname\"\n[underlay]\nlisten = \"192.0.2.1:4789\"\n[[peers]]\nendpoint = \"192.0.2.2:4789\"\nvni = 1\n", 2, "tun.name", "Linux allows 15"),
        ("[tun]\nname = \"vx0\"\ncolour = 1\n[underlay]\nlisten = \"192.0.2.1:4789\"\n[[peers]]\nendpoint = \"192.0.2.2:4789\"\nvni = 1\n", 3, "tun.colour", "unknown key"),
        ("[tun]\nname = \"vx0\"\nmtu = 20\n[underlay]\nlisten = \"192.0.2.1:4789\"\n[[peers]]\nendpoint = \"192.0.2.2:4789\"\nvni = 1\n", 3, "tun.mtu", "out of range"),
        ("[tun]\nname = \"vx0\"\n[underlay]\nlisten = \"192.0.2.1:99999\"\n[[peers]]\nendpoint = \"192.0.2.2:4789\"\nvni = 1\n", 4, "underlay.listen", "not ADDRESS:PORT"),
        ("[tun]\nname = \"vx0\"\n[underlay]\nlisten = \"192.0.2.1:4789\"\n[[peers]]\nendpoint = \"192.0.2.2:4789\"\nvni = 1\nroutes = [\"10.0.0.0/8\"]\n[[peers]]\nendpoint = \"192.0.2.3:4789\"\nvni = 2\nroutes = [\"10.0.0.0/8\"]\n", 12, "peers.1.routes", "already routed"),
        ("[tun\n", 1, "", "TOML syntax"),
        ("[tun]\nname = \"vx0\"\n", 0, "", "[underlay] table is required"),
    ])
    func problem(text: String, line: Int, key: String, words: String) {
        do {
            _ = try ProxyConfigurationParser.parse(text, file: "p.toml")
            Issue.record("no problem found in:\n\(text)")
        } catch {
            let match = error.errors.first { $0.message.contains(words) }
            #expect(match != nil, "expected '\(words)' in \(error.errors.map(\.description))")
            #expect(match?.line == line, "\(match?.description ?? "")")
            #expect(match?.key == key, "\(match?.description ?? "")")
        }
    }

    @Test("endpoints: IPv4, bracketed IPv6, and what is not one")
    func endpoints() {
        #expect(SocketEndpoint("192.0.2.1:4789")?.port == 4789)
        #expect(SocketEndpoint("[2001:db8::1]:8472")?.address == IPAddress("2001:db8::1"))
        for bad in ["192.0.2.1", "2001:db8::1:4789", "[2001:db8::1]", "host:80", "192.0.2.1:0", "192.0.2.1:x", "[192.0.2.1]:80"] {
            #expect(SocketEndpoint(bad) == nil, "\(bad)")
        }
    }
}
