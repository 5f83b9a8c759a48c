import Foundation
import Netlink
import Testing

/// Two `netlab proxy` processes joined over a veth underlay, in namespaces this suite makes.
@Suite("Proxy to proxy", .serialized)
struct ProxyPairTests {
    static func config(_ addresses: [String], listen: String, peer: String, routes: [String],
                       mtu: Int? = nil, extra: String = "") -> String {
        let quoted = { (list: [String]) in list.map { "\"\($0)\"" }.joined(separator: ", ") }
        return """
            [tun]
            name = "vx0"
            addresses = [\(quoted(addresses))]
            \(mtu.map { "mtu = \($0)" } ?? "")
            [underlay]
            listen = "\(listen)"
            [[peers]]
            endpoint = "\(peer)"
            vni = 42
            routes = [\(quoted(routes))]
            \(extra)
            """
    }

    /// Two proxies over an IPv4 or IPv6 underlay, with IPv4 and IPv6 inside.
    struct Pair {
        let a: NetworkNamespace
        let b: NetworkNamespace
        let files: [String]

        init(tag: String, ipv6Underlay: Bool = false, mtu: Int? = nil, extraA: String = "", argumentsA: [String] = []) throws {
            let (ua, ub) = ipv6Underlay ? ("fd89::1", "fd89::2") : ("10.89.0.1", "10.89.0.2")
            (a, b) = try ProxyFixture.underlay(tag, a: ua, b: ub, prefix: ipv6Underlay ? 64 : 24)
            let endpoint = { (address: String) in ipv6Underlay ? "[\(address)]:4789" : "\(address):4789" }
            let routes = ["10.11.0.0/24", "fd11::/64"]
            files = [
                try ProxyFixture.write(ProxyPairTests.config(["10.11.0.1/24", "fd11::1/64"], listen: endpoint(ua), peer: endpoint(ub),
                                                            routes: routes, mtu: mtu, extra: extraA), name: "\(tag)a.toml"),
                try ProxyFixture.write(ProxyPairTests.config(["10.11.0.2/24", "fd11::2/64"], listen: endpoint(ub), peer: endpoint(ua),
                                                            routes: routes, mtu: mtu), name: "\(tag)b.toml"),
            ]
        }

        func remove() {
            try? a.delete()
            try? b.delete()
            for file in files { try? FileManager.default.removeItem(atPath: file) }
        }
    }

    static func ping(_ ns: NetworkNamespace, _ address: String, _ extra: [String] = []) throws -> (Bool, String) {
        let (status, output) = try ProxyFixture.run(in: ns, ["ping", "-c", "2", "-i", "0.2", "-W", "2"] + extra + [address])
        return (status == 0, output)
    }

    @Test("ping both ways over IPv4 and IPv6, checked TCP both ways, status, flows and metrics")
    func pair() throws {
        let pair = try Pair(tag: "tnq\(getpid())", extraA: "[metrics]\nlisten = \"127.0.0.1:9108\"")
        defer { pair.remove() }
        let a = try ProxyFixture.RunningProxy(in: pair.a, config: pair.files[0])
        let b = try ProxyFixture.RunningProxy(in: pair.b, config: pair.files[1])
        for (ns, address) in [(pair.a, "10.11.0.2"), (pair.b, "10.11.0.1"), (pair.a, "fd11::2"), (pair.b, "fd11::1")] {
            let (ok, output) = try Self.ping(ns, address)
            #expect(ok, "\(ns.name) -> \(address): \(output)")
            #expect(output.contains(" 0% packet loss"), "\(ns.name) -> \(address) lost packets: \(output)")
        }
        let v4 = try ProxyFixture.transfer(from: pair.a, to: pair.b, address: "10.11.0.2", port: 7001, bytes: 4 << 20)
        #expect(!v4.sent.isEmpty && v4.sent == v4.received, "IPv4 A to B: \(v4)")
        let v6 = try ProxyFixture.transfer(from: pair.b, to: pair.a, address: "fd11::1", port: 7002, bytes: 4 << 20)
        #expect(!v6.sent.isEmpty && v6.sent == v6.received, "IPv6 B to A: \(v6)")

        // A burst of small datagrams: the receiving proxy merges runs into USO writes, and the
        // kernel must hand every datagram back, intact and in order.
        let (_, burst) = try ProxyFixture.run(in: pair.b, ["python3", "-c", """
            import socket, subprocess, sys
            r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("10.11.0.2", 7010)); r.settimeout(3)
            r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
            subprocess.run(["ip", "netns", "exec", "\(pair.a.name)", "python3", "-c",
                "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\\n"
                "for i in range(1000): s.sendto(i.to_bytes(4, 'big') * 16, ('10.11.0.2', 7010))"], check=True)
            got = []
            try:
                while len(got) < 1000: got.append(r.recv(2048))
            except socket.timeout: pass
            ok = all(len(g) == 64 and g == g[:4] * 16 for g in got)
            print(len(got), "intact" if ok else "corrupt", "ordered" if [int.from_bytes(g[:4], "big") for g in got] == sorted(int.from_bytes(g[:4], "big") for g in got) else "reordered")
            """])
        #expect(burst.contains("1000 intact ordered"), "\(burst)")

        let status = try a.status()
        let peers = status["peers"] as? [[String: Any]] ?? []
        #expect((peers.first?["packets_out"] as? Int ?? 0) > 100, "\(status)")
        #expect((peers.first?["packets_in"] as? Int ?? 0) > 100, "\(status)")
        let neighbors = status["neighbors"] as? [[String: Any]] ?? []
        #expect(neighbors.contains { $0["address"] as? String == "10.11.0.2" && $0["mac"] is String },
                "the peer's MAC was not learned for its address: \(status)")
        #expect(peers.first?["path_mtu"] as? Int == 1450, "\(status)")
        #expect(status["errors"] as? Int == 0, "\(status)")

