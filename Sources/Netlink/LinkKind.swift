/// A link's kind as the kernel names it (IFLA_INFO_KIND): the kinds netlab makes, and any
/// other by name.
public enum LinkKind: Sendable, Hashable, CustomStringConvertible {
    case veth, bridge, macvlan, vlan, vxlan, dummy, tun
    case other(String)

    /// The kinds named here, for reading a kernel name back.
    private static let named: [LinkKind] = [.veth, .bridge, .macvlan, .vlan, .vxlan, .dummy, .tun]

    public init(_ name: String) {
        self = Self.named.first { $0.description == name } ?? .other(name)
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
