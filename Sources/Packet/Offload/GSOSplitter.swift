/// Cuts a GSO super-packet into the segments it stands for, into an array of caller-owned
/// slots (`SuperPacket` does the cutting), and finishes checksums left partial.
///
/// Nothing is allocated per packet.
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
        guard start >= 0, offset >= 0, start + offset + 2 <= packet.count else {
            throw .malformed("checksum offsets outside the packet")
        }
        var sum = InternetChecksum()
        sum.add(UnsafeRawBufferPointer(rebasing: packet[start...]))
        packet.setU16(sum.value, at: start + offset)
    }

    /// Splits `packet` (raw IPv4 or IPv6, no virtio header) as `header` describes into
    /// `slots`, segment i at `i * slotSize`; returns the number of segments written and each
    /// segment's length in `lengths`.
    ///
    /// A packet with `gsoType == .none` is copied to one slot, its checksum finished if needed.
    public static func split(
        _ packet: UnsafeRawBufferPointer, header: VirtioNetHeader,
        into slots: UnsafeMutableRawBufferPointer, slotSize: Int, lengths: UnsafeMutableBufferPointer<Int>
    ) throws(Failure) -> Int {
        guard IPPacketShape(packet) != nil, slotSize > 0 else { throw .malformed("not IP") }
        if header.gsoType == .none || header.gsoSize == 0 {
            guard packet.count <= slotSize, packet.count <= slots.count, lengths.count >= 1 else { throw .noRoom }
            let out = UnsafeMutableRawBufferPointer(rebasing: slots[0..<packet.count])
            out.copyMemory(from: packet)
            if header.needsChecksum {
                try completeChecksum(out, start: Int(header.checksumStart), offset: Int(header.checksumOffset))
            }
            lengths[0] = packet.count
            return 1
        }
        let superPacket = try SuperPacket(packet, header: header)
        let count = superPacket.segmentCount
        guard count <= lengths.count, count * slotSize <= slots.count, superPacket.largestSegment <= slotSize else {
            throw .noRoom
        }
        for i in 0..<count {
            let slot = UnsafeMutableRawBufferPointer(rebasing: slots[(i * slotSize)..<((i + 1) * slotSize)])
            lengths[i] = try superPacket.writeSegment(i, into: slot)
        }
        return count
    }
}
