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

/// One link as the kernel reports it.
public struct LinkInfo: Sendable, Equatable {
    public var index: Int
    public var name: String
    /// `veth`, `bridge`, `macvlan`, `vlan`, `vxlan`, `dummy`, `tun`; nil for loopback and hardware.
    public var kind: String?
    public var mtu: Int
    public var isUp: Bool
    /// Operational state: true when the carrier is up (IFF_LOWER_UP).
    public var hasCarrier: Bool
    /// RFC 2863 operational state as the kernel's link watcher last set it (6 = up). A link
    /// transmits only once this is up: until then its queue is the "noop" qdisc, which drops.
    public var operationalState: UInt8
    public var masterIndex: Int?
    public var mac: String?
    /// The link's alias (IFLA_IFALIAS), if it has one.
    public var alias: String? = nil
    /// Packets the link dropped on transmit (a TUN device: its queue was full) and on receive.
    public var transmitDropped: UInt64 = 0
    public var receiveDropped: UInt64 = 0
    /// Counters since the link was made.
    public var receivedPackets: UInt64 = 0
    public var transmittedPackets: UInt64 = 0
    public var receivedBytes: UInt64 = 0
    public var transmittedBytes: UInt64 = 0
}

/// One address as the kernel reports it.
public struct AddressInfo: Sendable, Equatable {
    public var interfaceIndex: Int
    /// `10.0.0.1/24`
    public var prefix: String
}

/// One route of the main table as the kernel reports it.
public struct RouteInfo: Sendable, Equatable {
    /// `default` or `10.0.0.0/24`
    public var destination: String
    public var gateway: String?
    public var interfaceIndex: Int?
    public var isIPv6: Bool
}

/// One root or child queueing discipline.
public struct QdiscInfo: Sendable, Equatable {
    public var interfaceIndex: Int
    public var kind: String
    public var handle: UInt32
    public var parent: UInt32
}

/// Link impairment through netem (delay, jitter, loss) and tbf (rate).
public struct Impairment: Sendable, Equatable {
    /// Microseconds.
    public var delay: Int?
    /// Microseconds.
    public var jitter: Int?
    /// Percent, 0...100.
    public var loss: Double?
    /// Bits per second.
    public var rate: Int?

    public init(delay: Int? = nil, jitter: Int? = nil, loss: Double? = nil, rate: Int? = nil) {
        self.delay = delay
        self.jitter = jitter
        self.loss = loss
        self.rate = rate
    }

    public var isEmpty: Bool { delay == nil && jitter == nil && loss == nil && rate == nil }
}
