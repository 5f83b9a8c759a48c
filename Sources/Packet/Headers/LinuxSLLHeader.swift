/// A view of a Linux "cooked" capture header (SLL, 16 bytes, or SLL2, 20 bytes).
///
/// libpcap writes these for captures on `any` or on devices without a link-layer header.
public struct LinuxSLLHeader {
    /// The header and the bytes after it.
    public let bytes: UnsafeRawBufferPointer
    /// 1 for LINKTYPE_LINUX_SLL, 2 for LINKTYPE_LINUX_SLL2.
    public let version: Int

    /// Wraps bytes the checks have already accepted (`LayerStack` rebuilds its views this way).
    @inlinable
    init(validated bytes: UnsafeRawBufferPointer, version: Int) {
        self.bytes = bytes
        self.version = version
    }

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, version: Int) throws(PacketError) {
        try self.init(checking: bytes, version: version)
    }

    /// The checks behind `init(_:)`, always inlined: `LayerStack` walks a whole frame in one
    /// function and wants them in line, where `LayerWalker` is faster with them called.
    @inlinable @inline(__always)
    init(checking bytes: UnsafeRawBufferPointer, version: Int) throws(PacketError) {
        let needed = version == 2 ? 20 : 16
        guard bytes.count >= needed else {
            throw PacketError(.sll, .truncated(needed: needed, available: bytes.count))
        }
        self.bytes = bytes
        self.version = version
    }

    @inlinable public var length: Int { version == 2 ? 20 : 16 }
    /// The protocol of what follows: an EtherType for Ethernet-like devices.
    @inlinable public var protocolType: UInt16 { version == 2 ? bytes.u16(0) : bytes.u16(14) }
    /// The ARPHRD_ type of the capturing device.
    @inlinable public var hardwareType: UInt16 { version == 2 ? bytes.u16(8) : bytes.u16(2) }
    /// Who the packet was for: 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us.
    @inlinable public var packetType: UInt16 { version == 2 ? UInt16(bytes.u8(10)) : bytes.u16(0) }
    /// The interface index (SLL2 only; 0 for SLL).
    @inlinable public var interfaceIndex: UInt32 { version == 2 ? bytes.u32(4) : 0 }
    @inlinable public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[length...]) }
}
