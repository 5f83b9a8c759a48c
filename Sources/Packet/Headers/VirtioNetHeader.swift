/// The 10-byte `struct virtio_net_hdr` a TUN device with IFF_VNET_HDR puts in front of every
/// packet: whether the packet still needs its checksum finished, and whether it is a GSO
/// "super-packet" to be cut into `gsoSize`-byte segments.
public struct VirtioNetHeader: Equatable, Sendable {
    public static let length = 10

    /// `VIRTIO_NET_HDR_GSO_*`
    public enum GSOType: UInt8, Sendable {
        case none = 0
        case tcpv4 = 1
        case udp = 3
        case tcpv6 = 4
        case udpL4 = 5
    }

    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum at `checksumStart + checksumOffset` holds
    /// only the pseudo-header sum.
    public static let needsChecksum: UInt8 = 1

    public var flags: UInt8
    public var gsoType: GSOType
    /// ECN bit of gso_type (`VIRTIO_NET_HDR_GSO_ECN`).
    public var ecn: Bool
    /// Length of the headers (through TCP/UDP) of a GSO packet.
    public var headerLength: UInt16
    /// Payload bytes per segment of a GSO packet.
    public var gsoSize: UInt16
    public var checksumStart: UInt16
    public var checksumOffset: UInt16

    public init(flags: UInt8 = 0, gsoType: GSOType = .none, ecn: Bool = false, headerLength: UInt16 = 0,
                gsoSize: UInt16 = 0, checksumStart: UInt16 = 0, checksumOffset: UInt16 = 0) {
        self.flags = flags
        self.gsoType = gsoType
        self.ecn = ecn
        self.headerLength = headerLength
        self.gsoSize = gsoSize
        self.checksumStart = checksumStart
        self.checksumOffset = checksumOffset
    }

    /// Reads the header (little-endian fields, as the kernel writes them for a TUN device).
    public init(_ bytes: UnsafeRawBufferPointer) throws(PacketError) {
        guard bytes.count >= Self.length else {
            throw PacketError(.payload, .truncated(needed: Self.length, available: bytes.count))
        }
        flags = bytes[0]
        guard let type = GSOType(rawValue: bytes[1] & 0x7F) else {
            throw PacketError(.payload, .valueOutOfRange(Int(bytes[1])))
        }
        gsoType = type
        ecn = bytes[1] & 0x80 != 0
        headerLength = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        gsoSize = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        checksumStart = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        checksumOffset = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
    }

    public var needsChecksum: Bool { flags & Self.needsChecksum != 0 }

    /// Writes the header at the start of `buffer` (which must have 10 bytes).
    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        buffer[0] = flags
        buffer[1] = gsoType.rawValue | (ecn ? 0x80 : 0)
        buffer.storeBytes(of: headerLength.littleEndian, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: gsoSize.littleEndian, toByteOffset: 4, as: UInt16.self)
        buffer.storeBytes(of: checksumStart.littleEndian, toByteOffset: 6, as: UInt16.self)
        buffer.storeBytes(of: checksumOffset.littleEndian, toByteOffset: 8, as: UInt16.self)
    }
}
