import Packet
@testable import Proxy
import Testing

@Suite("Neighbour responder")
struct NeighborResponderTests {
    static let proxyMAC = MACAddress("02:00:00:00:00:aa")!
    static let peerMAC = MACAddress("02:00:00:00:00:bb")!
    static let responder = NeighborResponder(mac: proxyMAC, answersFor: [IPPrefix("10.10.0.1/32")!, IPPrefix("10.20.0.0/16")!,
                                                                          IPPrefix("fd00::1/128")!])

    static func arpRequest(for target: String, from sender: String = "10.10.0.2") -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 42)
        frame.withUnsafeMutableBytes { raw in
            _ = try? EthernetHeader.write(into: raw, destination: .broadcast, source: peerMAC, etherType: EtherType.arp)
            _ = try? ARPPacket.write(into: UnsafeMutableRawBufferPointer(rebasing: raw[14...]), operation: 1, senderMAC: peerMAC,
                                     senderIP: IPv4Address(sender)!, targetMAC: .zero, targetIP: IPv4Address(target)!)
        }
        return frame
    }

    static func reply(_ frame: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 128)
        let length = frame.withUnsafeBytes { input in out.withUnsafeMutableBytes { responder.reply(to: input, into: $0) } }
        return length.map { Array(out[..<$0]) }
    }

    @Test("ARP requests for its own address and routed prefixes get a reply with its MAC")
    func arp() throws {
        for target in ["10.10.0.1", "10.20.9.9"] {
            let reply = try #require(Self.reply(Self.arpRequest(for: target)), "\(target)")
            try reply.withUnsafeBytes { raw in
                var walker = LayerWalker(raw)
                guard case let .ethernet(eth)? = try walker.next(), case let .arp(arp)? = try walker.next() else {
                    Issue.record("not ethernet/arp")
                    return
                }
                #expect(eth.destination == Self.peerMAC && eth.source == Self.proxyMAC)
                #expect(arp.operation == 2 && arp.senderMAC == Self.proxyMAC && arp.senderIP.description == target)
                #expect(arp.targetMAC == Self.peerMAC && arp.targetIP.description == "10.10.0.2")
            }
        }
        #expect(Self.reply(Self.arpRequest(for: "10.30.0.1")) == nil)
        #expect(Self.reply(Self.arpRequest(for: "10.10.0.1", from: "10.10.0.1")) == nil, "gratuitous ARP")
    }

    @Test("a neighbour solicitation for its IPv6 address gets a valid solicited advertisement")
    func ndp() throws {
        // NS from fd00::2 for fd00::1, to the solicited-node multicast address.
        var frame = [UInt8](repeating: 0, count: 14 + 40 + 32)
        frame.withUnsafeMutableBytes { raw in
            _ = try? EthernetHeader.write(into: raw, destination: MACAddress("33:33:ff:00:00:01")!, source: Self.peerMAC,
                                          etherType: EtherType.ipv6)
            let ip = UnsafeMutableRawBufferPointer(rebasing: raw[14...])
            _ = try? IPv6Header.write(into: ip, source: IPv6Address("fd00::2")!, destination: IPv6Address("ff02::1:ff00:1")!,
                                      nextHeader: IPProtocol.icmpv6, payloadLength: 32, hopLimit: 255)
            let icmp = UnsafeMutableRawBufferPointer(rebasing: ip[40...])
            IPv6Address("fd00::1")!.write(to: icmp, at: 8)
            icmp[24] = 1
            icmp[25] = 1
            Self.peerMAC.write(to: icmp, at: 26)
            _ = try? ICMPv6Header.write(into: icmp, type: 135, code: 0, restOfHeader: 0, bodyLength: 24,
                                        context: IPContext(addresses: UnsafeRawBufferPointer(rebasing: ip[8..<40]),
                                                           upperLayerLength: 32, isFragment: false))
        }
        let reply = try #require(Self.reply(frame))
        try reply.withUnsafeBytes { raw in
            var walker = LayerWalker(raw)
            _ = try walker.next()
            guard case let .ipv6(ip)? = try walker.next(), case let .icmpv6(icmp, context)? = try walker.next() else {
                Issue.record("not ipv6/icmpv6")
                return
            }
            #expect(ip.source.description == "fd00::1" && ip.destination.description == "fd00::2" && ip.hopLimit == 255)
            #expect(icmp.type == 136 && icmp.restOfHeader == 0x6000_0000)
            #expect(icmp.checksumStatus(in: context) == true)
            #expect(MACAddress(icmp.body, at: 18) == Self.proxyMAC)
        }
    }
}
