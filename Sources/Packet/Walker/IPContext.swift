/// What a transport header needs from the IP header around it to verify its checksum.
///
/// Holds the source and destination addresses in place (8 bytes for IPv4, 32 for IPv6, which
/// both headers keep side by side), the upper-layer length the IP header announces, and whether
/// the datagram is a fragment, in which case a transport checksum cannot be verified.
public struct IPContext {
    /// Source then destination address, as they stand in the IP header.
    public let addresses: UnsafeRawBufferPointer
    /// The transport header plus data length the IP header announces.
    public var upperLayerLength: Int
    /// True when the datagram is a fragment (first or later).
    public var isFragment: Bool

    @inlinable
    public init(addresses: UnsafeRawBufferPointer, upperLayerLength: Int, isFragment: Bool) {
        self.addresses = addresses
        self.upperLayerLength = upperLayerLength
        self.isFragment = isFragment
    }

    @inlinable public var isIPv6: Bool { addresses.count == 32 }

    /// The pseudo-header sum (RFC 768, RFC 793, RFC 8200 section 8.1) for `protocolNumber` and `length`.
    @inlinable
    public func pseudoHeaderSum(protocolNumber: UInt8, length: Int) -> InternetChecksum {
        var sum = InternetChecksum()
        sum.add(addresses)
        sum.add(UInt32(truncatingIfNeeded: length))
        sum.add(UInt16(protocolNumber))
        return sum
    }

    /// Verifies a transport checksum over `covered` bytes of `segment`, with or without a
    /// pseudo-header: nil when the datagram is a fragment or a covered byte was not captured.
    @inlinable
    func verify(_ segment: UnsafeRawBufferPointer, covered: Int, pseudoHeader protocolNumber: UInt8?) -> Bool? {
        guard !isFragment, covered >= 0, covered <= segment.count else { return nil }
        var sum = protocolNumber.map { pseudoHeaderSum(protocolNumber: $0, length: covered) } ?? InternetChecksum()
        sum.add(UnsafeRawBufferPointer(rebasing: segment[..<covered]))
        return sum.isValid
    }

    /// True when `checksum` holds only the pseudo-header sum: the CHECKSUM_PARTIAL state in
    /// which Linux leaves a segment for hardware (or the receiver) to finish. Over veth such
    /// segments reach captures and tunnels unfinished; they are not corrupt.
    @inlinable
    public func isPartialChecksum(_ checksum: UInt16, protocolNumber: UInt8, length: Int) -> Bool {
        checksum != 0 && checksum == pseudoHeaderSum(protocolNumber: protocolNumber, length: length).folded
    }
}
