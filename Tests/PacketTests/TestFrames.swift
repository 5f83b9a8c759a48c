import Packet

/// Byte helpers and hand-laid frames shared by the Packet tests.
enum TestFrames {
    /// Bytes from hex text; spaces, newlines and `|` separators are ignored.
    static func hex(_ text: String) -> [UInt8] {
        let digits = text.filter(\.isHexDigit)
        precondition(digits.count % 2 == 0, "odd number of hex digits")
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            bytes.append(UInt8(digits[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    /// Fills in the IPv4 header checksum of the header at `offset`.
    static func fixIPv4Checksum(_ bytes: inout [UInt8], at offset: Int) {
        let ihl = Int(bytes[offset] & 0x0F) * 4
        bytes[offset + 10] = 0
        bytes[offset + 11] = 0
        let sum = bytes.withUnsafeBytes { InternetChecksum.of(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + ihl)])) }
        bytes[offset + 10] = UInt8(sum >> 8)
        bytes[offset + 11] = UInt8(sum & 0xFF)
    }

    /// Ethernet / IPv4 / UDP 4789 / VXLAN 42 / Ethernet / IPv4 / TCP (with MSS, SACK-permitted,
    /// timestamps, NOP, window scale) / 12 bytes of data, every checksum correct.
    static let vxlanTCP: [UInt8] = {
        var inner = hex("""
            02 00 00 00 00 0b  02 00 00 00 00 0a  08 00
            45 00 00 48 12 34 40 00 40 06 00 00  0a 01 00 01  0a 01 00 02
            9c 40 00 50  00 00 03 e8  00 00 07 d0  a0 12 fa f0 00 00 00 00
            02 04 05 b4 04 02 08 0a 00 00 00 09 00 00 00 00 01 03 03 07
            68 65 6c 6c 6f 2c 20 76 78 6c 61 6e
            """)
        fixIPv4Checksum(&inner, at: 14)
        fixTransportChecksum(&inner, ipOffset: 14)
        var outer = hex("""
            02 00 5e 00 00 02  02 00 5e 00 00 01  08 00
            45 00 00 00 00 01 40 00 40 11 00 00  c6 33 64 01  c6 33 64 02
            c0 00 12 b5 00 00 00 00
            08 00 00 00 00 00 2a 00
            """)
        let ipLength = 20 + 8 + 8 + inner.count
        outer[16] = UInt8(ipLength >> 8)
        outer[17] = UInt8(ipLength & 0xFF)
        outer[38] = UInt8((ipLength - 20) >> 8)
        outer[39] = UInt8((ipLength - 20) & 0xFF)
        var frame = outer + inner
        fixIPv4Checksum(&frame, at: 14)
        fixTransportChecksum(&frame, ipOffset: 14)
        return frame
    }()

    /// Computes the TCP/UDP/ICMP checksum of the IPv4 or IPv6 packet at `ipOffset` in place.
    static func fixTransportChecksum(_ bytes: inout [UInt8], ipOffset: Int) {
        bytes.withUnsafeMutableBytes { raw in
            let packet = UnsafeMutableRawBufferPointer(rebasing: raw[ipOffset...])
            let isV6 = packet[0] >> 4 == 6
            let headerLength = isV6 ? 40 : Int(packet[0] & 0x0F) * 4
            let proto = isV6 ? packet[6] : packet[9]
            let length = isV6 ? Int(packet[4]) << 8 | Int(packet[5]) : (Int(packet[2]) << 8 | Int(packet[3])) - headerLength
            let segment = UnsafeMutableRawBufferPointer(rebasing: packet[headerLength..<(headerLength + length)])
            let checksumOffset = proto == 6 ? 16 : proto == 17 ? 6 : 2
            segment[checksumOffset] = 0
            segment[checksumOffset + 1] = 0
            var sum = InternetChecksum()
            if proto != 1 {
                sum = IPContext(
                    addresses: UnsafeRawBufferPointer(rebasing: packet[(isV6 ? 8 : 12)..<(isV6 ? 40 : 20)]),
                    upperLayerLength: length, isFragment: false
                ).pseudoHeaderSum(protocolNumber: proto, length: length)
            }
            sum.add(UnsafeRawBufferPointer(segment))
            let value = sum.value
            segment[checksumOffset] = UInt8(value >> 8)
            segment[checksumOffset + 1] = UInt8(value & 0xFF)
        }
    }

    /// Walks `bytes`; returns the layer kinds and the error, if any.
    static func walk(_ bytes: [UInt8], linkType: LinkType = .ethernet) -> (kinds: [LayerKind], error: PacketError?) {
        bytes.withUnsafeBytes { raw in
            var walker = LayerWalker(raw, linkType: linkType)
            var kinds: [LayerKind] = []
            do throws(PacketError) {
                while let layer = try walker.next() { kinds.append(layer.kind) }
                return (kinds, nil)
            } catch {
                return (kinds, error)
            }
        }
    }
}
