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
        guard let shape = IPPacketShape(p) else { return nil }
        self.init(shape)
    }

    /// The key of a packet whose shape was read already.
    public init(_ shape: IPPacketShape) {
        isIPv6 = shape.isIPv6
        switch (shape.source, shape.destination) {
        case let (.v6(source), .v6(destination)):
            (sourceHigh, sourceLow, destinationHigh, destinationLow) = (source.high, source.low, destination.high, destination.low)
        case let (.v4(source), .v4(destination)):
            (sourceHigh, sourceLow) = (0, UInt64(source.rawValue))
            (destinationHigh, destinationLow) = (0, UInt64(destination.rawValue))
        default:
            (sourceHigh, sourceLow, destinationHigh, destinationLow) = (0, 0, 0, 0)
        }
        protocolNumber = shape.protocolNumber
        let ports = shape.ports
        sourcePort = ports?.source ?? 0
        destinationPort = ports?.destination ?? 0
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
