/// The shape of a raw IPv4 or IPv6 packet as a TUN device hands it over: family, header
/// lengths, protocol, addresses and ports, read once with named fields.
///
/// Lighter than `LayerWalker` and meant for the forwarding path, which wants only where the
/// transport header starts and whom the packet is for: it checks no checksum and walks no
/// IPv6 extension header (`protocolNumber` is then the first next-header value, and a
/// forwarder treats the packet as opaque). Every accessor stays inside the bytes the
/// initializer checked.
public struct IPPacketShape {
    /// Field offsets, as RFC 791 and RFC 8200 lay them out.
    @usableFromInline
    enum Field {
        @usableFromInline static let v4TotalLength = 2
        @usableFromInline static let v4Identification = 4
        @usableFromInline static let v4Fragment = 6
        @usableFromInline static let v4Protocol = 9
        @usableFromInline static let v4Source = 12
        @usableFromInline static let v4Destination = 16
        @usableFromInline static let v6PayloadLength = 4
        @usableFromInline static let v6NextHeader = 6
        @usableFromInline static let v6Source = 8
        @usableFromInline static let v6Destination = 24
        @usableFromInline static let v6HeaderLength = 40
    }

    /// The packet, as given (not clipped to the length its header announces).
    public let bytes: UnsafeRawBufferPointer
    public let isIPv6: Bool
    /// Bytes of the IP header: 20-60 for IPv4, 40 for IPv6.
    public let ipHeaderLength: Int

    /// Checks the version and that the IP header lies within `bytes`; nil otherwise.
    @inlinable
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else { return nil }
        switch first >> 4 {
        case 4:
            let length = Int(first & 0x0F) * 4
            guard length >= IPv4Header.minimumLength, bytes.count >= length else { return nil }
            isIPv6 = false
            ipHeaderLength = length
        case 6:
            guard bytes.count >= Field.v6HeaderLength else { return nil }
            isIPv6 = true
            ipHeaderLength = Field.v6HeaderLength
        default:
            return nil
        }
        self.bytes = bytes
    }

    /// The transport protocol (IPv6: the fixed header's next header).
    @inlinable public var protocolNumber: UInt8 { bytes[isIPv6 ? Field.v6NextHeader : Field.v4Protocol] }
    @inlinable public var isTCP: Bool { protocolNumber == IPProtocol.tcp }
    @inlinable public var isUDP: Bool { protocolNumber == IPProtocol.udp }

    /// The packet's length as its header announces it (IPv6: fixed header plus payload length).
    @inlinable public var declaredLength: Int {
        isIPv6 ? Field.v6HeaderLength + Int(bytes.u16(Field.v6PayloadLength)) : Int(bytes.u16(Field.v4TotalLength))
    }

    /// True when the packet is exactly as long as its header says: no padding, nothing cut.
    @inlinable public var isWhole: Bool { declaredLength == bytes.count }

    /// IPv4 fragment field (flags and offset), 0 for IPv6.
    @inlinable public var isFragment: Bool { !isIPv6 && bytes.u16(Field.v4Fragment) & 0x3FFF != 0 }
    /// An IPv4 fragment other than the first: no transport header in it.
    @inlinable public var isLaterFragment: Bool { !isIPv6 && bytes.u16(Field.v4Fragment) & 0x1FFF != 0 }
    @inlinable public var identification: UInt16 { isIPv6 ? 0 : bytes.u16(Field.v4Identification) }

    @inlinable public var source: IPAddress {
        isIPv6 ? .v6(IPv6Address(bytes, at: Field.v6Source)) : .v4(IPv4Address(bytes, at: Field.v4Source))
    }

    @inlinable public var destination: IPAddress {
        isIPv6 ? .v6(IPv6Address(bytes, at: Field.v6Destination)) : .v4(IPv4Address(bytes, at: Field.v4Destination))
    }

    /// Source then destination address as they lie in the header (the pseudo-header's part).
    @inlinable public var addressBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: isIPv6 ? bytes[Field.v6Source..<Field.v6HeaderLength]
                                                : bytes[Field.v4Source..<(Field.v4Destination + 4)])
    }

    /// The pseudo-header context of the transport header, for the packet as it is.
    @inlinable public var context: IPContext {
        IPContext(addresses: addressBytes, upperLayerLength: bytes.count - ipHeaderLength, isFragment: isFragment)
    }

    /// Source and destination port of a TCP or UDP packet that carries its transport header
    /// (not a later fragment, long enough); nil otherwise.
    @inlinable public var ports: (source: UInt16, destination: UInt16)? {
        guard isTCP || isUDP, !isLaterFragment, bytes.count >= ipHeaderLength + 4 else { return nil }
        return (bytes.u16(ipHeaderLength), bytes.u16(ipHeaderLength + 2))
    }

    /// IP plus transport header bytes of a TCP or UDP packet whose transport header is all
    /// there (TCP: its data offset, options included); nil for other protocols or a cut header.
    @inlinable public var headersLength: Int? {
        if isUDP {
            guard !isLaterFragment else { return nil }
            return bytes.count >= ipHeaderLength + UDPHeader.length ? ipHeaderLength + UDPHeader.length : nil
        }
        guard isTCP, !isLaterFragment, bytes.count >= ipHeaderLength + TCPHeader.minimumLength else { return nil }
        let tcp = TCPHeader(validated: UnsafeRawBufferPointer(rebasing: bytes[ipHeaderLength...]))
        let length = ipHeaderLength + tcp.headerLength
        return tcp.headerLength >= TCPHeader.minimumLength && length <= bytes.count ? length : nil
    }

    /// The TCP header of a TCP packet with its header all there.
    @inlinable public var tcp: TCPHeader? {
        guard isTCP, headersLength != nil else { return nil }
        return TCPHeader(validated: UnsafeRawBufferPointer(rebasing: bytes[ipHeaderLength...]))
    }
}
