import Packet
@testable import Proxy
import Testing

@Suite("Proxy engine")
struct ProxyEngineTests {
    static let peerMAC = MACAddress("02:00:00:00:00:bb")!

    static func engine(neighbors: NeighborTable = NeighborTable()) throws -> ProxyEngine {
        let config = try ProxyConfigurationParser.parse("""
            [tun]
            addresses = ["10.10.0.1/24"]
            [underlay]
            listen = "192.0.2.1:4789"
            [[peers]]
            endpoint = "192.0.2.2:4789"
            vni = 42
            routes = ["10.10.0.0/24"]
            """, file: "p.toml")
        return ProxyEngine(configuration: config, mtu: 1450, neighbors: neighbors)
    }

    /// A VXLAN payload: header for `vni`, Ethernet from the peer, then `inner`.
    static func vxlan(vni: UInt32, etherType: UInt16, _ inner: [UInt8], destination: MACAddress = ProxyEngine.mac(vni: 42, listen: SocketEndpoint("192.0.2.1:4789")!)) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 22) + inner
        bytes.withUnsafeMutableBytes { raw in
            _ = try? VXLANHeader.write(into: raw, vni: vni)
            _ = try? EthernetHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: raw[8...]), destination: destination,
                                          source: peerMAC, etherType: etherType)
        }
        return bytes
    }

    /// IPv4/TCP from 10.10.0.2 to 10.10.0.1 with the checksum left partial, as a kernel peer sends it over veth.
    static func partialTCP() -> [UInt8] {
        var packet = [UInt8](repeating: 0x61, count: 20 + 20 + 100)
        packet.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.10.0.2")!, destination: IPv4Address("10.10.0.1")!,
                                      protocolNumber: IPProtocol.tcp, totalLength: raw.count)
            let tcp: [UInt8] = [0x9C, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0x01, 0x00, 0, 0, 0, 0]
            for (i, b) in tcp.enumerated() { raw[20 + i] = b }
            let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: raw[12..<20]), upperLayerLength: 120, isFragment: false)
            let partial = context.pseudoHeaderSum(protocolNumber: IPProtocol.tcp, length: 120).folded
            raw[36] = UInt8(partial >> 8)
            raw[37] = UInt8(partial & 0xFF)
        }
        return packet
    }

    /// The engine's answer, the packet it delivered (empty if none) and the reply buffer.
    static func ingress(_ engine: ProxyEngine, _ datagram: [UInt8], from source: String) -> (ProxyEngine.Ingress, [UInt8], [UInt8]) {
        var buffer = datagram
        var reply = [UInt8](repeating: 0, count: 2048)
        let result = buffer.withUnsafeMutableBytes { d in
            reply.withUnsafeMutableBytes { r in engine.ingress(d, from: IPAddress(source)!, reply: r) }
        }
        var delivered: [UInt8] = []
        if case let .deliver(_, start, length) = result { delivered = Array(buffer[start..<(start + length)]) }
        return (result, delivered, reply)
    }

    @Test("an inner TCP packet with a partial checksum reaches the TUN device complete, and its sender's MAC is learned")
    func ingressTCP() throws {
        let neighbors = NeighborTable()
        let engine = try Self.engine(neighbors: neighbors)
        // Ethernet padding after the datagram must not reach the TUN device.
        let (result, tun, _) = Self.ingress(engine, Self.vxlan(vni: 42, etherType: EtherType.ipv4, Self.partialTCP() + [0, 0, 0]),
                                            from: "192.0.2.2")
        #expect(result == .deliver(peer: 0, start: 22, length: 140))
        #expect(neighbors.lookup(NeighborKey(vni: 42, address: IPAddress("10.10.0.2")!))?.mac == Self.peerMAC)
        Array(tun[..<140]).withUnsafeBytes { raw in
            var walker = LayerWalker(raw, linkType: .raw)
            _ = try? walker.next()
            guard case let .tcp(tcp, context)?? = try? walker.next() else {
                Issue.record("no TCP")
                return
            }
            #expect(tcp.checksumStatus(in: context) == true)
        }
    }

    @Test("unknown peers, wrong VNIs and malformed datagrams are dropped by reason")
    func drops() throws {
        let engine = try Self.engine()
        let frame = Self.vxlan(vni: 42, etherType: EtherType.ipv4, Self.partialTCP())
        #expect(Self.ingress(engine, frame, from: "192.0.2.9").0 == .drop(.unknownPeer))
        #expect(Self.ingress(engine, Self.vxlan(vni: 43, etherType: EtherType.ipv4, Self.partialTCP()), from: "192.0.2.2").0 == .drop(.wrongVNI))
        #expect(Self.ingress(engine, Array(frame.prefix(12)), from: "192.0.2.2").0 == .drop(.malformed))
        var noIFlag = frame
        noIFlag[0] = 0
        #expect(Self.ingress(engine, noIFlag, from: "192.0.2.2").0 == .drop(.malformed))
        #expect(Self.ingress(engine, Self.vxlan(vni: 42, etherType: 0x88CC, [1, 2, 3]), from: "192.0.2.2").0 == .drop(.unsupportedFrame))
    }

    @Test("an ARP request for the TUN address is answered, encapsulated for the same VNI")
    func arp() throws {
        let engine = try Self.engine()
        var arp = [UInt8](repeating: 0, count: 28)
        arp.withUnsafeMutableBytes { raw in
            _ = try? ARPPacket.write(into: raw, operation: 1, senderMAC: Self.peerMAC, senderIP: IPv4Address("10.10.0.2")!,
                                     targetMAC: .zero, targetIP: IPv4Address("10.10.0.1")!)
        }
        let (result, _, reply) = Self.ingress(engine, Self.vxlan(vni: 42, etherType: EtherType.arp, arp, destination: .broadcast),
                                              from: "192.0.2.2")
        guard case let .reply(peer, length) = result else {
            Issue.record("expected a reply, got \(result)")
            return
        }
        #expect(peer == 0 && length == 50)
        Array(reply[..<length]).withUnsafeBytes { raw in
            let vxlan = try? VXLANHeader(raw)
            #expect(vxlan?.vni == 42)
            var walker = LayerWalker(UnsafeRawBufferPointer(rebasing: raw[8...]))
            _ = try? walker.next()
            guard case let .arp(answer)?? = try? walker.next() else {
                Issue.record("no ARP")
                return
            }
            #expect(answer.operation == 2 && answer.senderMAC == ProxyEngine.mac(vni: 42, listen: SocketEndpoint("192.0.2.1:4789")!))
        }
    }

    @Test("egress: ARP first, then headers written into the headroom; too big gets ICMP; no route drops")
    func egress() throws {
        let engine = try Self.engine()
        var slot = [UInt8](repeating: 0, count: 4096)
        var reply = [UInt8](repeating: 0, count: 2048)
        var packet = [UInt8](repeating: 0, count: 60)
        packet.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.10.0.1")!, destination: IPv4Address("10.10.0.2")!,
                                      protocolNumber: IPProtocol.udp, totalLength: 60)
        }
        func run(_ bytes: [UInt8], to destination: String? = nil) -> ProxyEngine.Egress {
            var bytes = bytes
            if let destination {
                bytes.withUnsafeMutableBytes { IPv4Address(destination)!.write(to: $0, at: 16) }
            }
            for (i, b) in bytes.enumerated() { slot[128 + i] = b }
            return slot.withUnsafeMutableBytes { s in
                reply.withUnsafeMutableBytes { r in engine.egress(slot: s, packetOffset: 128, length: bytes.count, reply: r) }
            }
        }
        guard case let .resolve(peer, length) = run(packet) else {
            Issue.record("expected an ARP request first")
            return
        }
        #expect(peer == 0 && length == 50)
        _ = Self.ingress(engine, Self.vxlan(vni: 42, etherType: EtherType.ipv4, Self.partialTCP()), from: "192.0.2.2")
        guard case let .send(peer, endpoint, start, sent) = run(packet) else {
            Issue.record("expected a send")
            return
        }
        #expect(start == 128 - 22 && sent == 82)
        #expect(peer == 0 && endpoint == SocketEndpoint("192.0.2.2:4789"))
        Array(slot[start..<(start + sent)]).withUnsafeBytes { raw in
            #expect((try? VXLANHeader(raw))?.vni == 42)
            let eth = try? EthernetHeader(UnsafeRawBufferPointer(rebasing: raw[8...]))
            #expect(eth?.destination == Self.peerMAC && eth?.source == ProxyEngine.mac(vni: 42, listen: SocketEndpoint("192.0.2.1:4789")!))
        }
        #expect(run(packet, to: "10.99.0.1") == .drop(.noRoute))
        var big = [UInt8](repeating: 0, count: 1500)
        big.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.10.0.1")!, destination: IPv4Address("10.10.0.2")!,
                                      protocolNumber: IPProtocol.udp, totalLength: 1500, dontFragment: true)
        }
        guard case .tooBig = run(big) else {
            Issue.record("expected ICMP fragmentation needed")
            return
        }
    }
}
