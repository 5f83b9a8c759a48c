/// The header fix-up both coalescers end with: a run merged into one packet gets the IP
/// lengths (and IPv4 header checksum) of the whole, and its transport checksum field the
/// pseudo-header sum only, for the kernel to finish per segment (VIRTIO_NET_HDR_F_NEEDS_CSUM).
enum SuperPacketHeaders {
    /// Rewrites `packet`'s IP header for its full length and stores the pseudo-header sum of
    /// `protocolNumber` at `checksumOffset` within the transport header; returns the transport
    /// length.
    @discardableResult
    static func finish(_ packet: UnsafeMutableRawBufferPointer, ipLength: Int, protocolNumber: UInt8, checksumOffset: Int) -> Int {
        let isV6 = packet[0] >> 4 == 6
        let upper = packet.count - ipLength
        if isV6 {
            packet.setU16(UInt16(upper), at: 4)
        } else {
            packet.setU16(UInt16(packet.count), at: 2)
            packet.setU16(0, at: 10)
            packet.setU16(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: packet[..<ipLength])), at: 10)
        }
        let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: packet[(isV6 ? 8 : 12)..<(isV6 ? 40 : 20)]),
                                upperLayerLength: upper, isFragment: false)
        packet.setU16(context.pseudoHeaderSum(protocolNumber: protocolNumber, length: upper).folded, at: ipLength + checksumOffset)
        return upper
    }
}
