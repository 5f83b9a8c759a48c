import Foundation
import Testing

/// Real traffic in namespaces this test makes, captured by tcpdump, decoded by netlab.
@Suite("Decode of live captures", .serialized)
struct LiveCaptureTests {
    init() {
        TestNamespace.sweepStale()
    }

    /// Two namespaces joined by a veth pair with IPv4 and IPv6 addresses.
    static func pair(_ tag: String) throws -> (TestNamespace, TestNamespace) {
        let a = try TestNamespace("\(tag)a")
        let b: TestNamespace
        do { b = try TestNamespace("\(tag)b") } catch { a.remove(); throw error }
        do {
            try a.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b.name])
            for (ns, last) in [(a, 1), (b, 2)] {
                try ns.exec(["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"])
                try ns.exec(["sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"])
                try ns.exec(["ip", "addr", "add", "10.250.0.\(last)/24", "dev", "eth0"])
                try ns.exec(["ip", "addr", "add", "fd00:250::\(last)/64", "dev", "eth0", "nodad"])
                try ns.exec(["ip", "link", "set", "eth0", "up"])
            }
        } catch {
            a.remove()
            b.remove()
            throw error
        }
        return (a, b)
    }

    @Test("ICMP, ICMPv6, UDP and TCP over a veth pair decode with valid checksums")
    func vethTraffic() throws {
        let (a, b) = try Self.pair("v")
        defer { a.remove(); b.remove() }
        let path = NSTemporaryDirectory() + "netlab-test-\(getpid())-veth.pcap"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let capture = try TcpdumpCapture(namespace: b, interface: "eth0", path: path, filter: ["not", "arp"])
        defer { capture.stop() }
        try a.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.250.0.2"])
        try a.exec(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "fd00:250::2"])
        // A TCP exchange with a listener in b; Python is part of the base system.
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["ip", "netns", "exec", b.name, "python3", "-c", """
            import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('10.250.0.2', 5555)); s.listen(1); s.settimeout(10); c,_=s.accept(); c.sendall(c.recv(100)); c.close()
            """]
        try server.run()
        try a.exec(["python3", "-c", """
            import socket, time
            for i in range(50):
                try: c=socket.create_connection(('10.250.0.2', 5555), timeout=2); break
                except OSError: time.sleep(0.1)
            c.sendall(b'netlab'*10); c.recv(100); c.close()
            u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b'datagram', ('10.250.0.2', 9999))
            """])
        server.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.3)
        capture.stop()

        let lines = try Decoding.lines(of: path)
        let stacks = try lines.map { try Decoding.layerNames($0) }
        #expect(stacks.contains(["ethernet", "ipv4", "icmp", "payload"]))
        #expect(stacks.contains(["ethernet", "ipv6", "icmpv6", "payload"]))
        #expect(stacks.contains(["ethernet", "ipv4", "tcp"]))
        #expect(stacks.contains(["ethernet", "ipv4", "tcp", "payload"]))
        #expect(stacks.contains(["ethernet", "ipv4", "udp", "payload"]))
        for line in lines {
            #expect(try Decoding.object(line)["error"] is NSNull, "\(line)")
            for layer in try Decoding.layers(line) where layer["checksum_ok"] != nil {
                // veth hands frames to tcpdump before checksum offload completes them on the
                // sending side; the receiving side's copy is complete.
                if layer["checksum_ok"] is NSNull { continue }
                if (layer["layer"] as? String) == "ipv4" || (layer["layer"] as? String) == "icmp" {
                    #expect(layer["checksum_ok"] as? Bool == true, "\(line)")
                }
            }
        }
    }

    @Test("a kernel vxlan overlay: outer and inner layers, inner ICMP checksum valid")
    func kernelVXLAN() throws {
        let (a, b) = try Self.pair("x")
        defer { a.remove(); b.remove() }
        for (ns, local, remote, last) in [(a, "10.250.0.1", "10.250.0.2", 1), (b, "10.250.0.2", "10.250.0.1", 2)] {
            try ns.exec(["ip", "link", "add", "vx0", "type", "vxlan", "id", "42", "local", local, "remote", remote,
                         "dstport", "4789", "dev", "eth0"])
            try ns.exec(["ip", "addr", "add", "10.251.0.\(last)/24", "dev", "vx0"])
            try ns.exec(["ip", "link", "set", "vx0", "up"])
        }
        let path = NSTemporaryDirectory() + "netlab-test-\(getpid())-vxlan.pcap"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let capture = try TcpdumpCapture(namespace: b, interface: "eth0", path: path, filter: ["udp", "port", "4789"])
        defer { capture.stop() }
        try a.exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.251.0.2"])
        Thread.sleep(forTimeInterval: 0.3)
        capture.stop()

        let lines = try Decoding.lines(of: path)
        let echo = try lines.filter {
            try Decoding.layerNames($0) == ["ethernet", "ipv4", "udp", "vxlan", "ethernet", "ipv4", "icmp", "payload"]
        }
        #expect(echo.count >= 3)
        let arp = try lines.filter { try Decoding.layerNames($0) == ["ethernet", "ipv4", "udp", "vxlan", "ethernet", "arp"] }
        #expect(!arp.isEmpty)
        for line in echo {
            let layers = try Decoding.layers(line)
            #expect(layers[3]["vni"] as? Int == 42)
            #expect(layers[3]["flags"] as? Int == 8)
            #expect(layers[5]["src"] as? String == "10.251.0.1" || layers[5]["src"] as? String == "10.251.0.2")
            #expect(layers[6]["checksum_ok"] as? Bool == true)
            #expect(layers[1]["checksum_ok"] as? Bool == true)
            #expect(layers[2]["length"] as? Int == (layers[1]["total_length"] as? Int ?? 0) - 20)
            // The outer UDP checksum is not asserted: over veth the kernel leaves it partial
            // (pseudo-header only, CHECKSUM_PARTIAL), so it reads as false; that is the wire truth.
        }
    }

    @Test("a capture on `any` is LINUX_SLL2 and decodes")
    func anyInterface() throws {
        let (a, b) = try Self.pair("s")
        defer { a.remove(); b.remove() }
        let path = NSTemporaryDirectory() + "netlab-test-\(getpid())-any.pcap"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let capture = try TcpdumpCapture(namespace: b, interface: "any", path: path, filter: ["icmp"])
        defer { capture.stop() }
        try a.exec(["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.250.0.2"])
        Thread.sleep(forTimeInterval: 0.3)
        capture.stop()
        let lines = try Decoding.lines(of: path)
        #expect(lines.count >= 4)
        for line in lines {
            #expect(try Decoding.layerNames(line) == ["sll", "ipv4", "icmp", "payload"])
        }
    }
}
