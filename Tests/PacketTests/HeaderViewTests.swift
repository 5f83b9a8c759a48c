import Packet
import Testing

/// Field accessors against frames laid out byte by byte from the RFCs.
@Suite("Header views")
struct HeaderViewTests {
    @Test func ethernetAndVLAN() throws {
        let frame = TestFrames.hex("ff ff ff ff ff ff 02 00 5e 10 00 01 81 00 | 30 2a 08 06")
        try frame.withUnsafeBytes { raw in
            let eth = try EthernetHeader(raw)
            #expect(eth.destination == .broadcast)
            #expect(eth.source.description == "02:00:5e:10:00:01")
            #expect(eth.etherType == EtherType.vlan)
            let tag = try VLANTag(eth.payload, tpid: eth.etherType)
            #expect(tag.priority == 1)
            #expect(tag.dropEligible)
            #expect(tag.vlanID == 42)
            #expect(tag.etherType == EtherType.arp)
        }
    }

    @Test("ARP request, RFC 826 layout")
    func arp() throws {
        let body = TestFrames.hex("0001 0800 06 04 0001 020000000001 c0000201 000000000000 c0000202")
        try body.withUnsafeBytes { raw in
            let arp = try ARPPacket(raw)
            #expect(arp.isEthernetIPv4)
            #expect(arp.operation == 1)
            #expect(arp.senderMAC.description == "02:00:00:00:00:01")
            #expect(arp.senderIP.description == "192.0.2.1")
            #expect(arp.targetMAC == .zero)
            #expect(arp.targetIP.description == "192.0.2.2")
            #expect(arp.length == 28)
        }
    }

    @Test("IPv4 with options, RFC 791 layout")
    func ipv4() throws {
        var bytes = TestFrames.hex("46 b8 00 20 1c 46 20 10 3f 06 00 00 c0 00 02 01 c6 33 64 07 | 01 01 01 00 | 00 01 02 03 04 05 06 07")
        TestFrames.fixIPv4Checksum(&bytes, at: 0)
        bytes += [0xEE, 0xEE]  // Ethernet padding: not part of the datagram
        try bytes.withUnsafeBytes { raw in
            let ip = try IPv4Header(raw)
            #expect(ip.ihl == 6 && ip.headerLength == 24)
            #expect(ip.tos == 0xB8)
            #expect(ip.totalLength == 32)
            #expect(ip.bytes.count == 32)
            #expect(ip.identification == 0x1C46)
            #expect(!ip.dontFragment && ip.moreFragments)
            #expect(ip.fragmentOffset == 0x10 * 8)
            #expect(ip.ttl == 63 && ip.protocolNumber == 6)
            #expect(ip.source.description == "192.0.2.1")
            #expect(ip.destination.description == "198.51.100.7")
            #expect(Array(ip.options) == [1, 1, 1, 0])
            #expect(ip.payload.count == 8)
            #expect(ip.isChecksumValid)
            #expect(ip.context.isFragment)
        }
    }

    @Test("IPv4 faults", arguments: [
        ("45 00 00 14 00 00 00 00 40 06 00 00 0a 00 00 01 0a 00", PacketError(.ipv4, .truncated(needed: 20, available: 18))),
        ("44 00 00 14 00 00 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02", PacketError(.ipv4, .headerLengthTooSmall(4))),
        ("4f 00 00 3c 00 00 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02", PacketError(.ipv4, .truncated(needed: 60, available: 20))),
        ("46 00 00 14 00 00 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02 00 00 00 00",
         PacketError(.ipv4, .headerPastTotalLength(headerLength: 24, totalLength: 20))),
        ("65 00 00 14 00 00 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02", PacketError(.ipv4, .badVersion(6))),
    ])
    func ipv4Faults(hex: String, expected: PacketError) {
        let bytes = TestFrames.hex(hex)
        _ = bytes.withUnsafeBytes { raw in
            #expect(throws: expected) { try IPv4Header(raw) }
        }
    }

