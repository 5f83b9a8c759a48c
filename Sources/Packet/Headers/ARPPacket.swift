/// A view of an ARP packet (RFC 826).
public struct ARPPacket {
    /// The ARP body (and any padding after it).
    public let bytes: UnsafeRawBufferPointer

    /// The fixed part before the addresses.
    public static let fixedLength = 8
    /// The length of an Ethernet/IPv4 ARP body.
    public static let ethernetIPv4Length = 28

    /// Wraps bytes the checks have already accepted (`LayerStack` rebuilds its views this way).
    @inlinable
    init(validated bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Checks the fixed part and the four addresses its lengths announce.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) throws(PacketError) {
        try self.init(checking: bytes)
    }

    /// The checks behind `init(_:)`, always inlined: `LayerStack` walks a whole frame in one
    /// function and wants them in line, where `LayerWalker` is faster with them called.
    @inlinable @inline(__always)
    init(checking bytes: UnsafeRawBufferPointer) throws(PacketError) {
        guard bytes.count >= Self.fixedLength else {
            throw PacketError(.arp, .truncated(needed: Self.fixedLength, available: bytes.count))
        }
        let needed = Self.fixedLength + 2 * Int(bytes.u8(4)) + 2 * Int(bytes.u8(5))
        guard bytes.count >= needed else {
            throw PacketError(.arp, .truncated(needed: needed, available: bytes.count))
        }
        self.bytes = bytes
    }

    @inlinable public var hardwareType: UInt16 { bytes.u16(0) }
    @inlinable public var protocolType: UInt16 { bytes.u16(2) }
    @inlinable public var hardwareLength: Int { Int(bytes.u8(4)) }
    @inlinable public var protocolLength: Int { Int(bytes.u8(5)) }
    /// 1 request, 2 reply (3/4 RARP).
    @inlinable public var operation: UInt16 { bytes.u16(6) }
    /// The length of the body, addresses included; anything after it is padding.
    @inlinable public var length: Int { Self.fixedLength + 2 * hardwareLength + 2 * protocolLength }

    /// True for the Ethernet/IPv4 form, the only one the typed accessors below read.
    @inlinable public var isEthernetIPv4: Bool { hardwareLength == 6 && protocolLength == 4 }

    @inlinable public var senderHardwareAddressBytes: UnsafeRawBufferPointer { field(0, hardwareLength) }
    @inlinable public var senderProtocolAddressBytes: UnsafeRawBufferPointer { field(hardwareLength, protocolLength) }
    @inlinable public var targetHardwareAddressBytes: UnsafeRawBufferPointer {
        field(hardwareLength + protocolLength, hardwareLength)
    }
    @inlinable public var targetProtocolAddressBytes: UnsafeRawBufferPointer {
        field(2 * hardwareLength + protocolLength, protocolLength)
    }

    /// Sender MAC; meaningful when `isEthernetIPv4`.
    @inlinable public var senderMAC: MACAddress { MACAddress(bytes, at: 8) }
    @inlinable public var senderIP: IPv4Address { IPv4Address(bytes, at: 14) }
    @inlinable public var targetMAC: MACAddress { MACAddress(bytes, at: 18) }
    @inlinable public var targetIP: IPv4Address { IPv4Address(bytes, at: 24) }

    @inlinable
    func field(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[(Self.fixedLength + offset)..<(Self.fixedLength + offset + count)])
    }

    /// Writes an Ethernet/IPv4 ARP body (28 bytes); returns the bytes written.
    @inlinable @discardableResult
    public static func write(
        into buffer: UnsafeMutableRawBufferPointer, operation: UInt16,
        senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress, targetIP: IPv4Address
    ) throws(PacketError) -> Int {
        guard buffer.count >= ethernetIPv4Length else {
            throw PacketError(.arp, .noRoom(needed: ethernetIPv4Length, available: buffer.count))
        }
        buffer.setU16(1, at: 0)
        buffer.setU16(EtherType.ipv4, at: 2)
        buffer.setU8(6, at: 4)
        buffer.setU8(4, at: 5)
        buffer.setU16(operation, at: 6)
        senderMAC.write(to: buffer, at: 8)
        senderIP.write(to: buffer, at: 14)
        targetMAC.write(to: buffer, at: 18)
        targetIP.write(to: buffer, at: 24)
        return ethernetIPv4Length
    }
}
