import Packet

/// Builds test frames with the Packet library's own builders, innermost first.
enum Frames {
    static let macA = MACAddress("02:00:5e:00:00:0a")!
    static let macB = MACAddress("02:00:5e:00:00:0b")!
    static let v4A = IPv4Address("192.0.2.10")!
    static let v4B = IPv4Address("192.0.2.20")!
    static let v6A = IPv6Address("2001:db8::a")!
    static let v6B = IPv6Address("2001:db8::b")!

    static func ethernet(_ payload: [UInt8], etherType: UInt16) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 14) + payload
        frame.withUnsafeMutableBytes { _ = try? EthernetHeader.write(into: $0, destination: macB, source: macA, etherType: etherType) }
        return frame
    }

    /// IPv4 around `payload`, header checksum filled in; transport checksums computed if asked.
    static func ipv4(_ payload: [UInt8], protocolNumber: UInt8, fixTransport: Bool = true) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: 20) + payload
        packet.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: v4A, destination: v4B, protocolNumber: protocolNumber,
                                      totalLength: raw.count, identification: 7)
        }
        if fixTransport { fixChecksum(&packet, headerLength: 20, protocolNumber: protocolNumber) }
        return packet
    }

    static func ipv6(_ payload: [UInt8], nextHeader: UInt8, fixTransport: Bool = true) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: 40) + payload
        packet.withUnsafeMutableBytes { raw in
            _ = try? IPv6Header.write(into: raw, source: v6A, destination: v6B, nextHeader: nextHeader,
                                      payloadLength: payload.count)
        }
        if fixTransport { fixChecksum(&packet, headerLength: 40, protocolNumber: nextHeader) }
        return packet
    }

    static func udp(_ data: [UInt8], source: UInt16 = 40000, destination: UInt16 = 7) -> [UInt8] {
        var datagram = [UInt8](repeating: 0, count: 8) + data
        datagram.withUnsafeMutableBytes { _ = try? UDPHeader.write(into: $0, sourcePort: source, destinationPort: destination, payloadLength: data.count) }
        return datagram
    }

    static func tcp(_ data: [UInt8], flags: UInt8 = 0x18, dataOffsetWords: UInt8 = 5) -> [UInt8] {
        var segment: [UInt8] = [0x9C, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 2, dataOffsetWords << 4, flags, 0x01, 0x00, 0, 0, 0, 0]
        segment += data
        return segment
    }

    static func icmpEcho(_ data: [UInt8]) -> [UInt8] {
        var message = [UInt8](repeating: 0, count: 8) + data
        message.withUnsafeMutableBytes {
            _ = try? ICMPHeader.write(into: $0, type: 8, code: 0, restOfHeader: 0x0001_0001, bodyLength: data.count)
        }
        return message
    }

    /// Fills the TCP or UDP checksum of the packet whose IP header is `headerLength` bytes.
    static func fixChecksum(_ packet: inout [UInt8], headerLength: Int, protocolNumber: UInt8) {
        guard protocolNumber == IPProtocol.tcp || protocolNumber == IPProtocol.udp else { return }
        packet.withUnsafeMutableBytes { raw in
            let isV6 = headerLength == 40
            let context = IPContext(
                addresses: UnsafeRawBufferPointer(rebasing: raw[(isV6 ? 8 : 12)..<(isV6 ? 40 : 20)]),
                upperLayerLength: raw.count - headerLength, isFragment: false)
            let segment = UnsafeMutableRawBufferPointer(rebasing: raw[headerLength...])
            guard segment.count >= 8 else { return }
            if protocolNumber == IPProtocol.tcp {
                try? TCPHeader.fillChecksum(in: segment, segmentLength: segment.count, context: context)
            } else {
                let dataLength = segment.count - 8
                _ = try? UDPHeader.write(into: segment, sourcePort: UInt16(segment[0]) << 8 | UInt16(segment[1]),
                                         destinationPort: UInt16(segment[2]) << 8 | UInt16(segment[3]),
                                         payloadLength: dataLength, checksumContext: context)
            }
        }
    }
}
