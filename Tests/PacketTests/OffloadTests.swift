import Packet
import Testing

/// GSO split and TCP coalescing against each other and against the checksum rules.
@Suite("GSO split and TCP coalescing")
struct OffloadTests {
    /// An IPv4/TCP packet of `payload` bytes with a pseudo-header-only checksum, as a TUN
    /// device with TSO hands it over, and its virtio header for `mss`.
    static func superPacket(payload: Int, mss: Int, ipv6: Bool = false) -> ([UInt8], VirtioNetHeader) {
        let ipLength = ipv6 ? 40 : 20
        var packet = [UInt8](repeating: 0, count: ipLength + 32 + payload)
        packet.withUnsafeMutableBytes { raw in
            if ipv6 {
                _ = try? IPv6Header.write(into: raw, source: IPv6Address("fd00::1")!, destination: IPv6Address("fd00::2")!,
                                          nextHeader: IPProtocol.tcp, payloadLength: raw.count - 40)
            } else {
                _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.0.0.1")!, destination: IPv4Address("10.0.0.2")!,
                                          protocolNumber: IPProtocol.tcp, totalLength: raw.count, identification: 100)
            }
            let tcp = UnsafeMutableRawBufferPointer(rebasing: raw[ipLength...])
            let header: [UInt8] = [0xC3, 0x50, 0x00, 0x50, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00, 0x80, 0x98, 0x01, 0xF5,
                                   0, 0, 0, 0, 0x01, 0x01, 0x08, 0x0A, 0, 0, 0, 9, 0, 0, 0, 7]
            for (i, b) in header.enumerated() { tcp[i] = b }
            for i in 32..<tcp.count { tcp[i] = UInt8(truncatingIfNeeded: i * 7) }
            let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: raw[(ipv6 ? 8 : 12)..<(ipv6 ? 40 : 20)]),
                                    upperLayerLength: tcp.count, isFragment: false)
            let partial = context.pseudoHeaderSum(protocolNumber: IPProtocol.tcp, length: tcp.count).folded
            tcp[16] = UInt8(partial >> 8)
            tcp[17] = UInt8(partial & 0xFF)
        }
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: ipv6 ? .tcpv6 : .tcpv4,
                                     headerLength: UInt16(ipLength + 32), gsoSize: UInt16(mss),
                                     checksumStart: UInt16(ipLength), checksumOffset: 16)
        return (packet, header)
    }

    static func split(_ packet: [UInt8], _ header: VirtioNetHeader) throws -> [[UInt8]] {
        let slots = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 2048, alignment: 16)
        let lengths = UnsafeMutableBufferPointer<Int>.allocate(capacity: 64)
        defer { slots.deallocate(); lengths.deallocate() }
        let count = try packet.withUnsafeBytes { raw throws(GSOSplitter.Failure) in
            try GSOSplitter.split(raw, header: header, into: slots, slotSize: 2048, lengths: lengths)
        }
        return (0..<count).map { Array(slots[($0 * 2048)..<($0 * 2048 + lengths[$0])]) }
    }

    @Test("split: MSS-sized segments, contiguous sequence numbers, valid checksums, flags on the right ends",
          arguments: [false, true])
    func split(ipv6: Bool) throws {
        let (packet, header) = Self.superPacket(payload: 10_000, mss: 1448, ipv6: ipv6)
        let segments = try Self.split(packet, header)
        #expect(segments.count == 7)
        var sequence: UInt32 = 0x1000
        var data: [UInt8] = []
        for (i, segment) in segments.enumerated() {
            segment.withUnsafeBytes { raw in
                var walker = LayerWalker(raw, linkType: .raw)
                while let layer = try? walker.next() {
                    switch layer {
                    case let .ipv4(ip):
                        #expect(ip.isChecksumValid)
                        #expect(ip.identification == UInt16(100 + i))
                    case let .tcp(tcp, context):
                        #expect(tcp.checksumStatus(in: context) == true)
                        #expect(tcp.sequenceNumber == sequence)
                        #expect(tcp.flags.contains(.psh) == (i == segments.count - 1))
                        #expect(tcp.flags.contains(.cwr) == (i == 0))
                        sequence &+= UInt32(tcp.payload.count)
                        data += tcp.payload
                    default: break
                    }
                }
            }
        }
        #expect(data == Array(packet[(ipv6 ? 72 : 52)...]))
    }

    @Test("coalescing the split segments gives back one super-packet with the same stream", arguments: [false, true])
    func roundTrip(ipv6: Bool) throws {
        let (packet, header) = Self.superPacket(payload: 10_000, mss: 1448, ipv6: ipv6)
        var segments = try Self.split(packet, header)
        // Coalescing does not merge across CWR: clear it as the kernel's GRO would have seen it.
        let ipLength = ipv6 ? 40 : 20
        segments[0][ipLength + 13] &= ~0x80
        segments[0].withUnsafeMutableBytes { raw in
            let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: raw[(ipv6 ? 8 : 12)..<(ipv6 ? 40 : 20)]),
                                    upperLayerLength: raw.count - ipLength, isFragment: false)
            try? TCPHeader.fillChecksum(in: UnsafeMutableRawBufferPointer(rebasing: raw[ipLength...]),
                                        segmentLength: raw.count - ipLength, context: context)
        }
        var coalescer = TCPCoalescer()
        var outputs: [([UInt8], VirtioNetHeader)] = []
        for segment in segments {
            let added = segment.withUnsafeBytes { coalescer.append($0) }
            #expect(added)
        }
        coalescer.finish { bytes, header in outputs.append((Array(bytes), header)) }
        #expect(outputs.count == 1)
        let (merged, mergedHeader) = try #require(outputs.first)
        #expect(merged.count == packet.count)
        #expect(mergedHeader.gsoType == (ipv6 ? .tcpv6 : .tcpv4))
        #expect(mergedHeader.gsoSize == 1448)
        #expect(mergedHeader.needsChecksum)
        #expect(Array(merged[(ipv6 ? 72 : 52)...]) == Array(packet[(ipv6 ? 72 : 52)...]))
        // Split again: the same segments come back, with valid checksums.
        let again = try Self.split(merged, mergedHeader)
        #expect(again.count == segments.count)
        for (x, y) in zip(again.dropFirst(), segments.dropFirst()) {
            if ipv6 { #expect(x == y) } else { #expect(Array(x[20...]) == Array(y[20...])) }
        }
    }

    @Test("a gap in the sequence, another flow or a FIN is not coalesced")
    func refusals() throws {
        let (packet, header) = Self.superPacket(payload: 4000, mss: 1000)
        let segments = try Self.split(packet, header)
        var coalescer = TCPCoalescer()
        #expect(segments[1].withUnsafeBytes { coalescer.append($0) })
        #expect(!segments[3].withUnsafeBytes { coalescer.append($0) }, "sequence gap")
        var otherFlow = segments[2]
        otherFlow[21] ^= 1  // source port
        #expect(!otherFlow.withUnsafeBytes { coalescer.append($0) })
        var emitted = 0
        coalescer.finish { _, header in
            emitted += 1
            #expect(header.gsoType == .none)  // one segment: written as it is
        }
        #expect(emitted == 1)
    }
}

