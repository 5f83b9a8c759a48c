/// Well-known EtherType values (IEEE 802 numbers).
public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let arp: UInt16 = 0x0806
    public static let ipv6: UInt16 = 0x86DD
    /// IEEE 802.1Q customer VLAN tag.
    public static let vlan: UInt16 = 0x8100
    /// IEEE 802.1ad service VLAN tag (QinQ).
    public static let qinq: UInt16 = 0x88A8
    /// The pre-standard QinQ tag some switches still send.
    public static let qinqLegacy: UInt16 = 0x9100

    /// True for the tag protocol identifiers that introduce a VLAN tag.
    @inlinable
    public static func isVLANTag(_ value: UInt16) -> Bool {
        value == vlan || value == qinq || value == qinqLegacy
    }
}

/// Well-known IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
public enum IPProtocol {
    public static let hopByHop: UInt8 = 0
    public static let icmp: UInt8 = 1
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let routing: UInt8 = 43
    public static let fragment: UInt8 = 44
    public static let icmpv6: UInt8 = 58
    public static let noNextHeader: UInt8 = 59
    public static let destinationOptions: UInt8 = 60
}
