import Foundation
import Netlink
import Testing

/// The proxy against a kernel vxlan peer that is a bridge port with two hosts behind it: the
/// usual shape of a Linux VTEP, where one peer stands for many inner MACs.
@Suite("Proxy with a bridged kernel vxlan peer", .serialized)
struct ProxyBridgedPeerTests {
    static let mac1 = "02:00:00:00:11:01"
    static let mac2 = "02:00:00:00:11:02"

    @Test("TCP to two hosts behind one peer at once, while broadcasts, foreign ARP and forged gratuitous ARP arrive from it")
    func twoHostsBehindOnePeer() throws {
        let tag = "tnb\(getpid())"
        let (proxyNS, vtep) = try ProxyFixture.underlay(tag, a: "10.88.1.2", b: "10.88.1.1", prefix: 24)
        defer { try? proxyNS.delete() }
        defer { try? vtep.delete() }
        let h1 = try NetworkNamespace.create("\(tag)h1")
        defer { try? h1.delete() }
        let h2 = try NetworkNamespace.create("\(tag)h2")
        defer { try? h2.delete() }
        var commands: [[String]] = [
            ["ip", "-n", vtep.name, "link", "add", "vx", "type", "vxlan", "id", "42", "local", "10.88.1.1", "remote", "10.88.1.2",
             "dstport", "4789", "dev", "eth0"],
            ["ip", "-n", vtep.name, "link", "add", "br0", "type", "bridge"],
            ["ip", "-n", vtep.name, "link", "set", "vx", "master", "br0", "up"],
            ["ip", "-n", vtep.name, "link", "set", "br0", "up"],
        ]
        for (host, address, mac, port) in [(h1, "10.10.0.11", Self.mac1, "p1"), (h2, "10.10.0.12", Self.mac2, "p2")] {
            commands += [
                ["ip", "-n", host.name, "link", "set", "lo", "up"],
                ["ip", "-n", vtep.name, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", host.name],
                ["ip", "-n", vtep.name, "link", "set", port, "master", "br0", "up"],
                ["ip", "-n", host.name, "link", "set", "eth0", "address", mac, "mtu", "1450", "up"],
                ["ip", "-n", host.name, "addr", "add", "\(address)/24", "dev", "eth0"],
            ]
        }
        try ProxyFixture.setUp(commands)
        let config = try ProxyFixture.write("""
            [tun]
            name = "vx0"
            addresses = ["10.10.0.1/24"]
            [underlay]
            listen = "10.88.1.2:4789"
            [[peers]]
            endpoint = "10.88.1.1:4789"
            vni = 42
            routes = ["10.10.0.0/24"]
            """, name: "\(tag).toml")
        defer { try? FileManager.default.removeItem(atPath: config) }
        let proxy = try ProxyFixture.RunningProxy(in: proxyNS, config: config)

        // From behind the peer, for 4 s (bounded): broadcast UDP, ARP requests for an address
        // nobody has, and gratuitous ARP replies claiming h1's address for a forged MAC, all
        // from h2's port of the bridge.
        let noise = Process()
        noise.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        noise.arguments = ["ip", "netns", "exec", h2.name, "python3", "-c", """
            import socket, struct, time, os
            raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); raw.bind(("eth0", 0))
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            ip = lambda s: socket.inet_aton(s)
            def arp(op, smac, sip, tip, dst=b"\\xff" * 6):
                return dst + smac + b"\\x08\\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + smac + ip(sip) + b"\\0" * 6 + ip(tip)
            end = time.time() + 4
            n = 0
            while time.time() < end:
                forged = b"\\x02\\xee" + os.urandom(4)
                raw.send(arp(1, forged, "10.10.0.11", "10.10.0.99"))     # who has .99? tell .11 (at a forged MAC)
                raw.send(arp(2, forged, "10.10.0.11", "10.10.0.11"))     # gratuitous: .11 is at a forged MAC
                udp.sendto(b"x" * 32, ("10.10.0.255", 9))
                n += 1
                time.sleep(0.005)
            print(n)
            """]
        try noise.run()
        defer { if noise.isRunning { kill(noise.processIdentifier, SIGKILL) } }
        Thread.sleep(forTimeInterval: 0.3)

        var second: (sent: String, received: String) = ("", "")
        let first = try ProxyFixture.transfer(from: proxyNS, to: h1, address: "10.10.0.11", port: 7100, bytes: 3 << 20, pause: 0.02) {
            second = try ProxyFixture.transfer(from: proxyNS, to: h2, address: "10.10.0.12", port: 7101, bytes: 3 << 20, pause: 0.02)
        }
        noise.waitUntilExit()
        #expect(!first.sent.isEmpty && first.sent == first.received, "to h1: \(first)")
        #expect(!second.sent.isEmpty && second.sent == second.received, "to h2: \(second)")

        let status = try proxy.status()
        let neighbors = status["neighbors"] as? [[String: Any]] ?? []
        let macs = Dictionary(neighbors.compactMap { n in (n["address"] as? String).map { ($0, n["mac"] as? String ?? "") } },
                              uniquingKeysWith: { a, _ in a })
        #expect(macs["10.10.0.11"] == Self.mac1, "h1's entry: \(neighbors)")
        #expect(macs["10.10.0.12"] == Self.mac2, "h2's entry: \(neighbors)")
        let drops = status["drops"] as? [String: Int] ?? [:]
        #expect((drops["other_host"] ?? 0) > 0, "ARP requests for .99 were not counted as other_host: \(drops)")
        let (code, log) = proxy.stop()
        #expect(code == 0, "\(log)")
    }
}
