import Packet

/// One link as the kernel reports it (`ip -s link`), with typed fields.
public struct LinkInfo: Sendable, Equatable {
    public var index: Int
    public var name: String
    /// nil for loopback and hardware links, which have no kind.
    public var kind: LinkKind?
    public var mtu: Int
    /// Administratively up (IFF_UP).
    public var isUp: Bool
    /// The carrier is up (IFF_LOWER_UP).
    public var hasCarrier: Bool
    /// As the kernel's link watcher last set it. A link transmits only once this is `.up`:
    /// until then its queue is the "noop" qdisc, which drops.
    public var operationalState: LinkOperationalState
    public var masterIndex: Int?
    public var mac: MACAddress?
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
