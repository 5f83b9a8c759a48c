/// A view of an IPv6 extension header: hop-by-hop options (0), routing (43), fragment (44) or
/// destination options (60).
public struct IPv6ExtensionHeader {
    /// The extension header and what follows it.
    public let bytes: UnsafeRawBufferPointer
    /// The header type: the Next Header value that announced it.
    public let headerType: UInt8

    /// True for the extension headers this view reads.
    @inlinable
    public static func isSupported(_ nextHeader: UInt8) -> Bool {
        nextHeader == IPProtocol.hopByHop || nextHeader == IPProtocol.routing
            || nextHeader == IPProtocol.fragment || nextHeader == IPProtocol.destinationOptions
    }

    /// Wraps bytes the checks have already accepted (`LayerStack` rebuilds its views this way).
    @inlinable
    init(validated bytes: UnsafeRawBufferPointer, type: UInt8) {
        self.bytes = bytes
        self.headerType = type
    }

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, type: UInt8) throws(PacketError) {
        try self.init(checking: bytes, type: type)
    }

    /// The checks behind `init(_:)`, always inlined: `LayerStack` walks a whole frame in one
    /// function and wants them in line, where `LayerWalker` is faster with them called.
    @inlinable @inline(__always)
    init(checking bytes: UnsafeRawBufferPointer, type: UInt8) throws(PacketError) {
        guard bytes.count >= 8 else {
            throw PacketError(.ipv6Extension, .truncated(needed: 8, available: bytes.count))
        }
        let length = type == IPProtocol.fragment ? 8 : (Int(bytes.u8(1)) + 1) * 8
        guard bytes.count >= length else {
            throw PacketError(.ipv6Extension, .truncated(needed: length, available: bytes.count))
        }
        self.bytes = bytes
        self.headerType = type
    }

    @inlinable public var nextHeader: UInt8 { bytes.u8(0) }
    /// The header's length in bytes.
    @inlinable public var length: Int { headerType == IPProtocol.fragment ? 8 : (Int(bytes.u8(1)) + 1) * 8 }
    @inlinable public var isFragmentHeader: Bool { headerType == IPProtocol.fragment }
    /// Fragment offset in bytes (fragment header only).
    @inlinable public var fragmentOffset: Int { isFragmentHeader ? Int(bytes.u16(2) >> 3) * 8 : 0 }
    /// More-fragments flag (fragment header only).
    @inlinable public var moreFragments: Bool { isFragmentHeader && bytes.u8(3) & 1 != 0 }
    /// A fragment header with offset 0 and M clear (RFC 6946): the datagram is whole, so its
    /// transport checksum can be verified as if the header were not there.
    @inlinable public var isAtomicFragment: Bool { isFragmentHeader && fragmentOffset == 0 && !moreFragments }
    /// Fragment identification (fragment header only).
    @inlinable public var identification: UInt32 { isFragmentHeader ? bytes.u32(4) : 0 }
    /// The routing type (routing header only).
    @inlinable public var routingType: UInt8 { headerType == IPProtocol.routing ? bytes.u8(2) : 0 }
    /// The options or type-specific data after the first two bytes.
    @inlinable public var body: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[2..<length]) }
    @inlinable public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[length...]) }
}
