/// One decoded layer of a packet, as the `LayerWalker` yields them, outermost first.
///
/// Transport layers carry the `IPContext` of the IP header around them so that their checksum
/// can be verified on demand: the walk itself never sums a byte.
public enum Layer {
    case ethernet(EthernetHeader)
    case vlan(VLANTag)
    case sll(LinuxSLLHeader)
    case arp(ARPPacket)
    case ipv4(IPv4Header)
    case ipv6(IPv6Header)
    case ipv6Extension(IPv6ExtensionHeader)
    case icmp(ICMPHeader, IPContext)
    case icmpv6(ICMPv6Header, IPContext)
    case udp(UDPHeader, IPContext)
    case tcp(TCPHeader, IPContext)
    case vxlan(VXLANHeader)
    /// Bytes after the last decoded header, up to the end of the innermost IP datagram.
    case payload(UnsafeRawBufferPointer)

    @inlinable
    public var kind: LayerKind {
        switch self {
        case .ethernet: .ethernet
        case .vlan: .vlan
        case .sll: .sll
        case .arp: .arp
        case .ipv4: .ipv4
        case .ipv6: .ipv6
        case .ipv6Extension: .ipv6Extension
        case .icmp: .icmp
        case .icmpv6: .icmpv6
        case .udp: .udp
        case .tcp: .tcp
        case .vxlan: .vxlan
        case .payload: .payload
        }
    }
}
