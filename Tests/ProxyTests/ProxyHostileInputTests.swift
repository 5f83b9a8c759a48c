import Foundation
import Netlink
import Packet
@testable import Proxy
import Testing

/// The proxy under hostile input: datagrams that lie, spoofed sources, and local clients that
/// stall or flood its control socket and metrics endpoint. Every run is bounded in time and
/// sends only to addresses in the test's own namespaces and on loopback there.
@Suite("Proxy under hostile input", .serialized)
struct ProxyHostileInputTests {
    /// A proxy (namespace `a`, 10.10.0.1, metrics on 127.0.0.1:9108) and a kernel vxlan peer
    /// (namespace `b`, 10.10.0.2) on the underlay 10.88.7.0/24; `b` also holds 10.88.7.9, an
    /// address that is no peer.
    struct Lab {
        let a: NetworkNamespace
        let b: NetworkNamespace
        let config: String
        let proxy: ProxyFixture.RunningProxy

        init(tag: String) throws {
            (a, b) = try ProxyFixture.underlay(tag, a: "10.88.7.2", b: "10.88.7.1", prefix: 24)
            try ProxyFixture.setUp([
                ["ip", "-n", b.name, "addr", "add", "10.88.7.9/24", "dev", "eth0", "nodad"],
                ["ip", "-n", b.name, "link", "add", "vx", "type", "vxlan", "id", "42", "local", "10.88.7.1", "remote", "10.88.7.2",
                 "dstport", "4789", "dev", "eth0"],
                ["ip", "-n", b.name, "addr", "add", "10.10.0.2/24", "dev", "vx"],
                ["ip", "-n", b.name, "link", "set", "vx", "up"],
            ])
            config = try ProxyFixture.write("""
                [tun]
                name = "vx0"
                addresses = ["10.10.0.1/24"]
                [underlay]
                listen = "10.88.7.2:4789"
                [[peers]]
                endpoint = "10.88.7.1:4789"
                vni = 42
                routes = ["10.10.0.0/24"]
                [metrics]
                listen = "127.0.0.1:9108"
                """, name: "\(tag).toml")
            proxy = try ProxyFixture.RunningProxy(in: a, config: config)
        }

        func remove() {
            _ = proxy.stop()
            try? FileManager.default.removeItem(atPath: config)
            try? a.delete()
            try? b.delete()
        }

