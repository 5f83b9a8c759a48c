/// A view of an IEEE 802.1Q/802.1ad VLAN tag: the 4 bytes after the tag protocol identifier.
public struct VLANTag {
    /// The tag control information and the inner EtherType, then the rest of the frame.
    public let bytes: UnsafeRawBufferPointer
    /// The EtherType value that introduced this tag (0x8100, 0x88a8, 0x9100).
    public let tpid: UInt16

    public static let length = 4

    /// Wraps bytes the checks have already accepted (`LayerStack` rebuilds its views this way).
    @inlinable
    init(validated bytes: UnsafeRawBufferPointer, tpid: UInt16) {
        self.bytes = bytes
        self.tpid = tpid
    }

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, tpid: UInt16) throws(PacketError) {
        try self.init(checking: bytes, tpid: tpid)
    }

    /// The checks behind `init(_:)`, always inlined: `LayerStack` walks a whole frame in one
    /// function and wants them in line, where `LayerWalker` is faster with them called.
    @inlinable @inline(__always)
    init(checking bytes: UnsafeRawBufferPointer, tpid: UInt16) throws(PacketError) {
        guard bytes.count >= Self.length else {
            throw PacketError(.vlan, .truncated(needed: Self.length, available: bytes.count))
        }
        self.bytes = bytes
        self.tpid = tpid
    }

    /// Priority code point (802.1p class of service).
    @inlinable public var priority: UInt8 { bytes.u8(0) >> 5 }
    /// Drop eligible indicator.
    @inlinable public var dropEligible: Bool { bytes.u8(0) & 0x10 != 0 }
    /// VLAN identifier, 0...4095.
    @inlinable public var vlanID: UInt16 { bytes.u16(0) & 0x0FFF }
    /// The EtherType of what follows the tag.
    @inlinable public var etherType: UInt16 { bytes.u16(2) }
    @inlinable public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[Self.length...]) }

    /// Writes the 4 bytes after a TPID; returns the bytes written.
    @inlinable @discardableResult
    public static func write(
        into buffer: UnsafeMutableRawBufferPointer,
        vlanID: UInt16, priority: UInt8 = 0, dropEligible: Bool = false, etherType: UInt16
    ) throws(PacketError) -> Int {
        guard buffer.count >= length else { throw PacketError(.vlan, .noRoom(needed: length, available: buffer.count)) }
        guard vlanID < 4096 else { throw PacketError(.vlan, .valueOutOfRange(Int(vlanID))) }
        guard priority < 8 else { throw PacketError(.vlan, .valueOutOfRange(Int(priority))) }
        buffer.setU16(UInt16(priority) << 13 | (dropEligible ? 0x1000 : 0) | vlanID, at: 0)
        buffer.setU16(etherType, at: 2)
        return length
    }
}
