import Foundation
import Netlink
import Packet
import Testing
import Tun

/// TUN devices in namespaces this test makes: packets in, packets out, queues, offloads.
@Suite("TUN devices", .serialized)
struct TunDeviceTests {
    static let prefix = "tnt\(getpid())"

    /// A namespace with a TUN device at 10.97.0.1/24 (IPv6 off, so no router solicitations).
    static func deviceInNamespace(_ tag: String, _ configuration: TunDevice.Configuration)
        throws -> (NetworkNamespace, TunDevice)
    {
        let ns = try NetworkNamespace.create("\(prefix)-\(tag)")
        do {
            let device = try ns.run {
                let device = try TunDevice(configuration)
                try NetworkNamespace.writeSysctl("net.ipv6.conf.\(device.name).disable_ipv6", "1")
                let socket = try RouteSocket()
                try socket.change("lo", up: true)
                try socket.addAddress(IPPrefix("10.97.0.1/24")!, to: device.name)
                try socket.change(device.name, up: true)
                return Box(device)
            }.value
            return (ns, device)
        } catch {
            try? ns.delete()
            throw error
        }
    }

    /// Sends one UDP datagram from inside `ns`.
    static func sendUDP(in ns: NetworkNamespace, to address: String, port: UInt16, sourcePort: UInt16 = 0, _ payload: String) throws {
        try ns.run {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(fd) }
            if sourcePort != 0 {
                var local = sockaddr_in()
                local.sin_family = sa_family_t(AF_INET)
                local.sin_port = sourcePort.bigEndian
                _ = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            }
            var target = sockaddr_in()
            target.sin_family = sa_family_t(AF_INET)
            target.sin_port = port.bigEndian
            inet_pton(AF_INET, address, &target.sin_addr)
            let sent = payload.withCString { text in
                withUnsafePointer(to: &target) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, text, strlen(text), 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            guard sent >= 0 else { throw NetlinkError("sendto", reason: String(cString: strerror(errno))) }
        }
    }

    /// Reads packets from `queue` for up to a second until one satisfies `match`.
    static func readUntil(_ queue: TunQueue, batch: PacketBatch, _ match: (UnsafeRawBufferPointer) -> Bool) throws -> Bool {
        let poller = try TunPoller([queue])
        for _ in 0..<20 {
            _ = poller.wait(milliseconds: 50)
            let n = try queue.read(into: batch)
            for i in 0..<n where match(batch.packet(i)) { return true }
        }
        return false
    }

    @Test("a ping and a UDP datagram routed into the device arrive and parse")
    func inbound() throws {
        let (ns, device) = try Self.deviceInNamespace("in", .init(name: "tun0"))
        defer { device.close(); try? ns.delete() }
        #expect(device.name == "tun0")
        try Self.sendUDP(in: ns, to: "10.97.0.2", port: 5353, "hello tun")
        let batch = PacketBatch()
        let sawUDP = try Self.readUntil(device.queues[0], batch: batch) { bytes in
            var walker = LayerWalker(bytes, linkType: .raw)
            guard case let .ipv4(ip)?? = try? walker.next(), ip.destination.description == "10.97.0.2",
                  case let .udp(udp, context)?? = try? walker.next(), udp.destinationPort == 5353,
                  case let .payload(data)?? = try? walker.next()
            else { return false }
            return String(decoding: data, as: UTF8.self) == "hello tun" && udp.checksumStatus(in: context) == true
        }
        #expect(sawUDP)
        let pinger = Process()
        pinger.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        pinger.arguments = ["ip", "netns", "exec", ns.name, "ping", "-c", "1", "-W", "1", "10.97.0.9"]
        pinger.standardOutput = FileHandle.nullDevice
        try pinger.run()
        let sawPing = try Self.readUntil(device.queues[0], batch: batch) { bytes in
            var walker = LayerWalker(bytes, linkType: .raw)
            _ = try? walker.next()
            guard case let .icmp(icmp, context)?? = try? walker.next() else { return false }
            return icmp.type == 8 && icmp.checksumStatus(in: context) == true
        }
        pinger.waitUntilExit()
        #expect(sawPing)
    }

    @Test("a poller says which of its queue and its other descriptors became readable")
    func readiness() throws {
        let (ns, device) = try Self.deviceInNamespace("rdy", .init(name: "tun5"))
        defer { device.close(); try? ns.delete() }
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        let poller = try TunPoller([device.queues[0]])
        #expect(try poller.add(descriptor: ends[0]) == 0)
        #expect(poller.waitForReadiness(milliseconds: 0).isEmpty)

        var byte: UInt8 = 1
        #expect(write(ends[1], &byte, 1) == 1)
        #expect(poller.waitForReadiness(milliseconds: 1000) == TunPoller.Readiness(queues: 0, descriptors: 1))
        #expect(read(ends[0], &byte, 1) == 1)

        try Self.sendUDP(in: ns, to: "10.97.0.2", port: 5353, "ready?")
        let index = UInt64(device.queues[0].index)
        #expect(poller.waitForReadiness(milliseconds: 1000) == TunPoller.Readiness(queues: 1 << index, descriptors: 0))

        poller.stop()
        #expect(poller.waitForReadiness(milliseconds: 1000).isEmpty)
        #expect(poller.isStopped)
    }

