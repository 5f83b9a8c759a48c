import Packet

/// The inner 5-tuple of a packet: addresses, protocol and ports (0 for protocols without).
///
/// IPv4 addresses are stored in the low 32 bits of the IPv6-sized fields, so one key type
/// covers both families without an enum in the hot path.
public struct FlowKey: Hashable, Sendable {
    public var sourceHigh: UInt64
    public var sourceLow: UInt64
    public var destinationHigh: UInt64
    public var destinationLow: UInt64
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var protocolNumber: UInt8
    public var isIPv6: Bool

    /// Reads the key of a raw IPv4 or IPv6 packet (as a TUN device gives it); nil when the
    /// packet is too short to have one. Ports are read only from a first (or unfragmented)
    /// TCP/UDP packet.
    public init?(packet p: UnsafeRawBufferPointer) {
        guard let first = p.first else { return nil }
        var transport = 0
        switch first >> 4 {
        case 4:
            guard p.count >= 20 else { return nil }
            isIPv6 = false
            sourceHigh = 0
            destinationHigh = 0
            sourceLow = UInt64(IPv4Address(p, at: 12).rawValue)
            destinationLow = UInt64(IPv4Address(p, at: 16).rawValue)
            protocolNumber = p[9]
            let fragment = UInt16(p[6]) << 8 | UInt16(p[7])
            transport = fragment & 0x1FFF == 0 ? Int(first & 0x0F) * 4 : 0
        case 6:
            guard p.count >= 40 else { return nil }
            isIPv6 = true
            let source = IPv6Address(p, at: 8)
            let destination = IPv6Address(p, at: 24)
            (sourceHigh, sourceLow, destinationHigh, destinationLow) = (source.high, source.low, destination.high, destination.low)
            protocolNumber = p[6]
            transport = 40
        default:
            return nil
        }
        sourcePort = 0
        destinationPort = 0
        if transport > 0, protocolNumber == IPProtocol.tcp || protocolNumber == IPProtocol.udp, p.count >= transport + 4 {
            sourcePort = UInt16(p[transport]) << 8 | UInt16(p[transport + 1])
            destinationPort = UInt16(p[transport + 2]) << 8 | UInt16(p[transport + 3])
        }
    }

    /// A well-mixed 32-bit hash, the same in every process (unlike `hashValue`): it picks the
    /// outer UDP source port, so one flow always takes one underlay path.
    @inlinable
    public var stableHash: UInt32 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15
        @inline(__always) func mix(_ v: UInt64) {
            h ^= v &* 0xBF58_476D_1CE4_E5B9
            h = (h << 27 | h >> 37) &* 0x94D0_49BB_1331_11EB
        }
        mix(sourceHigh)
        mix(sourceLow)
        mix(destinationHigh)
        mix(destinationLow)
        mix(UInt64(sourcePort) << 32 | UInt64(destinationPort) << 16 | UInt64(protocolNumber))
        h ^= h >> 31
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }
}
