/// The protocol layers the Packet library understands.
///
/// The raw values are the layer names of the `netlab decode --json` contract, so errors and
/// output name a layer the same way.
public enum LayerKind: String, Sendable, CaseIterable {
    case ethernet
    case vlan
    case sll
    case arp
    case ipv4
    case ipv6
    case ipv6Extension = "ipv6_ext"
    case icmp
    case icmpv6
    case udp
    case tcp
    case vxlan
    case payload
}