    @Test("a packet written to the device reaches a UDP socket with its bytes intact")
    func outbound() throws {
        let (ns, device) = try Self.deviceInNamespace("out", .init(name: "tun1"))
        defer { device.close(); try? ns.delete() }
        let message = Array("written by netlab".utf8)
        let box = Box(device)
        let received: String = try ns.run {
            let device = box.value
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(fd) }
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_port = UInt16(7777).bigEndian
            inet_pton(AF_INET, "10.97.0.1", &local.sin_addr)
            _ = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var packet = [UInt8](repeating: 0, count: 28 + message.count)
            try packet.withUnsafeMutableBytes { raw in
                let ip = raw
                try IPv4Header.write(into: ip, source: IPv4Address("10.97.0.2")!, destination: IPv4Address("10.97.0.1")!,
                                     protocolNumber: IPProtocol.udp, totalLength: raw.count)
                let udp = UnsafeMutableRawBufferPointer(rebasing: raw[20...])
                for (i, byte) in message.enumerated() { udp[8 + i] = byte }
                try UDPHeader.write(into: udp, sourcePort: 4444, destinationPort: 7777, payloadLength: message.count,
                                    checksumContext: IPContext(addresses: UnsafeRawBufferPointer(rebasing: raw[12..<20]),
                                                               upperLayerLength: udp.count, isFragment: false))
            }
            try packet.withUnsafeBytes { try device.queues[0].write($0) }
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : "nothing (errno \(errno))"
        }
        #expect(received == "written by netlab")
    }

    @Test("multi-queue: flows spread over the queues")
    func multiQueue() throws {
        let (ns, device) = try Self.deviceInNamespace("mq", .init(name: "tunmq", queues: 2))
        defer { device.close(); try? ns.delete() }
        #expect(device.queues.count == 2)
        for port in 0..<32 {
            try Self.sendUDP(in: ns, to: "10.97.0.2", port: 9000, sourcePort: UInt16(20_000 + port), "flow \(port)")
        }
        Thread.sleep(forTimeInterval: 0.2)
        let batch = PacketBatch()
        var perQueue: [Int] = []
        for queue in device.queues {
            var total = 0
            while true {
                let n = try queue.read(into: batch)
                if n == 0 { break }
                total += n
            }
            perQueue.append(total)
        }
        #expect(perQueue.reduce(0, +) >= 32)
        #expect(perQueue.allSatisfy { $0 > 0 }, "per queue: \(perQueue)")
    }

    @Test("errors: a long name, and attaching with other flags, say what to do")
    func errors() throws {
        #expect(throws: TunError.nameTooLong(name: "averyveryverylongname")) {
            try TunDevice(.init(name: "averyveryverylongname"))
        }
        // Refused before anything is opened: the queue's offload code reads IP, not Ethernet.
        #expect(throws: TunError.offloadsNeedTUN(name: "tapx")) {
            try TunDevice(.init(name: "tapx", mode: .tap, offloads: .standard))
        }
        let ns = try NetworkNamespace.create("\(Self.prefix)-err")
        defer { try? ns.delete() }
        let message: String = try ns.run {
            let device = try TunDevice(.init(name: "tunx", queues: 2))
            defer { device.close() }
            do {
                _ = try TunDevice(.init(name: "tunx", queues: 1))
                return "attached"
            } catch {
                return "\(error)"
            }
        }
        #expect(message.contains("tunx") && message.contains("multi-queue"), "\(message)")
    }

    @Test("configured through netlink: IPv6 address, MTU, a route through it, and moved to another namespace")
    func configureAndMove() throws {
        let a = try NetworkNamespace.create("\(Self.prefix)-mva")
        defer { try? a.delete() }
        let b = try NetworkNamespace.create("\(Self.prefix)-mvb")
        defer { try? b.delete() }
        let (addresses, routes, mtu): ([String], [String], Int) = try a.run {
            let device = try TunDevice(.init(name: "tunmv"))
            let socket = try RouteSocket()
            try socket.change("tunmv", up: true, mtu: 1280)
            try socket.addAddress(IPPrefix("fd00:95::1/64")!, to: "tunmv")
            try socket.addRoute(to: IPPrefix("10.95.0.0/16"), via: nil, device: "tunmv", ipv6: false)
            let result = (try socket.addresses().map(\.prefix.description), try socket.routes().map(\.destinationText),
                          try socket.links().first { $0.name == "tunmv" }?.mtu ?? 0)
            try socket.change("tunmv", namespace: b)
            device.close()
            return result
        }
        #expect(addresses.contains("fd00:95::1/64"))
        #expect(routes.contains("10.95.0.0/16"))
        #expect(mtu == 1280)
        // The queue was closed after the move, so the (non-persistent) device went with it;
        // a persistent one stays in its new namespace.
        try a.run {
            let device = try TunDevice(.init(name: "tunmv2", persistent: true))
            try RouteSocket().change("tunmv2", namespace: b)
            device.close()
        }
        let inB = try b.run { try RouteSocket().links().map(\.name) }
        let inA = try a.run { try RouteSocket().links().map(\.name) }
        #expect(inB.contains("tunmv2"))
        #expect(!inA.contains("tunmv2"))
    }

    @Test("the device is gone after close, and persistent devices stay until asked")
    func lifetime() throws {
        let ns = try NetworkNamespace.create("\(Self.prefix)-life")
        defer { try? ns.delete() }
        let names: [String] = try ns.run {
            let temporary = try TunDevice(.init(name: "tmp0"))
            temporary.close()
            let persistent = try TunDevice(.init(name: "keep0", persistent: true))
            persistent.close()
            let afterClose = try RouteSocket().links().map(\.name)
            let again = try TunDevice(.init(name: "keep0"))
            try again.removePersistence()
            again.close()
            return afterClose + ["|"] + (try RouteSocket().links().map(\.name))
        }
        #expect(names == ["lo", "keep0", "|", "lo"])
    }
}

/// Carries a device out of the namespace thread that made it.
struct Box<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
