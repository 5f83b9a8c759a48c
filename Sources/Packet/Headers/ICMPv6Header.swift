/// A view of an ICMPv6 message (RFC 4443): the 8-byte header and its body.
public struct ICMPv6Header {
    /// The message, from the type byte to the end of the packet.
    public let bytes: UnsafeRawBufferPointer

    public static let length = 8

    public enum MessageType {
        public static let destinationUnreachable: UInt8 = 1
        public static let packetTooBig: UInt8 = 2
        public static let timeExceeded: UInt8 = 3
        public static let echoRequest: UInt8 = 128
        public static let echoReply: UInt8 = 129
        public static let routerSolicitation: UInt8 = 133
        public static let routerAdvertisement: UInt8 = 134
        public static let neighborSolicitation: UInt8 = 135
        public static let neighborAdvertisement: UInt8 = 136
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
            throw PacketError(.icmpv6, .truncated(needed: Self.length, available: bytes.count))
        }
        self.bytes = bytes
    }

    @inlinable public var type: UInt8 { bytes.u8(0) }
    @inlinable public var code: UInt8 { bytes.u8(1) }
    @inlinable public var checksum: UInt16 { bytes.u16(2) }
    /// The 4 bytes after the checksum (MTU for packet-too-big, flags for neighbour advertisements).
    @inlinable public var restOfHeader: UInt32 { bytes.u32(4) }
    @inlinable public var body: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[Self.length...]) }

    /// The checksum with the IPv6 pseudo-header: nil for a fragment or a message cut short.
    @inlinable
    public func checksumStatus(in context: IPContext) -> Bool? {
        context.verify(bytes, covered: context.upperLayerLength, pseudoHeader: IPProtocol.icmpv6)
    }

    /// Writes the header and the checksum over it and the `bodyLength` bytes after it, with the
    /// pseudo-header of `context`; returns the bytes written.
    @inlinable @discardableResult
    public static func write(
        into buffer: UnsafeMutableRawBufferPointer, type: UInt8, code: UInt8, restOfHeader: UInt32,
        bodyLength: Int, context: IPContext
    ) throws(PacketError) -> Int {
        guard bodyLength >= 0, buffer.count >= length + bodyLength else {
            throw PacketError(.icmpv6, .noRoom(needed: length + bodyLength, available: buffer.count))
        }
        buffer.setU8(type, at: 0)
        buffer.setU8(code, at: 1)
        buffer.setU16(0, at: 2)
        buffer.setU32(restOfHeader, at: 4)
        var sum = context.pseudoHeaderSum(protocolNumber: IPProtocol.icmpv6, length: length + bodyLength)
        sum.add(UnsafeRawBufferPointer(rebasing: buffer[..<(length + bodyLength)]))
        buffer.setU16(sum.value, at: 2)
        return length
    }
}
