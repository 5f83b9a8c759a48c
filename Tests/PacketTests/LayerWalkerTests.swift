import Packet
import Testing

@Suite("Layer walker")
struct LayerWalkerTests {
    @Test("Ethernet/IPv4/UDP/VXLAN/Ethernet/IPv4/TCP walks to the payload with every checksum valid")
    func vxlanTCP() throws {
        let frame = TestFrames.vxlanTCP
        try frame.withUnsafeBytes { raw in
            var walker = LayerWalker(raw)
            var kinds: [LayerKind] = []
            while let layer = try walker.next() {
                kinds.append(layer.kind)
                switch layer {
                case let .ipv4(ip): #expect(ip.isChecksumValid)
                case let .udp(udp, context):
                    #expect(udp.destinationPort == 4789)
                    #expect(udp.checksumStatus(in: context) == true)
                case let .vxlan(vxlan): #expect(vxlan.vni == 42)
                case let .tcp(tcp, context):
                    #expect(tcp.checksumStatus(in: context) == true)
                    #expect(tcp.flags == [.syn, .ack])
                case let .payload(bytes): #expect(String(decoding: bytes, as: UTF8.self) == "hello, vxlan")
                default: break
                }
            }
            #expect(kinds == [.ethernet, .ipv4, .udp, .vxlan, .ethernet, .ipv4, .tcp, .payload])
        }
    }

    @Test("a corrupted byte makes exactly the covering checksum fail")
    func corruptedChecksums() throws {
        var frame = TestFrames.vxlanTCP
        frame[frame.count - 1] ^= 0xFF  // inner payload: inner TCP and outer UDP both cover it
        frame.withUnsafeBytes { raw in
            var walker = LayerWalker(raw)
            var statuses: [Bool?] = []
            while let layer = try? walker.next() {
                switch layer {
                case let .udp(udp, c): statuses.append(udp.checksumStatus(in: c))
                case let .tcp(tcp, c): statuses.append(tcp.checksumStatus(in: c))
                case let .ipv4(ip): statuses.append(ip.isChecksumValid)
                default: break
                }
            }
            #expect(statuses == [true, false, true, false])
        }
    }

    @Test("truncated at every byte offset: the layers before the cut, then an error naming the cut layer")
    func everyTruncation() {
        let frame = TestFrames.vxlanTCP
        // Where each header starts and how long it is, in this frame.
        let headers: [(LayerKind, Int, Int)] = [
            (.ethernet, 0, 14), (.ipv4, 14, 20), (.udp, 34, 8), (.vxlan, 42, 8),
            (.ethernet, 50, 14), (.ipv4, 64, 20), (.tcp, 84, 40),
        ]
        for cut in 0..<frame.count {
            let (kinds, error) = TestFrames.walk(Array(frame[..<cut]))
            if let broken = headers.firstIndex(where: { cut < $0.1 + $0.2 }) {
                let layer = headers[broken]
                #expect(kinds == headers[..<broken].map(\.0), "cut at \(cut)")
                #expect(error?.layer == layer.0, "cut at \(cut)")
            } else {
                #expect(error == nil, "cut at \(cut)")
                #expect(kinds.last == (cut > 124 ? .payload : .tcp), "cut at \(cut)")
            }
        }
    }

    @Test("a later fragment carries payload, a first fragment its transport header")
    func fragments() throws {
        var later = TestFrames.hex("45 00 00 1c 00 01 00 10 40 11 00 00 0a 00 00 01 0a 00 00 02 00 35 00 35 00 08 00 00")
        TestFrames.fixIPv4Checksum(&later, at: 0)
        #expect(TestFrames.walk(later, linkType: .raw).kinds == [.ipv4, .payload])
        var first = later
        first[6] = 0x20
        first[7] = 0x00
        TestFrames.fixIPv4Checksum(&first, at: 0)
        try first.withUnsafeBytes { raw in
            var walker = LayerWalker(raw, linkType: .raw)
            _ = try walker.next()
            guard case let .udp(udp, context)? = try walker.next() else {
                Issue.record("expected UDP")
                return
            }
            #expect(udp.checksumStatus(in: context) == nil)
        }
    }

    @Test("IPv6 through hop-by-hop and fragment headers to ICMPv6")
    func ipv6Chain() {
        var bytes = TestFrames.hex("""
            60 00 00 00 00 18 00 40  fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01
            ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 01
            3a 00 05 02 00 00 01 00 | 80 00 00 00 12 34 00 01 | 61 62 63 64 65 66 67 68
            """)
        bytes[4] = 0
        bytes[5] = 24
        TestFrames.fixTransportChecksumAfterExtensions(&bytes, extensionLength: 8)
        bytes.withUnsafeBytes { raw in
            var walker = LayerWalker(raw, linkType: .raw)
            var kinds: [LayerKind] = []
            while let layer = try? walker.next() {
                kinds.append(layer.kind)
                if case let .icmpv6(icmp, context) = layer {
                    #expect(icmp.type == 128)
                    #expect(icmp.checksumStatus(in: context) == true)
                }
            }
            #expect(kinds == [.ipv6, .ipv6Extension, .icmpv6, .payload])
        }
    }

