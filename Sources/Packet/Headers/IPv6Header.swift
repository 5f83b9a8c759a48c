/// A view of an IPv6 packet (RFC 8200): the 40-byte fixed header and what follows it.
///
/// The view ends at 40 + payload length (or at the end of the captured bytes).
public struct IPv6Header {
    /// The packet: fixed header first, clipped to its announced length and to what was captured.
    public let bytes: UnsafeRawBufferPointer

    public static let length = 40

    /// Wraps bytes the checks have already accepted (`LayerStack` rebuilds its views this way).
    @inlinable
    init(validated bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) throws(PacketError) {
        try self.init(checking: bytes)
    }

    /// The checks behind `init(_:)`, always inlined: `LayerStack` walks a whole frame in one
    /// function and wants them in line, where `LayerWalker` is faster with them called.
    @inlinable @inline(__always)
    init(checking bytes: UnsafeRawBufferPointer) throws(PacketError) {
        guard bytes.count >= Self.length else {
            throw PacketError(.ipv6, .truncated(needed: Self.length, available: bytes.count))
        }
        let version = bytes.u8(0) >> 4
        guard version == 6 else { throw PacketError(.ipv6, .badVersion(version)) }
        let payloadLength = Int(bytes.u16(4))
        // A payload length of 0 with a hop-by-hop header is a jumbogram (RFC 2675): keep it all.
        let end = payloadLength == 0 && bytes.u8(6) == IPProtocol.hopByHop ? bytes.count : Self.length + payloadLength
        self.bytes = UnsafeRawBufferPointer(rebasing: bytes[..<Swift.min(end, bytes.count)])
    }

    @inlinable public var version: UInt8 { bytes.u8(0) >> 4 }
    @inlinable public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: bytes.u32(0) >> 20) }
    @inlinable public var flowLabel: UInt32 { bytes.u32(0) & 0xF_FFFF }
    @inlinable public var payloadLength: Int { Int(bytes.u16(4)) }
    @inlinable public var nextHeader: UInt8 { bytes.u8(6) }
    @inlinable public var hopLimit: UInt8 { bytes.u8(7) }
    @inlinable public var source: IPv6Address { IPv6Address(bytes, at: 8) }
    @inlinable public var destination: IPv6Address { IPv6Address(bytes, at: 24) }
    @inlinable public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[Self.length...]) }

    /// The pseudo-header context for what follows the fixed header.
    @inlinable public var context: IPContext {
        IPContext(addresses: UnsafeRawBufferPointer(rebasing: bytes[8..<40]), upperLayerLength: payloadLength, isFragment: false)
    }

    /// Writes a 40-byte header; returns the bytes written.
    @inlinable @discardableResult
    public static func write(
        into buffer: UnsafeMutableRawBufferPointer,
        source: IPv6Address, destination: IPv6Address, nextHeader: UInt8, payloadLength: Int,
        hopLimit: UInt8 = 64, trafficClass: UInt8 = 0, flowLabel: UInt32 = 0
    ) throws(PacketError) -> Int {
        guard buffer.count >= length else { throw PacketError(.ipv6, .noRoom(needed: length, available: buffer.count)) }
        guard (0...0xFFFF).contains(payloadLength) else { throw PacketError(.ipv6, .valueOutOfRange(payloadLength)) }
        buffer.setU32(6 << 28 | UInt32(trafficClass) << 20 | (flowLabel & 0xF_FFFF), at: 0)
        buffer.setU16(UInt16(payloadLength), at: 4)
        buffer.setU8(nextHeader, at: 6)
        buffer.setU8(hopLimit, at: 7)
        source.write(to: buffer, at: 8)
        destination.write(to: buffer, at: 24)
        return length
    }

    /// Sets the payload length of the header at the start of `buffer`.
    @inlinable
    public static func setPayloadLength(_ payloadLength: Int, in buffer: UnsafeMutableRawBufferPointer) throws(PacketError) {
        guard buffer.count >= length else { throw PacketError(.ipv6, .truncated(needed: length, available: buffer.count)) }
        guard (0...0xFFFF).contains(payloadLength) else { throw PacketError(.ipv6, .valueOutOfRange(payloadLength)) }
        buffer.setU16(UInt16(payloadLength), at: 4)
    }
}
