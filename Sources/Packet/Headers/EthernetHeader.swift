/// A view of an Ethernet II frame: the 14-byte header and the bytes after it.
public struct EthernetHeader {
    /// The frame, from the destination address to the end of the captured bytes.
    public let bytes: UnsafeRawBufferPointer

    public static let length = 14

    /// Wraps bytes the checks have already accepted (`LayerStack` rebuilds its views this way).
    @inlinable
    init(validated bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Checks that the 14-byte header is present.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) throws(PacketError) {
        try self.init(checking: bytes)
    }

    /// The checks behind `init(_:)`, always inlined: `LayerStack` walks a whole frame in one
    /// function and wants them in line, where `LayerWalker` is faster with them called.
    @inlinable @inline(__always)
    init(checking bytes: UnsafeRawBufferPointer) throws(PacketError) {
        guard bytes.count >= Self.length else {
            throw PacketError(.ethernet, .truncated(needed: Self.length, available: bytes.count))
        }
        self.bytes = bytes
    }

    @inlinable public var destination: MACAddress { MACAddress(bytes, at: 0) }
    @inlinable public var source: MACAddress { MACAddress(bytes, at: 6) }
    /// The EtherType (or, below 0x0600, an IEEE 802.3 length).
    @inlinable public var etherType: UInt16 { bytes.u16(12) }
    /// Everything after the header.
    @inlinable public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[Self.length...]) }

    /// Writes a header at the start of `buffer`; returns the bytes written.
    @inlinable @discardableResult
    public static func write(
        into buffer: UnsafeMutableRawBufferPointer,
        destination: MACAddress, source: MACAddress, etherType: UInt16
    ) throws(PacketError) -> Int {
        guard buffer.count >= length else {
            throw PacketError(.ethernet, .noRoom(needed: length, available: buffer.count))
        }
        destination.write(to: buffer, at: 0)
        source.write(to: buffer, at: 6)
        buffer.setU16(etherType, at: 12)
        return length
    }
}
