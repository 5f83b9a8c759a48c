/// A view of an IPv4 datagram (RFC 791): the header, its options, and the payload.
///
/// The view ends at the datagram's total length (or at the end of the captured bytes, if that
/// comes first), so Ethernet padding never counts as payload.
public struct IPv4Header {
    /// The datagram: header first, clipped to total length and to what was captured.
    public let bytes: UnsafeRawBufferPointer

    public static let minimumLength = 20

    /// Wraps bytes the checks have already accepted (`LayerStack` rebuilds its views this way).
    @inlinable
    init(validated bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Checks the version, the header length against the captured bytes and the total length.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) throws(PacketError) {
        try self.init(checking: bytes)
    }

    /// The checks behind `init(_:)`, always inlined: `LayerStack` walks a whole frame in one
    /// function and wants them in line, where `LayerWalker` is faster with them called.
    @inlinable @inline(__always)
    init(checking bytes: UnsafeRawBufferPointer) throws(PacketError) {
        guard bytes.count >= Self.minimumLength else {
            throw PacketError(.ipv4, .truncated(needed: Self.minimumLength, available: bytes.count))
        }
        let first = bytes.u8(0)
        guard first >> 4 == 4 else { throw PacketError(.ipv4, .badVersion(first >> 4)) }
        let ihl = Int(first & 0x0F)
        guard ihl >= 5 else { throw PacketError(.ipv4, .headerLengthTooSmall(ihl)) }
        let headerLength = ihl * 4
        guard headerLength <= bytes.count else {
            throw PacketError(.ipv4, .truncated(needed: headerLength, available: bytes.count))
        }
        let total = Int(bytes.u16(2))
        guard headerLength <= total else {
            throw PacketError(.ipv4, .headerPastTotalLength(headerLength: headerLength, totalLength: total))
        }
        self.bytes = UnsafeRawBufferPointer(rebasing: bytes[..<Swift.min(total, bytes.count)])
    }

    @inlinable public var version: UInt8 { bytes.u8(0) >> 4 }
    /// Header length in 32-bit words.
    @inlinable public var ihl: Int { Int(bytes.u8(0) & 0x0F) }
    @inlinable public var headerLength: Int { ihl * 4 }
    /// The DSCP and ECN byte.
    @inlinable public var tos: UInt8 { bytes.u8(1) }
    @inlinable public var totalLength: Int { Int(bytes.u16(2)) }
    @inlinable public var identification: UInt16 { bytes.u16(4) }
    @inlinable public var dontFragment: Bool { bytes.u8(6) & 0x40 != 0 }
    @inlinable public var moreFragments: Bool { bytes.u8(6) & 0x20 != 0 }
    /// Fragment offset in bytes.
    @inlinable public var fragmentOffset: Int { Int(bytes.u16(6) & 0x1FFF) * 8 }
    /// True for any fragment, first or later.
    @inlinable public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    @inlinable public var ttl: UInt8 { bytes.u8(8) }
    @inlinable public var protocolNumber: UInt8 { bytes.u8(9) }
    @inlinable public var headerChecksum: UInt16 { bytes.u16(10) }
    @inlinable public var source: IPv4Address { IPv4Address(bytes, at: 12) }
    @inlinable public var destination: IPv4Address { IPv4Address(bytes, at: 16) }
    /// The options, between the fixed header and `headerLength`.
    @inlinable public var options: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[Self.minimumLength..<headerLength])
    }
    /// The payload, up to total length or the end of the capture.
    @inlinable public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[headerLength...]) }

    /// True when the header checksum is correct.
    @inlinable public var isChecksumValid: Bool {
        var sum = InternetChecksum()
        sum.add(UnsafeRawBufferPointer(rebasing: bytes[..<headerLength]))
        return sum.isValid
    }

    /// The pseudo-header context for the transport header that follows.
    @inlinable public var context: IPContext {
        IPContext(
            addresses: UnsafeRawBufferPointer(rebasing: bytes[12..<20]),
            upperLayerLength: Swift.max(totalLength - headerLength, 0),
            isFragment: isFragment)
    }

    /// Writes a 20-byte header with a correct checksum; returns the bytes written.
    @inlinable @discardableResult
    public static func write(
        into buffer: UnsafeMutableRawBufferPointer,
        source: IPv4Address, destination: IPv4Address, protocolNumber: UInt8, totalLength: Int,
        ttl: UInt8 = 64, tos: UInt8 = 0, identification: UInt16 = 0, dontFragment: Bool = true
    ) throws(PacketError) -> Int {
        guard buffer.count >= minimumLength else {
            throw PacketError(.ipv4, .noRoom(needed: minimumLength, available: buffer.count))
        }
        guard (minimumLength...0xFFFF).contains(totalLength) else {
            throw PacketError(.ipv4, .valueOutOfRange(totalLength))
        }
        buffer.setU8(0x45, at: 0)
        buffer.setU8(tos, at: 1)
        buffer.setU16(UInt16(totalLength), at: 2)
        buffer.setU16(identification, at: 4)
        buffer.setU16(dontFragment ? 0x4000 : 0, at: 6)
        buffer.setU8(ttl, at: 8)
        buffer.setU8(protocolNumber, at: 9)
        buffer.setU16(0, at: 10)
        source.write(to: buffer, at: 12)
        destination.write(to: buffer, at: 16)
        buffer.setU16(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: buffer[..<minimumLength])), at: 10)
        return minimumLength
    }

    /// Sets the TTL of the header at the start of `buffer`, updating the checksum incrementally
    /// (RFC 1624) instead of summing the header again.
    @inlinable
    public static func setTTL(_ ttl: UInt8, in buffer: UnsafeMutableRawBufferPointer) throws(PacketError) {
        guard buffer.count >= minimumLength else {
            throw PacketError(.ipv4, .truncated(needed: minimumLength, available: buffer.count))
        }
        let oldWord = UInt16(buffer[8]) << 8 | UInt16(buffer[9])
        let newWord = UInt16(ttl) << 8 | UInt16(buffer[9])
        let old = UInt16(buffer[10]) << 8 | UInt16(buffer[11])
        buffer.setU8(ttl, at: 8)
        buffer.setU16(InternetChecksum.update(old, old: oldWord, new: newWord), at: 10)
    }

    /// Sets the total length and identification of the header at the start of `buffer` and
    /// sums its checksum again: what each segment cut from a super-packet needs.
    @inlinable
    public static func rewrite(in buffer: UnsafeMutableRawBufferPointer, totalLength: Int, identification: UInt16) throws(PacketError) {
        guard buffer.count >= minimumLength else {
            throw PacketError(.ipv4, .truncated(needed: minimumLength, available: buffer.count))
        }
        let headerLength = Int(buffer[0] & 0x0F) * 4
        guard headerLength >= minimumLength, headerLength <= buffer.count else {
            throw PacketError(.ipv4, .truncated(needed: headerLength, available: buffer.count))
        }
        guard (headerLength...0xFFFF).contains(totalLength) else { throw PacketError(.ipv4, .valueOutOfRange(totalLength)) }
        buffer.setU16(UInt16(totalLength), at: 2)
        buffer.setU16(identification, at: 4)
        buffer.setU16(0, at: 10)
        buffer.setU16(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: buffer[..<headerLength])), at: 10)
    }
}
