/// The body of a neighbour solicitation or advertisement (RFC 4861 sections 4.3 and 4.4), after
/// the ICMPv6 header: the target address, then options, of which netlab reads and writes the
/// link-layer address options (section 4.6.1) that carry a MAC.
public struct NeighborDiscoveryBody {
    /// Field offsets and values, as RFC 4861 lays them out.
    enum Field {
        static let target = 0
        static let options = 16
        /// Type, length (in units of 8 bytes), then the MAC.
        static let optionMAC = 2
        static let linkLayerOptionLength = 8
    }

    /// Option types.
    public enum OptionType {
        public static let sourceLinkLayerAddress: UInt8 = 1
        public static let targetLinkLayerAddress: UInt8 = 2
    }

    /// Advertisement flags, in the ICMPv6 header's rest-of-header word.
    public enum AdvertisementFlags {
        public static let router: UInt32 = 0x8000_0000
        public static let solicited: UInt32 = 0x4000_0000
        public static let override: UInt32 = 0x2000_0000
    }

    /// Bytes of a body with one link-layer address option.
    public static let lengthWithLinkLayerAddress = Field.options + Field.linkLayerOptionLength

    /// The body, from the target on.
    public let bytes: UnsafeRawBufferPointer

    /// Checks that the target is there.
    public init(_ bytes: UnsafeRawBufferPointer) throws(PacketError) {
        guard bytes.count >= Field.options else {
            throw PacketError(.icmpv6, .truncated(needed: Field.options, available: bytes.count))
        }
        self.bytes = bytes
    }

    public var target: IPv6Address { IPv6Address(bytes, at: Field.target) }

    /// The MAC of the first link-layer address option of `type`; nil when there is none, or an
    /// option's length is zero (RFC 4861 says to discard such a message).
    public func linkLayerAddress(type: UInt8) -> MACAddress? {
        var offset = Field.options
        while offset + Field.linkLayerOptionLength <= bytes.count {
            let length = Int(bytes[offset + 1]) * 8
            guard length > 0 else { return nil }
            if bytes[offset] == type { return MACAddress(bytes, at: offset + Field.optionMAC) }
            offset += length
        }
        return nil
    }

    /// Writes a body: `target`, then one link-layer address option of `type` carrying `mac`;
    /// returns its length (`lengthWithLinkLayerAddress`).
    @discardableResult
    public static func write(into body: UnsafeMutableRawBufferPointer, target: IPv6Address, option type: UInt8,
                             mac: MACAddress) throws(PacketError) -> Int {
        guard body.count >= lengthWithLinkLayerAddress else {
            throw PacketError(.icmpv6, .noRoom(needed: lengthWithLinkLayerAddress, available: body.count))
        }
        target.write(to: body, at: Field.target)
        body[Field.options] = type
        body[Field.options + 1] = UInt8(Field.linkLayerOptionLength / 8)
        mac.write(to: body, at: Field.options + Field.optionMAC)
        return lengthWithLinkLayerAddress
    }
}
