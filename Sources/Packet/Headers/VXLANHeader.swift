/// A view of a VXLAN header (RFC 7348 section 5): 8 bytes in front of an inner Ethernet frame.
public struct VXLANHeader {
    /// The header and the inner frame after it.
    public let bytes: UnsafeRawBufferPointer

    public static let length = 8
    /// The IANA-assigned UDP destination port.
    public static let defaultPort: UInt16 = 4789
    /// The "I" flag: the VNI is valid. RFC 7348 requires it set.
    public static let validVNIFlag: UInt8 = 0x08
    /// The largest 24-bit VNI.
    public static let maximumVNI: UInt32 = 0xFF_FFFF

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
            throw PacketError(.vxlan, .truncated(needed: Self.length, available: bytes.count))
        }
        self.bytes = bytes
    }

    /// The first byte: 0x08 when only the I flag is set.
    @inlinable public var flags: UInt8 { bytes.u8(0) }
    @inlinable public var hasValidVNI: Bool { flags & Self.validVNIFlag != 0 }
    /// The 24-bit VXLAN network identifier.
    @inlinable public var vni: UInt32 { bytes.u32(4) >> 8 }
    /// The inner Ethernet frame.
    @inlinable public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[Self.length...]) }

    /// Writes the 8-byte header with the I flag set; returns the bytes written.
    @inlinable @discardableResult
    public static func write(into buffer: UnsafeMutableRawBufferPointer, vni: UInt32) throws(PacketError) -> Int {
        guard buffer.count >= length else { throw PacketError(.vxlan, .noRoom(needed: length, available: buffer.count)) }
        guard vni <= maximumVNI else { throw PacketError(.vxlan, .valueOutOfRange(Int(vni))) }
        buffer.setU32(UInt32(validVNIFlag) << 24, at: 0)
        buffer.setU32(vni << 8, at: 4)
        return length
    }
}