@Suite("UDP segmentation offload split")
struct UDPSplitTests {
    @Test("a UDP super-packet (USO) splits into datagrams with their own lengths, ids and checksums")
    func udp() throws {
        let payload = (0..<2500).map { UInt8(truncatingIfNeeded: $0 * 3) }
        var packet = [UInt8](repeating: 0, count: 28) + payload
        packet.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.0.0.1")!, destination: IPv4Address("10.0.0.2")!,
                                      protocolNumber: IPProtocol.udp, totalLength: raw.count, identification: 7)
            _ = try? UDPHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: raw[20...]), sourcePort: 5000,
                                     destinationPort: 6000, payloadLength: payload.count)
        }
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: .udpL4, headerLength: 28,
                                     gsoSize: 1000, checksumStart: 20, checksumOffset: 6)
        let segments = try OffloadTests.split(packet, header)
        #expect(segments.map(\.count) == [1028, 1028, 528])
        var data: [UInt8] = []
        for (i, segment) in segments.enumerated() {
            segment.withUnsafeBytes { raw in
                var walker = LayerWalker(raw, linkType: .raw)
                while let layer = try? walker.next() {
                    switch layer {
                    case let .ipv4(ip):
                        #expect(ip.isChecksumValid && ip.identification == UInt16(7 + i))
                    case let .udp(udp, context):
                        #expect(udp.length == segment.count - 20)
                        #expect(udp.checksumStatus(in: context) == true)
                        data += udp.payload
                    default: break
                    }
                }
            }
        }
        #expect(data == payload)
    }

    /// A whole IPv4 (or IPv6) UDP datagram with a complete checksum.
    static func datagram(_ payload: [UInt8], ipv6: Bool = false, sourcePort: UInt16 = 5000) -> [UInt8] {
        let ip = ipv6 ? 40 : 20
        var packet = [UInt8](repeating: 0, count: ip + 8) + payload
        packet.withUnsafeMutableBytes { raw in
            if ipv6 {
                _ = try? IPv6Header.write(into: raw, source: IPv6Address("fd00::1")!, destination: IPv6Address("fd00::2")!,
                                          nextHeader: IPProtocol.udp, payloadLength: raw.count - 40)
            } else {
                _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.0.0.1")!, destination: IPv4Address("10.0.0.2")!,
                                          protocolNumber: IPProtocol.udp, totalLength: raw.count)
            }
            let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: raw[(ipv6 ? 8 : 12)..<(ipv6 ? 40 : 20)]),
                                    upperLayerLength: raw.count - ip, isFragment: false)
            _ = try? UDPHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: raw[ip...]), sourcePort: sourcePort,
                                     destinationPort: 6000, payloadLength: payload.count, checksumContext: context)
        }
        return packet
    }

    @Test("UDP coalescing: same-size datagrams of a flow become one USO packet that splits back into them",
          arguments: [false, true])
    func udpRoundTrip(ipv6: Bool) throws {
        let datagrams = (0..<5).map { i in Self.datagram((0..<(i == 4 ? 40 : 64)).map { UInt8(truncatingIfNeeded: $0 &+ i) }, ipv6: ipv6) }
        var coalescer = UDPCoalescer()
        for datagram in datagrams { #expect(datagram.withUnsafeBytes { coalescer.append($0) }) }
        var merged: [UInt8] = []
        var header = VirtioNetHeader()
        coalescer.finish { packet, h in
            merged = Array(packet)
            header = h
        }
        #expect(header.gsoType == .udpL4 && header.gsoSize == 64 && header.needsChecksum)
        #expect(merged.count == (ipv6 ? 48 : 28) + 4 * 64 + 40)
        let segments = try OffloadTests.split(merged, header)
        // Split again (the kernel's job), every datagram comes back byte for byte, IPv4 ids aside.
        #expect(segments.count == datagrams.count)
        for (segment, original) in zip(segments, datagrams) {
            var a = segment, b = original
            if !ipv6 { (a[4], a[5], a[10], a[11], b[4], b[5], b[10], b[11]) = (0, 0, 0, 0, 0, 0, 0, 0) }
            #expect(a == b)
        }
    }

    @Test("UDP coalescing stops at another flow, a larger datagram, and after a short one")
    func udpRefusals() {
        var coalescer = UDPCoalescer()
        let payload = [UInt8](repeating: 1, count: 100)
        #expect(Self.datagram(payload).withUnsafeBytes { coalescer.append($0) })
        #expect(!Self.datagram(payload, sourcePort: 5001).withUnsafeBytes { coalescer.append($0) })
        #expect(!Self.datagram(payload + [2]).withUnsafeBytes { coalescer.append($0) })
        #expect(Self.datagram(Array(payload.prefix(50))).withUnsafeBytes { coalescer.append($0) })
        #expect(!Self.datagram(Array(payload.prefix(50))).withUnsafeBytes { coalescer.append($0) })
        var count = 0
        coalescer.finish { _, header in
            count += 1
            #expect(header.gsoType == .udpL4)
        }
        #expect(count == 1 && coalescer.length == 0)
        // Not UDP: refused outright.
        let (tcp, _) = OffloadTests.superPacket(payload: 10, mss: 10)
        #expect(!tcp.withUnsafeBytes { coalescer.append($0) })
    }
}