    @Test("IPv6 and extension headers, RFC 8200 layout")
    func ipv6() throws {
        let bytes = TestFrames.hex("""
            6a b1 23 45 00 20 00 40  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
            20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
            3c 00 01 04 00 00 00 00 | 2c 00 00 00 00 00 00 00 | 11 00 05 69 de ad be ef
            00 01 00 02 00 08 00 00
            """)
        try bytes.withUnsafeBytes { raw in
            let ip = try IPv6Header(raw)
            #expect(ip.trafficClass == 0xAB)
            #expect(ip.flowLabel == 0x12345)
            #expect(ip.payloadLength == 32 && ip.nextHeader == 0 && ip.hopLimit == 64)
            #expect(ip.source.description == "2001:db8::1")
            #expect(ip.destination.description == "2001:db8::2")
            let hopByHop = try IPv6ExtensionHeader(ip.payload, type: ip.nextHeader)
            #expect(hopByHop.length == 8 && hopByHop.nextHeader == 60)
            let destination = try IPv6ExtensionHeader(hopByHop.payload, type: hopByHop.nextHeader)
            #expect(destination.length == 8 && destination.nextHeader == 44)
            let fragment = try IPv6ExtensionHeader(destination.payload, type: destination.nextHeader)
            #expect(fragment.isFragmentHeader && fragment.length == 8)
            #expect(fragment.fragmentOffset == 0x0569 >> 3 * 8)
            #expect(fragment.moreFragments)
            #expect(fragment.identification == 0xDEAD_BEEF)
            #expect(fragment.nextHeader == 17)
        }
        let routing = TestFrames.hex("3a 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00")
        _ = routing.withUnsafeBytes { raw in
            #expect(throws: PacketError(.ipv6Extension, .truncated(needed: 24, available: 16))) {
                try IPv6ExtensionHeader(raw, type: 43)
            }
        }
    }

    @Test("TCP header and every option kind, RFC 9293 / 7323 / 2018")
    func tcpOptions() throws {
        let bytes = TestFrames.hex("""
            c9 3b 00 50 ff ff ff 00 00 00 00 00 e0 c2 ff ff 00 00 00 00
            02 04 05 b4 01 03 03 07 04 02 08 0a 00 00 00 09 00 00 00 01
            05 0a 00 00 00 01 00 00 00 02 fe 02 00 00 00 00
            """)
        try bytes.withUnsafeBytes { raw in
            let tcp = try TCPHeader(raw)
            #expect(tcp.sourcePort == 51515 && tcp.destinationPort == 80)
            #expect(tcp.sequenceNumber == 0xFFFF_FF00)
            #expect(tcp.headerLength == 56)
            #expect(tcp.flags == [.syn, .ece, .cwr])
            #expect(tcp.window == 0xFFFF)
            var seen: [String] = []
            var options = tcp.options
            while let option = options.next() {
                switch option {
                case let .maximumSegmentSize(mss): seen.append("mss\(mss)")
                case .noOperation: seen.append("nop")
                case let .windowScale(shift): seen.append("ws\(shift)")
                case .sackPermitted: seen.append("sackok")
                case let .timestamps(value, echo): seen.append("ts\(value),\(echo)")
                case let .sack(blocks): seen.append("sack\(blocks.count / 8)")
                case let .unknown(kind, data): seen.append("k\(kind)/\(data.count)")
                case .endOfList: seen.append("eol")
                }
            }
            #expect(seen == ["mss1460", "nop", "ws7", "sackok", "ts9,1", "sack1", "k254/0", "eol"])
            #expect(options.error == nil)
        }
        // An option whose length runs past the header is an error, not a trap.
        let bad = TestFrames.hex("00 01 00 02 00 00 00 00 00 00 00 00 60 02 00 10 00 00 00 00 02 09 05 b4")
        bad.withUnsafeBytes { raw in
            var options = (try? TCPHeader(raw))!.options
            #expect(options.next() == nil)
            #expect(options.error == PacketError(.tcp, .badOption(kind: 2, offset: 20)))
        }
    }

    @Test("TCP data offset faults")
    func tcpFaults() {
        let low = TestFrames.hex("00 01 00 02 00 00 00 00 00 00 00 00 40 02 00 10 00 00 00 00")
        _ = low.withUnsafeBytes { raw in
            #expect(throws: PacketError(.tcp, .dataOffsetTooSmall(4))) { try TCPHeader(raw) }
        }
        let past = TestFrames.hex("00 01 00 02 00 00 00 00 00 00 00 00 f0 02 00 10 00 00 00 00")
        past.withUnsafeBytes { raw in
            #expect(throws: PacketError(.tcp, .dataOffsetPastSegment(dataOffset: 60, segmentLength: 20))) {
                try TCPHeader(raw, segmentLength: 20)
            }
            #expect(throws: PacketError(.tcp, .truncated(needed: 60, available: 20))) { try TCPHeader(raw) }
        }
    }

    @Test("VXLAN header, RFC 7348 section 5")
    func vxlan() throws {
        let bytes = TestFrames.hex("08 00 00 00 ff ff ff 00")
        try bytes.withUnsafeBytes { raw in
            let header = try VXLANHeader(raw)
            #expect(header.flags == 8 && header.hasValidVNI)
            #expect(header.vni == 0xFF_FFFF)
        }
    }

    @Test("Linux cooked headers, v1 and v2")
    func sll() throws {
        let v1 = TestFrames.hex("0004 0001 0006 020000000001 0000 0800")
        try v1.withUnsafeBytes { raw in
            let header = try LinuxSLLHeader(raw, version: 1)
            #expect(header.protocolType == 0x0800 && header.packetType == 4 && header.hardwareType == 1)
        }
        let v2 = TestFrames.hex("86dd 0000 00000007 0001 00 06 020000000001 0000")
        try v2.withUnsafeBytes { raw in
            let header = try LinuxSLLHeader(raw, version: 2)
            #expect(header.protocolType == 0x86DD && header.interfaceIndex == 7 && header.packetType == 0)
            #expect(header.length == 20)
        }
    }

    @Test("every view throws, never traps, on every truncation of its header")
    func truncations() {
        let full = [UInt8](repeating: 0x45, count: 64)
        for length in 0..<64 {
            let bytes = Array(full[..<length])
            bytes.withUnsafeBytes { raw in
                _ = try? EthernetHeader(raw)
                _ = try? VLANTag(raw, tpid: 0x8100)
                _ = try? LinuxSLLHeader(raw, version: 1)
                _ = try? LinuxSLLHeader(raw, version: 2)
                _ = try? ARPPacket(raw)
                _ = try? IPv4Header(raw)
                _ = try? IPv6Header(raw)
                _ = try? IPv6ExtensionHeader(raw, type: 0)
                _ = try? IPv6ExtensionHeader(raw, type: 44)
                _ = try? ICMPHeader(raw)
                _ = try? ICMPv6Header(raw)
                _ = try? UDPHeader(raw)
                _ = try? TCPHeader(raw)
                _ = try? VXLANHeader(raw)
            }
        }
        let twenty = Array(full[..<19])
        twenty.withUnsafeBytes { raw in
            #expect(throws: PacketError(.tcp, .truncated(needed: 20, available: 19))) { try TCPHeader(raw) }
            #expect(throws: PacketError(.udp, .truncated(needed: 8, available: 7))) {
                try UDPHeader(UnsafeRawBufferPointer(rebasing: raw[..<7]))
            }
        }
    }
}
