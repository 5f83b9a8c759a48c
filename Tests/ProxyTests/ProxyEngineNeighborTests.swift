import Packet
@testable import Proxy
import Testing

/// The engine's neighbour cache and inner-packet checks, on bytes alone.
@Suite("Proxy engine: neighbours and inner packets")
struct ProxyEngineNeighborTests {
    static let ours = ProxyEngine.mac(vni: 42, listen: SocketEndpoint("192.0.2.1:4789")!)
    static let hostA = MACAddress("02:00:00:00:00:0a")!
    static let hostB = MACAddress("02:00:00:00:00:0b")!
    static let second: UInt64 = 1_000_000_000

    /// A VXLAN payload for VNI 42 carrying `payload` with the given Ethernet header.
    static func frame(from source: MACAddress, to destination: MACAddress, etherType: UInt16, _ payload: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 22) + payload
        bytes.withUnsafeMutableBytes { raw in
            _ = try? VXLANHeader.write(into: raw, vni: 42)
            _ = try? EthernetHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: raw[8...]), destination: destination,
                                          source: source, etherType: etherType)
        }
        return bytes
    }

    static func arp(_ operation: UInt16, sender: MACAddress, senderIP: String, targetIP: String) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 28)
        bytes.withUnsafeMutableBytes { raw in
            _ = try? ARPPacket.write(into: raw, operation: operation, senderMAC: sender, senderIP: IPv4Address(senderIP)!,
                                     targetMAC: .zero, targetIP: IPv4Address(targetIP)!)
        }
        return bytes
    }

    /// An IPv4/UDP packet `source` -> 10.10.0.1 with 8 bytes of data, header checksum right.
    static func udp(from source: String, totalLength: Int? = nil) -> [UInt8] {
        var bytes = [UInt8](repeating: 0x61, count: 36)
        bytes.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address(source)!, destination: IPv4Address("10.10.0.1")!,
                                      protocolNumber: IPProtocol.udp, totalLength: 36)
            _ = try? UDPHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: raw[20...]), sourcePort: 5000, destinationPort: 5001,
                                     payloadLength: 8, checksumContext: nil)
        }
        if let totalLength {
            bytes[2] = UInt8(totalLength >> 8)
            bytes[3] = UInt8(totalLength & 0xFF)
            fixHeaderChecksum(&bytes)
        }
        return bytes
    }

    /// Recomputes the IPv4 header checksum after a test changed the header.
    static func fixHeaderChecksum(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            raw[10] = 0
            raw[11] = 0
            var sum = InternetChecksum()
            sum.add(UnsafeRawBufferPointer(rebasing: raw[..<20]))
            raw[10] = UInt8(sum.value >> 8)
            raw[11] = UInt8(sum.value & 0xFF)
        }
    }

    /// Egress of a small packet to `destination`: the decision and, on a send, the inner
    /// destination MAC.
    static func send(_ engine: ProxyEngine, to destination: String) -> (ProxyEngine.Egress, MACAddress?) {
        var slot = [UInt8](repeating: 0, count: 512)
        var reply = [UInt8](repeating: 0, count: 2048)
        var packet = [UInt8](repeating: 0, count: 40)
        packet.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.10.0.1")!, destination: IPv4Address(destination)!,
                                      protocolNumber: IPProtocol.udp, totalLength: 40)
        }
        for (i, b) in packet.enumerated() { slot[128 + i] = b }
        let decision = slot.withUnsafeMutableBytes { s in
            reply.withUnsafeMutableBytes { r in engine.egress(slot: s, packetOffset: 128, length: packet.count, reply: r) }
        }
        guard case let .send(_, _, start, _) = decision else { return (decision, nil) }
        return (decision, slot.withUnsafeBytes { MACAddress($0, at: start + 8) })
    }

    @Test("a bridged peer: each inner address keeps its own MAC; broadcasts, foreign requests and gratuitous replies change none")
    func perAddress() throws {
        let neighbors = NeighborTable()
        let engine = try ProxyEngineTests.engine(neighbors: neighbors)
        engine.beginBatch(now: 1)
        // Two hosts behind the peer ask for the proxy's address: both are learned.
        for (mac, ip) in [(Self.hostA, "10.10.0.11"), (Self.hostB, "10.10.0.12")] {
            let request = Self.frame(from: mac, to: .broadcast, etherType: EtherType.arp, Self.arp(1, sender: mac, senderIP: ip, targetIP: "10.10.0.1"))
            guard case .reply = ProxyEngineTests.ingress(engine, request, from: "192.0.2.2").0 else {
                Issue.record("no answer to \(ip)")
                return
            }
        }
        engine.beginBatch(now: 2)
        #expect(Self.send(engine, to: "10.10.0.11").1 == Self.hostA)
        #expect(Self.send(engine, to: "10.10.0.12").1 == Self.hostB)

        let forged = MACAddress("02:ee:ee:ee:ee:ee")!
        // A request for an address nobody here answers for, claiming host A's address.
        let foreign = Self.frame(from: forged, to: .broadcast, etherType: EtherType.arp,
                                 Self.arp(1, sender: forged, senderIP: "10.10.0.11", targetIP: "10.10.0.99"))
        #expect(ProxyEngineTests.ingress(engine, foreign, from: "192.0.2.2").0 == .drop(.otherHost))
        // A gratuitous (broadcast) reply claiming host A's address.
        let gratuitous = Self.frame(from: forged, to: .broadcast, etherType: EtherType.arp,
                                    Self.arp(2, sender: forged, senderIP: "10.10.0.11", targetIP: "10.10.0.11"))
        #expect(ProxyEngineTests.ingress(engine, gratuitous, from: "192.0.2.2").0 == .absorbed)
        // Broadcast traffic from the forged MAC with host A's address.
        let broadcast = Self.frame(from: forged, to: .broadcast, etherType: EtherType.ipv4, Self.udp(from: "10.10.0.11"))
        guard case .deliver = ProxyEngineTests.ingress(engine, broadcast, from: "192.0.2.2").0 else {
            Issue.record("broadcast traffic was not delivered")
            return
        }
        // Unicast traffic to us from another MAC claiming host A's address: it may not replace.
        let unicast = Self.frame(from: forged, to: Self.ours, etherType: EtherType.ipv4, Self.udp(from: "10.10.0.11"))
        guard case .deliver = ProxyEngineTests.ingress(engine, unicast, from: "192.0.2.2").0 else {
            Issue.record("unicast traffic was not delivered")
            return
        }
        // A frame for another host's MAC is not ours to deliver.
        let otherHost = Self.frame(from: Self.hostB, to: Self.hostA, etherType: EtherType.ipv4, Self.udp(from: "10.10.0.12"))
        #expect(ProxyEngineTests.ingress(engine, otherHost, from: "192.0.2.2").0 == .drop(.otherHost))

        engine.beginBatch(now: 3)
        #expect(Self.send(engine, to: "10.10.0.11").1 == Self.hostA)
        #expect(Self.send(engine, to: "10.10.0.12").1 == Self.hostB)
        #expect(neighbors.count == 2)

        // An answer addressed to the proxy does replace (the host changed its MAC).
        let answer = Self.frame(from: forged, to: Self.ours, etherType: EtherType.arp,
                                Self.arp(2, sender: forged, senderIP: "10.10.0.11", targetIP: "10.10.0.1"))
        #expect(ProxyEngineTests.ingress(engine, answer, from: "192.0.2.2").0 == .absorbed)
        engine.beginBatch(now: 4)
        #expect(Self.send(engine, to: "10.10.0.11").1 == forged)
    }

    @Test("unknown: one request a second however many packets wait; old: used while a request confirms it; gone after the lifetime")
    func ageing() throws {
        let neighbors = NeighborTable()
        let engine = try ProxyEngineTests.engine(neighbors: neighbors)
        var now: UInt64 = 10 * Self.second
        engine.beginBatch(now: now)
        guard case .resolve = Self.send(engine, to: "10.10.0.11").0 else {
            Issue.record("the first packet should send a request")
            return
        }
        #expect(Self.send(engine, to: "10.10.0.11").0 == .wait)
        #expect(Self.send(engine, to: "10.10.0.11").0 == .wait)
        now += Self.second
        engine.beginBatch(now: now)
        guard case .resolve = Self.send(engine, to: "10.10.0.11").0 else {
            Issue.record("a second later, a new request")
            return
        }
        let reply = Self.frame(from: Self.hostA, to: Self.ours, etherType: EtherType.arp,
                               Self.arp(2, sender: Self.hostA, senderIP: "10.10.0.11", targetIP: "10.10.0.1"))
        #expect(ProxyEngineTests.ingress(engine, reply, from: "192.0.2.2").0 == .absorbed)
        engine.beginBatch(now: now)
        #expect(Self.send(engine, to: "10.10.0.11").1 == Self.hostA)

        // Past the reachable time: still used, and a request is owed (one, not one per packet).
        now += NeighborTable.reachableTime + Self.second
        engine.beginBatch(now: now)
        #expect(Self.send(engine, to: "10.10.0.11").1 == Self.hostA)
        #expect(Self.send(engine, to: "10.10.0.11").1 == Self.hostA)
        var requests = 0
        var buffer = [UInt8](repeating: 0, count: 2048)
        buffer.withUnsafeMutableBytes { engine.takeRequests(into: $0) { _, _ in requests += 1 } }
        #expect(requests == 1)
        // Its own unicast traffic confirms it.
        let traffic = Self.frame(from: Self.hostA, to: Self.ours, etherType: EtherType.ipv4, Self.udp(from: "10.10.0.11"))
        guard case .deliver = ProxyEngineTests.ingress(engine, traffic, from: "192.0.2.2").0 else {
            Issue.record("traffic not delivered")
            return
        }
        #expect(neighbors.lookup(NeighborKey(vni: 42, address: IPAddress("10.10.0.11")!))?.confirmed == now)

        // Unconfirmed past the lifetime: swept, and resolved anew.
        now += NeighborTable.lifetime
        #expect(neighbors.expire(now: now) == 1)
        engine.beginBatch(now: now)
        guard case .resolve = Self.send(engine, to: "10.10.0.11").0 else {
            Issue.record("an expired neighbour should be resolved again")
            return
        }
    }

    @Test("the table is bounded: past its capacity new neighbours are refused and counted, known ones still work")
    func bounded() throws {
        let neighbors = NeighborTable(capacity: 4)
        for i in 0..<6 {
            neighbors.learn(Self.hostA, for: NeighborKey(vni: 42, address: IPAddress("10.10.0.\(20 + i)")!), evidence: .discovery, now: 1)
        }
        #expect(neighbors.count == 4)
        #expect(neighbors.refused == 2)
        #expect(neighbors.learn(Self.hostB, for: NeighborKey(vni: 42, address: IPAddress("10.10.0.20")!), evidence: .discovery, now: 2)?.mac == Self.hostB)
    }

    @Test("inner packets whose lengths lie are malformed drops, never delivered")
    func lyingLengths() throws {
        let engine = try ProxyEngineTests.engine()
        engine.beginBatch(now: 1)
        let good = Self.udp(from: "10.10.0.11")
        guard case .deliver = ProxyEngineTests.ingress(engine, Self.frame(from: Self.hostA, to: Self.ours, etherType: EtherType.ipv4, good),
                                                       from: "192.0.2.2").0 else {
            Issue.record("a good packet was not delivered")
            return
        }
        var badChecksum = good
        badChecksum[8] ^= 1  // the TTL, under the header checksum
        var v6 = [UInt8](repeating: 0, count: 48)
        v6.withUnsafeMutableBytes { raw in
            _ = try? IPv6Header.write(into: raw, source: IPv6Address("fd00::2")!, destination: IPv6Address("fd00::1")!,
                                      nextHeader: IPProtocol.udp, payloadLength: 200)
        }
        var cutTCP = Self.udp(from: "10.10.0.11", totalLength: 30)
        cutTCP[9] = IPProtocol.tcp
        Self.fixHeaderChecksum(&cutTCP)
        for (name, packet, type) in [("IPv4 total length past the frame", Self.udp(from: "10.10.0.11", totalLength: 400), EtherType.ipv4),
                                     ("IPv4 header checksum", badChecksum, EtherType.ipv4),
                                     ("IPv6 payload length past the frame", v6, EtherType.ipv6),
                                     ("TCP header cut short", Array(cutTCP.prefix(30)), EtherType.ipv4)] {
            let result = ProxyEngineTests.ingress(engine, Self.frame(from: Self.hostA, to: Self.ours, etherType: type, packet), from: "192.0.2.2").0
            #expect(result == .drop(.malformed), "\(name): \(result)")
        }
    }
}