        /// The proxy's resident memory, in KiB.
        var residentKiB: Int {
            let text = (try? String(contentsOfFile: "/proc/\(proxy.process.processIdentifier)/status", encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }

        var drops: [String: Int] { (try? proxy.status()["drops"] as? [String: Int]) ?? [:] }
    }

    /// A copy of the netlab binary that any user can run, wherever the checkout lies.
    static func publicNetlab() throws -> (path: String, directory: String) {
        let directory = NSTemporaryDirectory() + "netlab-public-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let path = directory + "/netlab"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: ProxyFixture.netlab, toPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return (path, directory)
    }

    /// Runs `netlab ARGUMENTS` (the public copy) in `namespace` as user nobody.
    static func asNobody(_ binary: String, in namespace: NetworkNamespace, _ arguments: [String]) throws -> (Int32, String) {
        try ProxyFixture.run(in: namespace, ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", binary] + arguments)
    }

    /// Starts a Python program in `namespace` that ends by itself; the caller waits for it.
    static func start(in namespace: NetworkNamespace, user: String? = nil, _ program: String) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Another user runs Debian's python3: root's own interpreter may live where others cannot read.
        let drop = user.map { ["setpriv", "--reuid", $0, "--regid", $0, "--clear-groups", "/usr/bin/python3"] } ?? ["python3"]
        process.arguments = ["ip", "netns", "exec", namespace.name] + drop + ["-c", program]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return (process, output)
    }

    static func finish(_ started: (Process, Pipe)) -> String {
        let text = String(decoding: started.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        started.0.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Python that connects to the proxy's control socket.
    static let control = """
        import socket, time, threading
        def connect():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(5); s.connect("\\0netlab-proxy.vx0"); return s
        def ask(request):
            s = connect(); data = b""
            try: s.sendall(request)
            except OSError: pass        # a refusal may come, and the socket close, before the request is out
            while True:
                try: b = s.recv(65536)
                except ConnectionResetError: return data
                if not b: return data
                data += b

        """

    @Test("the control socket: others refused in one line, idle and oversized clients never hold the rest")
    func controlSocket() throws {
        let lab = try Lab(tag: "tns\(getpid())c")
        defer { lab.remove() }
        let binary = try Self.publicNetlab()
        defer { try? FileManager.default.removeItem(atPath: binary.directory) }

        let (refusedStatus, refused) = try Self.asNobody(binary.path, in: lab.a, ["proxy", "status"])
        #expect(refusedStatus == 1, "\(refused)")
        #expect(refused.contains("permission denied: run as root or join group netlab"), "\(refused)")
        let (_, flows) = try Self.asNobody(binary.path, in: lab.a, ["proxy", "flows", "--json"])
        #expect(flows.contains("permission denied") && !flows.contains("source_port"), "\(flows)")

        // Twenty clients that connect and say nothing, one that sends a line longer than any
        // request, then root asks: answered while they hang.
        let holders = try Self.start(in: lab.a, Self.control + """
            idle = [connect() for _ in range(20)]
            big = connect(); big.sendall(b"x" * 4096)
            print("big:", big.recv(200).decode().strip())
            time.sleep(3)
            print("idle closed by server:", sum(1 for s in idle if s.recv(10) == b""))
            """)
        Thread.sleep(forTimeInterval: 0.5)
        let (status, output) = try ProxyFixture.run(in: lab.a, [ProxyFixture.netlab, "proxy", "status", "--json"])
        #expect(status == 0 && output.contains("\"tun\":\"vx0\""), "\(output)")
        let report = Self.finish(holders)
        #expect(report.contains("big: {\"error\":\"request longer than 256 bytes\"}"), "\(report)")
        #expect(report.contains("idle closed by server: 20"), "the 2 s deadline did not close idle clients: \(report)")
    }

    @Test("metrics: a client that pipelines and never reads grows nothing, and others are still served")
    func metricsBackpressure() throws {
        let lab = try Lab(tag: "tns\(getpid())m")
        defer { lab.remove() }
        // Past the connection cap, more connections are closed at once; the cap frees again.
        let (_, capped) = try ProxyFixture.run(in: lab.a, ["python3", "-c", """
            import select, socket, time, urllib.request
            held = [socket.create_connection(("127.0.0.1", 9108)) for _ in range(80)]
            time.sleep(0.5)
            readable, _, _ = select.select(held, [], [], 0.5)
            closed = sum(1 for s in readable if s.recv(1) == b"")
            for s in held: s.close()
            time.sleep(0.3)
            ok = urllib.request.urlopen("http://127.0.0.1:9108/metrics", timeout=5).status
            print("closed", closed, "then", ok)
            """])
        #expect(capped.contains("closed 16 then 200"), "\(capped)")
        let before = lab.residentKiB
        // 16 MB of pipelined requests, never reading an answer (the fix's baseline grew ~72 MB
        // per MB); the sender gives up when the kernel stops taking them, after 10 s at most.
        let flood = try Self.start(in: lab.a, """
            import socket, time
            s = socket.create_connection(("127.0.0.1", 9108)); s.settimeout(2)
            request = b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" * 1000
            sent = 0; end = time.time() + 10
            try:
                while sent < 16 << 20 and time.time() < end: sent += s.send(request)
            except (socket.timeout, BlockingIOError, OSError): pass
            print("sent", sent)
            time.sleep(1)
            """)
        Thread.sleep(forTimeInterval: 1.5)
        let (scrapeStatus, scrape) = try ProxyFixture.run(in: lab.a, ["python3", "-c", """
            import urllib.request
            print(urllib.request.urlopen("http://127.0.0.1:9108/metrics", timeout=5).read().decode()[:20000])
            """])
        #expect(scrapeStatus == 0 && scrape.contains("netlab_proxy_uptime_seconds"), "\(scrape)")
        #expect(scrape.contains("netlab_proxy_path_mtu_bytes{peer=\"10.88.7.1:4789\",vni=\"42\"} 1450"), "\(scrape)")
        let during = lab.residentKiB
        let report = Self.finish(flood)
        #expect(report.hasPrefix("sent"), "\(report)")
        #expect(during - before < 32 * 1024, "RSS grew from \(before) to \(during) KiB under \(report)")
    }

    @Test("a soak: random, broken and spoofed datagrams, control and metrics clients as root and nobody, during a checked transfer")
    func soak() throws {
        let lab = try Lab(tag: "tns\(getpid())s")
        defer { lab.remove() }
        let binary = try Self.publicNetlab()
        defer { try? FileManager.default.removeItem(atPath: binary.directory) }
        #expect(try ProxyFixture.run(in: lab.b, ["ping", "-c", "1", "-W", "2", "10.10.0.1"]).0 == 0)
        let before = lab.residentKiB
        let dropsBefore = lab.drops

        // From the peer's own address (spoofing it is what an attacker on the underlay does)
        // and from one that is no peer. Counts per kind come back for the checks below.
        let proxyMAC = ProxyEngine.mac(vni: 42, listen: SocketEndpoint("10.88.7.2:4789")!)
        let hostile = try Self.start(in: lab.b, """
            import os, random, socket, struct, time
            random.seed(7)
            def udp(source):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((source, 0)); return s
            peer, stranger = udp("10.88.7.1"), udp("10.88.7.9")
            to = ("10.88.7.2", 4789)
            vx = lambda vni: bytes([8, 0, 0, 0]) + vni.to_bytes(3, "big") + b"\\0"
            us = bytes.fromhex("\(proxyMAC.description.replacingOccurrences(of: ":", with: ""))")
            them = bytes.fromhex("020000000077")
            def ipv4(total, proto=17, payload=b"", fix=True):
                h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, proto, 0,
                                          socket.inet_aton("10.10.0.2"), socket.inet_aton("10.10.0.1")))
                if fix:
                    s = sum(struct.unpack("!10H", h)); s = (s & 0xFFFF) + (s >> 16); s = (s & 0xFFFF) + (s >> 16)
                    h[10:12] = struct.pack("!H", ~s & 0xFFFF)
                return bytes(h) + payload
            def ipv6(length, payload=b""):
                return struct.pack("!IHBB16s16s", 6 << 28, length, 17, 64, socket.inet_pton(socket.AF_INET6, "fd00::2"),
                                   socket.inet_pton(socket.AF_INET6, "fd00::1")) + payload
            broken = [
                us + them + b"\\x08\\x00" + ipv4(400, payload=b"x" * 20),                  # total length past the frame
                us + them + b"\\x86\\xdd" + ipv6(300, b"y" * 12),                          # payload length past the frame
                us + them + b"\\x08\\x00" + ipv4(30, proto=6, payload=b"z" * 10),          # TCP header cut short
                us + them + b"\\x08\\x00" + ipv4(28, payload=b"w" * 8, fix=False),         # bad header checksum
                us + them + b"\\x08\\x00" + ipv4(40)[:12],                                 # IPv4 header cut short
            ]
            counts = dict(malformed=0, unknown_peer=0, wrong_vni=0, other_host=0, unsupported_frame=0, absorbed=0)
            end = time.time() + 8
            n = 0
            while time.time() < end and n < 3000:
                junk = bytearray(os.urandom(random.randint(0, 120)))
                if junk: junk[0] &= 0xF7                                                 # no I flag: never a VXLAN header
                peer.sendto(bytes(junk), to); counts["malformed"] += 1
                peer.sendto(vx(42) + broken[n % len(broken)], to); counts["malformed"] += 1
                stranger.sendto(vx(42) + us + them + b"\\x08\\x00" + ipv4(28, payload=b"s" * 8), to); counts["unknown_peer"] += 1
                peer.sendto(vx(43) + us + them + b"\\x08\\x00" + ipv4(28, payload=b"v" * 8), to); counts["wrong_vni"] += 1
                peer.sendto(vx(42) + bytes.fromhex("029999999999") + them + b"\\x08\\x00" + ipv4(28, payload=b"o" * 8), to); counts["other_host"] += 1
                peer.sendto(vx(42) + us + them + b"\\x88\\xcc" + b"lldp" * 10, to); counts["unsupported_frame"] += 1
                # A gratuitous ARP claiming the peer's inner address, and one claiming the proxy's: ignored.
                for claimed in ("10.10.0.2", "10.10.0.1"):
                    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + them + socket.inet_aton(claimed) + b"\\xff" * 6 + socket.inet_aton(claimed)
                    peer.sendto(vx(42) + b"\\xff" * 6 + them + b"\\x08\\x06" + arp, to); counts["absorbed"] += 1
                n += 1
                if n % 50 == 0: time.sleep(0.01)
            print(" ".join(f"{k}={v}" for k, v in counts.items()))
            """)
        // Local clients, as root and as nobody: status and flows requests, idle connections, scrapes.
        let rootClients = try Self.start(in: lab.a, Self.control + """
            import urllib.request
            answered, scraped = [0], [0]
            def worker():
                for i in range(15):
                    if ask(b"status\\n" if i % 2 else b"flows 5\\n").startswith((b"{", b"[")): answered[0] += 1
                    if urllib.request.urlopen("http://127.0.0.1:9108/metrics", timeout=5).status == 200: scraped[0] += 1
            idle = [connect() for _ in range(10)]
            threads = [threading.Thread(target=worker) for _ in range(8)]
            for t in threads: t.start()
            for t in threads: t.join()
            print("answered", answered[0], "scraped", scraped[0])
            """)
        let nobodyClients = try Self.start(in: lab.a, user: "65534", Self.control + """
            refused = 0
            for i in range(100):
                if ask(b"flows 100\\n").startswith(b'{"error":"permission denied'): refused += 1
            print("refused", refused)
            """)
        let t = try ProxyFixture.transfer(from: lab.b, to: lab.a, address: "10.10.0.1", port: 7300, bytes: 8 << 20, pause: 0.02)
        let sent = Self.finish(hostile)
        let root = Self.finish(rootClients)
        let nobody = Self.finish(nobodyClients)
        Thread.sleep(forTimeInterval: 0.3)

        #expect(lab.proxy.process.isRunning, "the proxy died")
        #expect(!t.sent.isEmpty && t.sent == t.received, "the transfer during the soak: \(t)")
        #expect(root == "answered 120 scraped 120", "\(root)")
        #expect(nobody == "refused 100", "\(nobody)")
        let (status, _) = try Self.asNobody(binary.path, in: lab.a, ["proxy", "status"])
        #expect(status == 1)

        // Every hostile datagram is in the drop counters, under its own reason.
        let expected = Dictionary(uniqueKeysWithValues: sent.split(separator: " ").compactMap { pair -> (String, Int)? in
            let parts = pair.split(separator: "=")
            return parts.count == 2 ? (String(parts[0]), Int(parts[1]) ?? -1) : nil
        })
        #expect((expected["malformed"] ?? 0) > 1000, "\(sent)")
        let drops = lab.drops
        for reason in ["malformed", "unknown_peer", "wrong_vni", "other_host", "unsupported_frame"] {
            #expect((drops[reason] ?? 0) - (dropsBefore[reason] ?? 0) == expected[reason],
                    "\(reason): counted \((drops[reason] ?? 0) - (dropsBefore[reason] ?? 0)), sent \(expected[reason] ?? -1)")
        }
        let neighbors = (try lab.proxy.status()["neighbors"] as? [[String: Any]]) ?? []
        #expect(!neighbors.contains { $0["mac"] as? String == "02:00:00:00:00:77" }, "a forged ARP took: \(neighbors)")
        let after = lab.residentKiB
        #expect(after - before < 32 * 1024, "RSS grew from \(before) to \(after) KiB")
    }
}
