/// Cuts a GSO super-packet (a TCP or UDP packet larger than the MTU, as a TUN device with
/// offloads hands it over) into the segments it stands for, each with correct IP and
/// transport headers and checksums. It also finishes checksums left partial.
///
/// Segments are written into caller-owned output slots: nothing is allocated per packet.
public enum GSOSplitter {
    public enum Failure: Error, Equatable, Sendable {
        /// The header or the packet does not describe a TCP/UDP packet over IPv4/IPv6.
        case malformed(String)
        /// An output slot is too small for a segment, or there are too few slots.
        case noRoom
    }

    /// Finishes a partial checksum in place: sums from `start` to the end (the field already
    /// holds the pseudo-header sum) and stores the complement at `start + offset`.
    public static func completeChecksum(_ packet: UnsafeMutableRawBufferPointer, start: Int, offset: Int) throws(Failure) {
        guard start >= 0, start + offset + 2 <= packet.count else { throw .malformed("checksum offsets outside the packet") }
        var sum = InternetChecksum()
        sum.add(UnsafeRawBufferPointer(rebasing: packet[start...]))
        packet.setU16(sum.value, at: start + offset)
    }

    /// Splits `packet` (raw IPv4 or IPv6, no virtio header) as `header` describes into
    /// `slots`; returns the number of segments written and each segment's length in `lengths`.
    ///
    /// A packet with `gsoType == .none` is copied to one slot, its checksum finished if needed.
    public static func split(
        _ packet: UnsafeRawBufferPointer, header: VirtioNetHeader,
        into slots: UnsafeMutableRawBufferPointer, slotSize: Int, lengths: UnsafeMutableBufferPointer<Int>
    ) throws(Failure) -> Int {
        guard packet.count >= 20, slotSize > 0 else { throw .malformed("short packet") }
        let isV6 = packet[0] >> 4 == 6
        guard isV6 || packet[0] >> 4 == 4 else { throw .malformed("not IP") }
        let ipLength = isV6 ? 40 : Int(packet[0] & 0x0F) * 4
        guard packet.count >= ipLength else { throw .malformed("short IP header") }
        let proto = isV6 ? packet[6] : packet[9]
        guard proto == IPProtocol.tcp || proto == IPProtocol.udp || header.gsoType == .none else {
            throw .malformed("GSO of protocol \(proto)")
        }
        if header.gsoType == .none || header.gsoSize == 0 {
            guard packet.count <= slotSize, lengths.count >= 1 else { throw .noRoom }
            let out = UnsafeMutableRawBufferPointer(rebasing: slots[0..<packet.count])
            out.copyMemory(from: packet)
            if header.needsChecksum {
                try completeChecksum(out, start: Int(header.checksumStart), offset: Int(header.checksumOffset))
            }
            lengths[0] = packet.count
            return 1
        }
        let isTCP = proto == IPProtocol.tcp
        guard packet.count >= ipLength + (isTCP ? 20 : 8) else { throw .malformed("short transport header") }
        let transportLength = isTCP ? Int(packet[ipLength + 12] >> 4) * 4 : 8
        let headers = ipLength + transportLength
        guard headers <= packet.count else { throw .malformed("headers past the packet") }
        let payload = packet.count - headers
        let size = Int(header.gsoSize)
        let count = (payload + size - 1) / size
        guard count <= lengths.count, count * slotSize <= slots.count, headers + size <= slotSize else { throw .noRoom }
        let baseID = isV6 ? 0 : packet.u16(4)
        let baseSequence = isTCP ? packet.u32(ipLength + 4) : 0
        let flags = isTCP ? packet[ipLength + 13] : 0
        for i in 0..<count {
            let start = headers + i * size
            let chunk = min(size, packet.count - start)
            let out = UnsafeMutableRawBufferPointer(rebasing: slots[(i * slotSize)..<(i * slotSize + headers + chunk)])
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[..<headers]))
            UnsafeMutableRawBufferPointer(rebasing: out[headers...])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[start..<(start + chunk)]))
            let upper = transportLength + chunk
            if isV6 {
                out.setU16(UInt16(upper), at: 4)
            } else {
                out.setU16(UInt16(ipLength + upper), at: 2)
                out.setU16(baseID &+ UInt16(truncatingIfNeeded: i), at: 4)
                out.setU16(0, at: 10)
                out.setU16(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: out[..<ipLength])), at: 10)
            }
            let transport = UnsafeMutableRawBufferPointer(rebasing: out[ipLength...])
            if isTCP {
                transport.setU32(baseSequence &+ UInt32(truncatingIfNeeded: i * size), at: 4)
                var segmentFlags = flags
                if i != count - 1 { segmentFlags &= ~(0x01 | 0x08) }  // FIN and PSH only on the last
                if i != 0 { segmentFlags &= ~0x80 }                   // CWR only on the first
                transport[13] = segmentFlags
                transport.setU16(0, at: 16)
            } else {
                transport.setU16(UInt16(upper), at: 4)
                transport.setU16(0, at: 6)
            }
            let context = IPContext(
                addresses: UnsafeRawBufferPointer(rebasing: out[(isV6 ? 8 : 12)..<(isV6 ? 40 : 20)]),
                upperLayerLength: upper, isFragment: false)
            var sum = context.pseudoHeaderSum(protocolNumber: proto, length: upper)
            sum.add(UnsafeRawBufferPointer(transport))
            let value = sum.value
            transport.setU16(isTCP ? value : (value == 0 ? 0xFFFF : value), at: isTCP ? 16 : 6)
            lengths[i] = out.count
        }
        return count
    }
}
