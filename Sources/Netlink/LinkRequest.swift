import Packet

/// A link to create: its name, kind and the attributes every kind shares.
public struct LinkRequest: Sendable, Equatable {
    /// The macvlan modes of the kernel (`ip link add ... type macvlan mode MODE`).
    public enum MacvlanMode: String, Sendable, CaseIterable {
        case `private`, vepa, bridge, passthru
    }

    /// VXLAN settings (`ip link add ... type vxlan ...`).
    public struct VXLAN: Sendable, Equatable {
        public var vni: UInt32
        /// A unicast remote VTEP or a multicast group.
        public var remote: IPAddress?
        public var local: IPAddress?
        public var port: UInt16
        /// The underlay device.
        public var device: String?
        public var learning: Bool

        public init(vni: UInt32, remote: IPAddress? = nil, local: IPAddress? = nil, port: UInt16 = 4789,
                    device: String? = nil, learning: Bool = true) {
            self.vni = vni
            self.remote = remote
            self.local = local
            self.port = port
            self.device = device
            self.learning = learning
        }
    }

    public enum Kind: Sendable, Equatable {
        /// A veth pair; the peer is made directly in `peerNamespace` when given.
        case veth(peer: String, peerNamespace: NetworkNamespace?)
        case bridge(vlanFiltering: Bool)
        case macvlan(parent: String, mode: MacvlanMode)
        /// An 802.1Q (or 802.1ad with `qinq`) sub-interface.
        case vlan(parent: String, id: UInt16, qinq: Bool)
        case vxlan(VXLAN)
        case dummy
    }

    public var name: String
    public var kind: Kind
    public var mtu: Int?
    public var mac: MACAddress?
    /// Create the link directly in this namespace (`ip link add ... netns NS`): a macvlan or
    /// VLAN on a parent here that belongs to another node, as a container's interface does.
    public var namespace: NetworkNamespace?

    public init(name: String, kind: Kind, mtu: Int? = nil, mac: MACAddress? = nil, namespace: NetworkNamespace? = nil) {
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.mac = mac
        self.namespace = namespace
    }
}

extension LinkRequest.Kind {
    /// The kind of link the request makes.
    var linkKind: LinkKind {
        switch self {
        case .veth: .veth
        case .bridge: .bridge
        case .macvlan: .macvlan
        case .vlan: .vlan
        case .vxlan: .vxlan
        case .dummy: .dummy
        }
    }
}
