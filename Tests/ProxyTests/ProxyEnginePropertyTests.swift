import Packet
@testable import Proxy
import Testing

/// Whatever arrives, from the underlay or the TUN device, the engine answers with a decision:
/// no trap, no read or write outside the buffers it was given (the buffers here are exactly
/// the input's size, so an overrun would trap in a debug build).
@Suite("Proxy engine with hostile input")
struct ProxyEnginePropertyTests {
    /// A deterministic generator (SplitMix64), so a failure can be replayed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Valid datagrams the engine knows, to mutate: IP, ARP, neighbour solicitations.
    static func seeds() -> [[UInt8]] {
        var arp = [UInt8](repeating: 0, count: 28)
        arp.withUnsafeMutableBytes { raw in
            _ = try? ARPPacket.write(into: raw, operation: 1, senderMAC: ProxyEngineTests.peerMAC, senderIP: IPv4Address("10.10.0.2")!,
                                     targetMAC: .zero, targetIP: IPv4Address("10.10.0.1")!)
        }
        return [
            ProxyEngineTests.vxlan(vni: 42, etherType: EtherType.ipv4, ProxyEngineTests.partialTCP()),
            ProxyEngineTests.vxlan(vni: 42, etherType: EtherType.arp, arp, destination: .broadcast),
            ProxyEngineTests.vxlan(vni: 42, etherType: EtherType.ipv6, [0x60] + [UInt8](repeating: 0, count: 70)),
        ]
    }

    @Test("100,000 random and mutated datagrams from a peer and packets from the TUN device")
    func hostile() throws {
        let engine = try ProxyEngineTests.engine()
        var random = Generator(state: 0x5EED)
        let seeds = Self.seeds()
        var decisions = 0
        for round in 0..<100_000 {
            var input: [UInt8]
            if round % 3 == 0 {
                input = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                input = seeds[round % seeds.count]
                for _ in 0..<Int.random(in: 1...6, using: &random) where !input.isEmpty {
                    switch Int.random(in: 0...2, using: &random) {
                    case 0: input[Int.random(in: 0..<input.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                    case 1: input.removeLast(Int.random(in: 0...min(input.count, 40), using: &random))
                    default: input += (0..<Int.random(in: 1...20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                    }
                }
            }
            var reply = [UInt8](repeating: 0, count: 2048)
            let answer = input.withUnsafeMutableBytes { datagram in
                reply.withUnsafeMutableBytes { engine.ingress(datagram, from: IPAddress("192.0.2.2")!, reply: $0) }
            }
            if case let .deliver(_, start, length) = answer { #expect(start >= 0 && start + length <= input.count) }
            if case let .reply(_, length) = answer { #expect(length <= reply.count) }
            // The same bytes as a packet read from the TUN device, behind 64 bytes of headroom.
            var slot = [UInt8](repeating: 0, count: 64) + input.dropFirst(22)
            let length = slot.count - 64
            let egress = slot.withUnsafeMutableBytes { s in
                reply.withUnsafeMutableBytes { engine.egress(slot: s, packetOffset: 64, length: length, reply: $0) }
            }
            if case let .send(_, _, start, sent) = egress { #expect(start >= 0 && start + sent <= slot.count) }
            decisions += 1
        }
        #expect(decisions == 100_000)
    }
}
