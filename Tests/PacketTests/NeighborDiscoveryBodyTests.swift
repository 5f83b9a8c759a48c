import Packet
import Testing

/// RFC 4861's solicitation and advertisement bodies: the target and link-layer address options.
@Suite("Neighbor discovery body")
struct NeighborDiscoveryBodyTests {
    static let target = IPv6Address("fd00::2")!
    static let mac = MACAddress("02:00:00:00:00:0b")!

    @Test("written as RFC 4861 lays it out, and read back")
    func roundTrip() throws {
        var bytes = [UInt8](repeating: 0xEE, count: NeighborDiscoveryBody.lengthWithLinkLayerAddress)
        try bytes.withUnsafeMutableBytes { raw in
            try NeighborDiscoveryBody.write(into: raw, target: Self.target, option: NeighborDiscoveryBody.OptionType.targetLinkLayerAddress,
                                            mac: Self.mac)
        }
        // Target (16 bytes), then type 2, length 1 (8 bytes), the MAC.
        #expect(Array(bytes[16...]) == [2, 1, 0x02, 0, 0, 0, 0, 0x0b])
        try bytes.withUnsafeBytes { raw in
            let body = try NeighborDiscoveryBody(raw)
            #expect(body.target == Self.target)
            #expect(body.linkLayerAddress(type: NeighborDiscoveryBody.OptionType.targetLinkLayerAddress) == Self.mac)
            #expect(body.linkLayerAddress(type: NeighborDiscoveryBody.OptionType.sourceLinkLayerAddress) == nil)
        }
    }

    @Test("a cut body throws, a zero-length option ends the search, a later option is found")
    func malformed() throws {
        #expect(throws: PacketError.self) { try [UInt8](repeating: 0, count: 15).withUnsafeBytes { try NeighborDiscoveryBody($0) } }
        var bytes = [UInt8](repeating: 0, count: 16) + [3, 0, 0, 0, 0, 0, 0, 0]  // length 0: discard
        try bytes.withUnsafeBytes { raw in
            let body = try NeighborDiscoveryBody(raw)
            #expect(body.linkLayerAddress(type: 3) == nil)
        }
        // A nonce option (14, 8 bytes) before the source link-layer address.
        bytes = [UInt8](repeating: 0, count: 16) + [14, 1, 1, 2, 3, 4, 5, 6] + [1, 1, 0x02, 0, 0, 0, 0, 0x0b]
        try bytes.withUnsafeBytes { raw in
            let body = try NeighborDiscoveryBody(raw)
            #expect(body.linkLayerAddress(type: 1) == Self.mac)
        }
    }
}
