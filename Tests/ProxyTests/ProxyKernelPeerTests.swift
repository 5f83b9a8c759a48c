import Foundation
import Netlink
import Testing

/// `netlab proxy` against a Linux vxlan device, in namespaces this test makes.
@Suite("Proxy with a kernel vxlan peer", .serialized)
struct ProxyKernelPeerTests {
    static var netlab: String { ProxyFixture.netlab }

    @discardableResult
    static func sh(_ arguments: [String]) throws -> (Int32, String) { try ProxyFixture.sh(arguments) }

    @Test("ping both ways, a checked TCP transfer, unknown-peer and wrong-VNI drops counted, no device left")
    func kernelPeer() throws {
        let tag = "tnp\(getpid())"
        let kernel = try NetworkNamespace.create("\(tag)k")
        defer { try? kernel.delete() }
        let proxy = try NetworkNamespace.create("\(tag)p")
        defer { try? proxy.delete() }
        for command in [
            ["ip", "-n", kernel.name, "link", "set", "lo", "up"], ["ip", "-n", proxy.name, "link", "set", "lo", "up"],
            ["ip", "-n", kernel.name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", proxy.name],
            ["ip", "-n", kernel.name, "addr", "add", "10.88.0.1/24", "dev", "eth0"],
            ["ip", "-n", kernel.name, "addr", "add", "10.88.0.9/24", "dev", "eth0"],
            ["ip", "-n", proxy.name, "addr", "add", "10.88.0.2/24", "dev", "eth0"],
            ["ip", "-n", kernel.name, "link", "set", "eth0", "up"], ["ip", "-n", proxy.name, "link", "set", "eth0", "up"],
            ["ip", "-n", kernel.name, "link", "add", "vx", "type", "vxlan", "id", "42", "local", "10.88.0.1", "remote",
             "10.88.0.2", "dstport", "4789", "dev", "eth0"],
            ["ip", "-n", kernel.name, "addr", "add", "10.10.0.2/24", "dev", "vx"],
            ["ip", "-n", kernel.name, "link", "set", "vx", "up"],
        ] {
            let (status, output) = try Self.sh(command)
            #expect(status == 0, "\(command.joined(separator: " ")): \(output)")
        }
        let config = NSTemporaryDirectory() + "\(tag).toml"
        try """
            [tun]
            name = "vx0"
            addresses = ["10.10.0.1/24"]
            [underlay]
            listen = "10.88.0.2:4789"
            [[peers]]
            endpoint = "10.88.0.1:4789"
            vni = 42
            routes = ["10.10.0.0/24"]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }

        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        daemon.arguments = ["ip", "netns", "exec", proxy.name, Self.netlab, "proxy", "--config", config]
        let log = Pipe()
        daemon.standardError = log
        try daemon.run()
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        var ready = false
        for _ in 0..<50 where !ready {
            Thread.sleep(forTimeInterval: 0.1)
            ready = (try? Self.sh(["ip", "-n", proxy.name, "link", "show", "vx0"]))?.0 == 0
        }
        #expect(ready, "the proxy did not create vx0")

        #expect(try Self.sh(["ip", "netns", "exec", kernel.name, "ping", "-c", "2", "-W", "2", "10.10.0.1"]).0 == 0)
        #expect(try Self.sh(["ip", "netns", "exec", proxy.name, "ping", "-c", "2", "-W", "2", "10.10.0.2"]).0 == 0)

        // 3 MiB from the kernel side (default offloads: its TCP checksums arrive partial) to the proxy side.
        let t = try ProxyFixture.transfer(from: kernel, to: proxy, address: "10.10.0.1", port: 7000, bytes: 3 << 20)
        #expect(!t.sent.isEmpty && t.sent == t.received, "\(t)")

        // A VXLAN datagram from an address that is no peer, and one from the peer with another VNI.
        for (source, vni) in [("10.88.0.9", 42), ("10.88.0.1", 43)] {
            _ = try Self.sh(["ip", "netns", "exec", kernel.name, "python3", "-c", """
                import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("\(source)", 0))
                s.sendto(bytes([8, 0, 0, 0, 0, 0, \(vni), 0]) + bytes(60), ("10.88.0.2", 4789))
                """])
        }
        Thread.sleep(forTimeInterval: 0.3)
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        let output = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(daemon.terminationStatus == 0, "\(output)")
        #expect(output.contains("unknown_peer=1"), "\(output)")
        #expect(output.contains("wrong_vni=1"), "\(output)")
        #expect(try Self.sh(["ip", "-n", proxy.name, "link", "show", "vx0"]).0 != 0, "vx0 left behind")
    }

    @Test("a malformed configuration fails with its line, and nothing is created")
    func badConfig() throws {
        let config = NSTemporaryDirectory() + "tnpbad\(getpid()).toml"
        try "[tun]\nname = \"vx9\"\n[underlay]\nlisten = \"10.0.0.1\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let (status, output) = try Self.sh([Self.netlab, "proxy", "--config", config])
        #expect(status == 1)
        #expect(output.contains("\(config):4: underlay.listen:"), "\(output)")
        #expect(try Self.sh(["ip", "link", "show", "vx9"]).0 != 0)
    }
}