        let (_, flows) = try ProxyFixture.run(in: pair.a, [ProxyFixture.netlab, "proxy", "flows", "--top", "5"])
        #expect(flows.contains("10.11.0.1:") && flows.contains("10.11.0.2:7001"), "\(flows)")
        #expect(flows.contains("[fd11::1]:7002"), "\(flows)")

        let (_, metrics) = try ProxyFixture.run(in: pair.a, ["python3", "-c",
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9108/metrics', timeout=5).read().decode())"])
        #expect(metrics.contains("netlab_proxy_packets_total{"), "\(metrics)")
        #expect(metrics.contains("direction=\"out\""), "\(metrics)")
        #expect(metrics.contains("netlab_proxy_drops_total{reason=\"wrong_vni\"} 0"), "\(metrics)")
        #expect(metrics.contains("netlab_proxy_active_flows"), "\(metrics)")

        for proxy in [a, b] {
            let (code, log) = proxy.stop()
            #expect(code == 0, "\(log)")
        }
        for ns in [pair.a, pair.b] {
            #expect(try ProxyFixture.run(in: ns, ["ip", "link", "show", "vx0"]).0 != 0, "vx0 left in \(ns.name)")
        }
    }

    @Test("an IPv6 underlay carries both families")
    func ipv6Underlay() throws {
        let pair = try Pair(tag: "tnr\(getpid())", ipv6Underlay: true)
        defer { pair.remove() }
        let a = try ProxyFixture.RunningProxy(in: pair.a, config: pair.files[0])
        let b = try ProxyFixture.RunningProxy(in: pair.b, config: pair.files[1])
        #expect(try a.status()["mtu"] as? Int == 1430)
        for (ns, address) in [(pair.a, "10.11.0.2"), (pair.b, "fd11::1")] {
            let (ok, output) = try Self.ping(ns, address)
            #expect(ok, "\(ns.name) -> \(address): \(output)")
        }
        let t = try ProxyFixture.transfer(from: pair.a, to: pair.b, address: "fd11::2", port: 7003, bytes: 2 << 20)
        #expect(!t.sent.isEmpty && t.sent == t.received, "\(t)")
        _ = a.stop()
        _ = b.stop()
    }

    @Test("path MTU: a packet too big for the underlay gets ICMP back through the TUN, and TCP adapts")
    func pathMTU() throws {
        // The devices say 1500, but 1500 + 50 bytes of VXLAN do not fit the 1500-byte underlay.
        let pair = try Pair(tag: "tns\(getpid())", mtu: 1500)
        defer { pair.remove() }
        let a = try ProxyFixture.RunningProxy(in: pair.a, config: pair.files[0])
        let b = try ProxyFixture.RunningProxy(in: pair.b, config: pair.files[1])
        #expect(try Self.ping(pair.a, "10.11.0.2").0)
        let (ok, v4) = try Self.ping(pair.a, "10.11.0.2", ["-M", "do", "-s", "1472"])
        #expect(!ok && (v4.contains("mtu = 1450") || v4.contains("mtu=1450")), "\(v4)")
        let (ok6, v6) = try Self.ping(pair.a, "fd11::2", ["-M", "do", "-s", "1452"])
        #expect(!ok6 && (v6.contains("mtu = 1450") || v6.contains("mtu=1450")), "\(v6)")
        let drops = try a.status()["drops"] as? [String: Int] ?? [:]
        #expect((drops["too_big"] ?? 0) >= 2, "\(drops)")
        // Path MTU discovery takes the ICMP: a transfer with full-size segments completes.
        let t = try ProxyFixture.transfer(from: pair.a, to: pair.b, address: "10.11.0.2", port: 7004, bytes: 2 << 20)
        #expect(!t.sent.isEmpty && t.sent == t.received, "\(t)")
        _ = a.stop()
        _ = b.stop()
    }

    @Test("SIGHUP applies new routes while TCP runs; a bad file keeps the running configuration")
    func reload() throws {
        let tag = "tnh\(getpid())"
        let pair = try Pair(tag: tag)
        defer { pair.remove() }
        let a = try ProxyFixture.RunningProxy(in: pair.a, config: pair.files[0])
        let b = try ProxyFixture.RunningProxy(in: pair.b, config: pair.files[1])
        #expect(try Self.ping(pair.a, "10.11.0.2").0)
        let withRoute = Self.config(["10.11.0.1/24", "fd11::1/64"], listen: "10.89.0.1:4789", peer: "10.89.0.2:4789",
                                    routes: ["10.11.0.0/24", "fd11::/64", "10.12.0.0/24"])
        // 3 MiB at about 2 MiB/s: the reload lands in the middle of the transfer.
        let t = try ProxyFixture.transfer(from: pair.a, to: pair.b, address: "10.11.0.2", port: 7005, bytes: 3 << 20, pause: 0.03) {
            Thread.sleep(forTimeInterval: 0.5)
            try withRoute.write(toFile: pair.files[0], atomically: true, encoding: .utf8)
            a.signal(SIGHUP)
        }
        #expect(!t.sent.isEmpty && t.sent == t.received, "the transfer across the reload: \(t)")
        var status = try a.status()
        #expect(status["reloads"] as? Int == 1, "\(status)")
        let (_, routes) = try ProxyFixture.run(in: pair.a, ["ip", "route", "show", "10.12.0.0/24"])
        #expect(routes.contains("dev vx0"), "the new route is not in the device: \(routes)")

        try "[tun]\nname = \"vx0\"\n[[peers]]\nvni = \"forty-two\"\n".write(toFile: pair.files[0], atomically: true, encoding: .utf8)
        a.signal(SIGHUP)
        Thread.sleep(forTimeInterval: 0.5)
        status = try a.status()
        let error = status["last_reload_error"] as? String ?? ""
        #expect(error.contains("\(pair.files[0]):4: peers.0.vni") || error.contains("\(pair.files[0]):"), "\(status)")
        #expect(status["reloads"] as? Int == 1)
        #expect(try Self.ping(pair.a, "10.11.0.2").0, "the running configuration was not kept")
        let (code, log) = a.stop()
        #expect(code == 0)
        #expect(log.contains("reload refused"), "\(log)")
        _ = b.stop()
    }

    @Test("captures: --pcap-inner and --pcap-outer are read back by netlab decode")
    func captures() throws {
        let tag = "tnc\(getpid())"
        let inner = NSTemporaryDirectory() + "\(tag)-inner.pcap"
        let outer = NSTemporaryDirectory() + "\(tag)-outer.pcap"
        defer { for file in [inner, outer] { try? FileManager.default.removeItem(atPath: file) } }
        let pair = try Pair(tag: tag)
        defer { pair.remove() }
        let a = try ProxyFixture.RunningProxy(in: pair.a, config: pair.files[0], extra: ["--pcap-inner", inner, "--pcap-outer", outer])
        let b = try ProxyFixture.RunningProxy(in: pair.b, config: pair.files[1])
        #expect(try Self.ping(pair.a, "10.11.0.2").0)
        let (code, _) = a.stop()
        #expect(code == 0)
        _ = b.stop()
        let (_, innerText) = try ProxyFixture.sh([ProxyFixture.netlab, "decode", inner])
        #expect(innerText.contains("10.11.0.1 > 10.11.0.2") && innerText.contains("echo request"), "\(innerText)")
        #expect(innerText.contains("10.11.0.2 > 10.11.0.1") && innerText.contains("echo reply"), "\(innerText)")
        let (_, outerJSON) = try ProxyFixture.sh([ProxyFixture.netlab, "decode", outer, "--json", "udp"])
        #expect(outerJSON.contains("\"vxlan\"") && outerJSON.contains("\"vni\":42"), "\(outerJSON)")
        #expect(outerJSON.contains("10.89.0.1") && outerJSON.contains("10.11.0.2"), "\(outerJSON)")
    }
}