    @Test("an atomic IPv6 fragment (offset 0, M clear; RFC 6946) is whole: its UDP checksum is verified by both walks")
    func atomicFragment() {
        // IPv6 / fragment header (next UDP, offset 0, M clear) / UDP 53 -> 53 with 4 bytes of data.
        var atomic = TestFrames.hex("""
            60 00 00 00 00 14 2c 40  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
            20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
            11 00 00 00 12 34 56 78 | 00 35 00 35 00 0c 00 00 | 61 62 63 64
            """)
        TestFrames.fixTransportChecksumAfterExtensions(&atomic, extensionLength: 8)
        var broken = atomic
        broken[broken.count - 1] ^= 0xFF
        var first = atomic
        first[43] = 0x01  // M set: a first fragment, whose checksum covers bytes not here
        for (bytes, expected) in [(atomic, true as Bool?), (broken, false), (first, nil)] {
            bytes.withUnsafeBytes { raw in
                var walker = LayerWalker(raw, linkType: .raw)
                var status: Bool?? = .none
                while let layer = try? walker.next() {
                    if case let .udp(udp, context) = layer { status = .some(udp.checksumStatus(in: context)) }
                }
                #expect(status == .some(expected), "walker, M=\(bytes[43] & 1)")
                LayerStack.walk(raw, linkType: .raw) { layers in
                    guard let index = layers.firstIndex(where: { $0.kind == .udp }), case let .udp(udp, context) = layers[index] else {
                        Issue.record("no UDP layer in the one-pass walk")
                        return
                    }
                    #expect(udp.checksumStatus(in: context) == expected, "stack, M=\(bytes[43] & 1)")
                }
            }
        }
    }

    @Test("unknown EtherTypes and protocols end in payload; ARP padding is not payload")
    func payloadRules() {
        let lldp = TestFrames.hex("01 80 c2 00 00 0e 02 00 00 00 00 01 88 cc 02 07 04 00 00 00 00 00 01")
        #expect(TestFrames.walk(lldp).kinds == [.ethernet, .payload])
        var arp = TestFrames.hex("ff ff ff ff ff ff 02 00 00 00 00 01 08 06 0001 0800 06 04 0001 020000000001 c0000201 000000000000 c0000202")
        arp += [UInt8](repeating: 0, count: 18)
        #expect(TestFrames.walk(arp).kinds == [.ethernet, .arp])
        var gre = TestFrames.hex("45 00 00 18 00 00 00 00 40 2f 00 00 0a 00 00 01 0a 00 00 02 00 00 08 00")
        TestFrames.fixIPv4Checksum(&gre, at: 0)
        #expect(TestFrames.walk(gre, linkType: .raw).kinds == [.ipv4, .payload])
        // An EtherType that announces IPv4 with nothing after it is a truncated IPv4 header.
        let empty = TestFrames.hex("02 00 00 00 00 02 02 00 00 00 00 01 08 00")
        #expect(TestFrames.walk(empty).error == PacketError(.ipv4, .truncated(needed: 20, available: 0)))
    }

    @Test("a VXLAN port of the caller's choosing")
    func customVXLANPort() {
        var frame = TestFrames.vxlanTCP
        frame[36] = 0x21
        frame[37] = 0x18  // destination port 8472, the Linux default before IANA's 4789
        let (defaultKinds, _) = TestFrames.walk(frame)
        #expect(defaultKinds == [.ethernet, .ipv4, .udp, .payload])
        frame.withUnsafeBytes { raw in
            var walker = LayerWalker(raw, vxlanPort: 8472)
            var count = 0
            while (try? walker.next()) != nil { count += 1 }
            #expect(count == 8)
        }
    }
}

extension TestFrames {
    /// Fixes an ICMPv6/UDP/TCP checksum behind `extensionLength` bytes of IPv6 extension headers.
    static func fixTransportChecksumAfterExtensions(_ bytes: inout [UInt8], extensionLength: Int) {
        let upper = bytes[40]  // next header of the first extension
        var shifted = Array(bytes[0..<40]) + Array(bytes[(40 + extensionLength)...])
        shifted[6] = upper
        let payloadLength = Int(bytes[4]) << 8 | Int(bytes[5])
        shifted[4] = UInt8((payloadLength - extensionLength) >> 8)
        shifted[5] = UInt8((payloadLength - extensionLength) & 0xFF)
        fixTransportChecksum(&shifted, ipOffset: 0)
        bytes.replaceSubrange((40 + extensionLength)..., with: shifted[40...])
    }
}

@Suite("Partial checksums")
struct PartialChecksumTests {
    @Test("a checksum field holding only the pseudo-header sum is recognised as CHECKSUM_PARTIAL")
    func partial() throws {
        var frame = TestFrames.vxlanTCP
        try frame.withUnsafeMutableBytes { raw in
            let ip = UnsafeMutableRawBufferPointer(rebasing: raw[14...])
            let udpLength = Int(ip[24]) << 8 | Int(ip[25])
            let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: ip[12..<20]),
                                    upperLayerLength: udpLength, isFragment: false)
            let partial = context.pseudoHeaderSum(protocolNumber: IPProtocol.udp, length: udpLength).folded
            ip[26] = UInt8(partial >> 8)
            ip[27] = UInt8(partial & 0xFF)
            var walker = LayerWalker(UnsafeRawBufferPointer(raw))
            _ = try walker.next()
            _ = try walker.next()
            guard case let .udp(udp, ctx)? = try walker.next() else {
                Issue.record("no UDP")
                return
            }
            #expect(udp.checksumStatus(in: ctx) == false)
            #expect(ctx.isPartialChecksum(udp.checksum, protocolNumber: IPProtocol.udp, length: udp.length))
        }
        frame.withUnsafeBytes { raw in
            var walker = LayerWalker(raw)
            _ = try? walker.next()
            _ = try? walker.next()
            if case let .udp(udp, ctx)?? = try? walker.next() {
                #expect(!ctx.isPartialChecksum(udp.checksum &+ 1, protocolNumber: IPProtocol.udp, length: udp.length))
            }
        }
    }
}
