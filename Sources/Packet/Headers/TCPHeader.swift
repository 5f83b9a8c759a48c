/// A view of a TCP segment (RFC 9293): the header, its options, and the data.
public struct TCPHeader {
    /// The segment, from the source port to the end of the IP payload that was captured.
    public let bytes: UnsafeRawBufferPointer

    public static let minimumLength = 20
    /// Where the checksum sits in the header.
    public static let checksumOffset = 16

    /// TCP flag bits, in the order of the header's flags byte.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt8
        @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let fin = Flags(rawValue: 0x01)
        public static let syn = Flags(rawValue: 0x02)
        public static let rst = Flags(rawValue: 0x04)
        public static let psh = Flags(rawValue: 0x08)
        public static let ack = Flags(rawValue: 0x10)
        public static let urg = Flags(rawValue: 0x20)
        public static let ece = Flags(rawValue: 0x40)
        public static let cwr = Flags(rawValue: 0x80)
    }

    /// Wraps bytes the checks have already accepted (`LayerStack` rebuilds its views this way).
    @inlinable
    init(validated bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Checks the data offset against the captured bytes and, when known, the segment length
    /// the IP header announces.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, segmentLength: Int? = nil) throws(PacketError) {
        try self.init(checking: bytes, segmentLength: segmentLength)
    }

    /// The checks behind `init(_:)`, always inlined: `LayerStack` walks a whole frame in one
    /// function and wants them in line, where `LayerWalker` is faster with them called.
    @inlinable @inline(__always)
    init(checking bytes: UnsafeRawBufferPointer, segmentLength: Int?) throws(PacketError) {
        guard bytes.count >= Self.minimumLength else {
            throw PacketError(.tcp, .truncated(needed: Self.minimumLength, available: bytes.count))
        }
        let words = Int(bytes.u8(12) >> 4)
        guard words >= 5 else { throw PacketError(.tcp, .dataOffsetTooSmall(words)) }
        let headerLength = words * 4
        if let segmentLength, headerLength > segmentLength {
            throw PacketError(.tcp, .dataOffsetPastSegment(dataOffset: headerLength, segmentLength: segmentLength))
        }
        guard headerLength <= bytes.count else {
            throw PacketError(.tcp, .truncated(needed: headerLength, available: bytes.count))
        }
        self.bytes = bytes
    }

    @inlinable public var sourcePort: UInt16 { bytes.u16(0) }
    @inlinable public var destinationPort: UInt16 { bytes.u16(2) }
    @inlinable public var sequenceNumber: UInt32 { bytes.u32(4) }
    @inlinable public var acknowledgmentNumber: UInt32 { bytes.u32(8) }
    /// Header length in bytes (data offset * 4).
    @inlinable public var headerLength: Int { Int(bytes.u8(12) >> 4) * 4 }
    @inlinable public var flags: Flags { Flags(rawValue: bytes.u8(13)) }
    @inlinable public var window: UInt16 { bytes.u16(14) }
    @inlinable public var checksum: UInt16 { bytes.u16(16) }
    @inlinable public var urgentPointer: UInt16 { bytes.u16(18) }
    /// The raw options area.
    @inlinable public var optionBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[Self.minimumLength..<headerLength])
    }
    /// The options, parsed lazily.
    @inlinable public var options: TCPOptions { TCPOptions(optionBytes) }
    /// The data after the header, up to the end of the IP payload.
    @inlinable public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[headerLength...]) }

    /// The checksum over the whole segment with the pseudo-header: nil for a fragment or when
    /// the segment was not captured in full.
    @inlinable
    public func checksumStatus(in context: IPContext) -> Bool? {
        context.verify(bytes, covered: context.upperLayerLength, pseudoHeader: IPProtocol.tcp)
    }

    /// Recomputes the checksum of the segment at the start of `buffer` (`segmentLength` bytes).
    @inlinable
    public static func fillChecksum(
        in buffer: UnsafeMutableRawBufferPointer, segmentLength: Int, context: IPContext
    ) throws(PacketError) {
        guard segmentLength >= minimumLength, buffer.count >= segmentLength else {
            throw PacketError(.tcp, .truncated(needed: Swift.max(segmentLength, minimumLength), available: buffer.count))
        }
        buffer.setU16(0, at: 16)
        var sum = context.pseudoHeaderSum(protocolNumber: IPProtocol.tcp, length: segmentLength)
        sum.add(UnsafeRawBufferPointer(rebasing: buffer[..<segmentLength]))
        buffer.setU16(sum.value, at: 16)
    }

    /// Sets the sequence number and flags of the header at the start of `buffer` (at least
    /// `minimumLength` bytes); the checksum is left for `fillChecksum`.
    @inlinable
    public static func rewrite(in buffer: UnsafeMutableRawBufferPointer, sequenceNumber: UInt32, flags: Flags) {
        guard buffer.count >= minimumLength else { return }
        buffer.setU32(sequenceNumber, at: 4)
        buffer.setU8(flags.rawValue, at: 13)
    }
}
