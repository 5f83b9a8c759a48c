import Packet
@testable import Proxy
import Testing

@Suite("Path MTU messages")
struct TooBigMessageTests {
    static func bigIPv4(dontFragment: Bool) -> [UInt8] {
        var packet = [UInt8](repeating: 0x42, count: 1500)
        packet.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.10.0.5")!, destination: IPv4Address("10.20.0.9")!,
                                      protocolNumber: IPProtocol.udp, totalLength: 1500, dontFragment: dontFragment)
        }
        return packet
    }

    static func message(_ packet: [UInt8], mtu: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 2048)
        let sources = [IPAddress("10.10.0.1")!, IPAddress("fd00::1")!]
        let n = packet.withUnsafeBytes { p in out.withUnsafeMutableBytes { TooBigMessage.write(for: p, mtu: mtu, sources: sources, into: $0) } }
        return n.map { Array(out[..<$0]) }
    }

    @Test("IPv4 with DF: ICMP fragmentation needed with the next-hop MTU, back to the sender")
    func ipv4() throws {
        let reply = try #require(Self.message(Self.bigIPv4(dontFragment: true), mtu: 1450))
        #expect(reply.count == 576)
        try reply.withUnsafeBytes { raw in
            var walker = LayerWalker(raw, linkType: .raw)
            guard case let .ipv4(ip)? = try walker.next(), case let .icmp(icmp, context)? = try walker.next() else {
                Issue.record("not ipv4/icmp")
                return
            }
            #expect(ip.source.description == "10.10.0.1" && ip.destination.description == "10.10.0.5" && ip.isChecksumValid)
            #expect(icmp.type == 3 && icmp.code == 4 && icmp.restOfHeader == 1450)
            #expect(icmp.checksumStatus(in: context) == true)
            #expect(Array(icmp.body.prefix(20)) == Array(Self.bigIPv4(dontFragment: true).prefix(20)))
        }
        #expect(Self.message(Self.bigIPv4(dontFragment: false), mtu: 1450) == nil, "no DF: fragment instead")
    }

    @Test("IPv6: ICMPv6 packet too big, quoting up to 1280 bytes in all")
    func ipv6() throws {
        var packet = [UInt8](repeating: 0x42, count: 1500)
        packet.withUnsafeMutableBytes { raw in
            _ = try? IPv6Header.write(into: raw, source: IPv6Address("fd00::5")!, destination: IPv6Address("fd00:20::9")!,
                                      nextHeader: IPProtocol.udp, payloadLength: 1460)
        }
        let reply = try #require(Self.message(packet, mtu: 1430))
        #expect(reply.count == 1280)
        try reply.withUnsafeBytes { raw in
            var walker = LayerWalker(raw, linkType: .raw)
            guard case let .ipv6(ip)? = try walker.next(), case let .icmpv6(icmp, context)? = try walker.next() else {
                Issue.record("not ipv6/icmpv6")
                return
            }
            #expect(ip.destination.description == "fd00::5")
            #expect(icmp.type == 2 && icmp.restOfHeader == 1430)
            #expect(icmp.checksumStatus(in: context) == true)
        }
    }
}
