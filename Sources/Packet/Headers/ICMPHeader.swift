/// A view of an ICMP message (RFC 792): the 8-byte header and its body.
public struct ICMPHeader {
    /// The message, from the type byte to the end of the datagram.
    public let bytes: UnsafeRawBufferPointer

    public static let length = 8

    public enum MessageType {
        public static let echoReply: UInt8 = 0
        public static let destinationUnreachable: UInt8 = 3
        public static let echoRequest: UInt8 = 8
        public static let timeExceeded: UInt8 = 11
        /// Code of `destinationUnreachable` meaning "fragmentation needed and DF set" (RFC 1191).
        public static let fragmentationNeededCode: UInt8 = 4
    }

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
            throw PacketError(.icmp, .truncated(needed: Self.length, available: bytes.count))
        }
        self.bytes = bytes
    }

    @inlinable public var type: UInt8 { bytes.u8(0) }
    @inlinable public var code: UInt8 { bytes.u8(1) }
    @inlinable public var checksum: UInt16 { bytes.u16(2) }
    /// The 4 bytes after the checksum (identifier and sequence for echo, next-hop MTU for PMTU).
    @inlinable public var restOfHeader: UInt32 { bytes.u32(4) }
    @inlinable public var identifier: UInt16 { bytes.u16(4) }
    @inlinable public var sequenceNumber: UInt16 { bytes.u16(6) }
    @inlinable public var body: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[Self.length...]) }

    /// The checksum over the whole message: nil for a fragment or when the message was cut short.
    @inlinable
    public func checksumStatus(in context: IPContext) -> Bool? {
        context.verify(bytes, covered: context.upperLayerLength, pseudoHeader: nil)
    }

    /// Writes the header and fills in the checksum over the header and the `bodyLength` bytes
    /// that already follow it in `buffer`; returns the bytes written.
    @inlinable @discardableResult
    public static func write(
        into buffer: UnsafeMutableRawBufferPointer, type: UInt8, code: UInt8, restOfHeader: UInt32, bodyLength: Int
    ) throws(PacketError) -> Int {
        guard bodyLength >= 0, buffer.count >= length + bodyLength else {
            throw PacketError(.icmp, .noRoom(needed: length + bodyLength, available: buffer.count))
        }
        buffer.setU8(type, at: 0)
        buffer.setU8(code, at: 1)
        buffer.setU16(0, at: 2)
        buffer.setU32(restOfHeader, at: 4)
        buffer.setU16(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: buffer[..<(length + bodyLength)])), at: 2)
        return length
    }
}
