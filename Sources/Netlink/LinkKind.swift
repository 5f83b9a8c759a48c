/// A link's kind as the kernel names it (IFLA_INFO_KIND): the kinds netlab makes, and any
/// other by name.
public enum LinkKind: Sendable, Hashable, CustomStringConvertible {
    case veth, bridge, macvlan, vlan, vxlan, dummy, tun
    case other(String)

    public init(_ name: String) {
        switch name {
        case "veth": self = .veth
        case "bridge": self = .bridge
        case "macvlan": self = .macvlan
        case "vlan": self = .vlan
        case "vxlan": self = .vxlan
        case "dummy": self = .dummy
        case "tun": self = .tun
        default: self = .other(name)
        }
    }

    /// The kernel's name (`ip -d link` shows it).
    public var description: String {
        switch self {
        case .veth: "veth"
        case .bridge: "bridge"
        case .macvlan: "macvlan"
        case .vlan: "vlan"
        case .vxlan: "vxlan"
        case .dummy: "dummy"
        case .tun: "tun"
        case let .other(name): name
        }
    }
}
