/// What `netlab proxy status` shows: the device, the peers with their counters, drops by
/// reason and errors. Sent as JSON over the control socket.
public struct ProxyStatus: Codable, Sendable, Equatable {
    /// One peer and what went to and came from it.
    public struct Peer: Codable, Sendable, Equatable {
        public var endpoint: String
        public var vni: UInt32
        public var routes: [String]
        /// The largest inner packet the path to the peer carries now: its underlay path MTU
        /// less the VXLAN overhead. Larger ones get ICMP "fragmentation needed" / "packet too big".
        public var pathMTU: Int
        /// The underlay path MTU toward the peer, as the kernel knows it (the route's MTU,
        /// lowered by ICMP from routers on the way).
        public var underlayMTU: Int
        public var packetsOut: UInt64
        public var bytesOut: UInt64
        public var packetsIn: UInt64
        public var bytesIn: UInt64

        enum CodingKeys: String, CodingKey {
            case endpoint, vni, routes
            case pathMTU = "path_mtu", underlayMTU = "underlay_mtu"
            case packetsOut = "packets_out", bytesOut = "bytes_out", packetsIn = "packets_in", bytesIn = "bytes_in"
        }
    }

    /// One entry of the neighbour cache: an inner address behind a peer and its MAC.
    public struct Neighbor: Codable, Sendable, Equatable {
        public var vni: UInt32
        public var address: String
        public var mac: String
        /// Since an answer or the neighbour's own traffic last confirmed it.
        public var ageSeconds: Double

        enum CodingKeys: String, CodingKey {
            case vni, address, mac
            case ageSeconds = "age_seconds"
        }
    }

    public var tun: String
    public var mtu: Int
    /// The largest inner packet the underlay carries.
    public var pathMTU: Int
    public var listen: String
    public var workers: Int
    /// The virtio-net offloads the TUN device took ("" when none).
    public var offloads: String
    public var configFile: String
    public var pid: Int32
    public var uptimeSeconds: Double
    public var reloads: Int
    /// Why the last SIGHUP left the running configuration in place, if it did.
    public var lastReloadError: String?
    public var peers: [Peer]
    public var neighbors: [Neighbor]
    /// Neighbours not cached because the cache was full.
    public var neighborsRefused: UInt64
    public var tunPacketsIn: UInt64
    public var tunBytesIn: UInt64
    public var tunPacketsOut: UInt64
    public var tunBytesOut: UInt64
    public var underlayDatagramsIn: UInt64
    public var underlayDatagramsOut: UInt64
    /// By reason (`DropReason` raw values); every reason is present.
    public var drops: [String: UInt64]
    public var errors: UInt64
    /// Packets the TUN device itself dropped because its queue was full before a worker read
    /// it (the kernel's tx_dropped of the device; nil when it could not be read).
    public var deviceDropped: UInt64?
    public var activeFlows: Int
    /// Packets of flows that found the flow table full.
    public var untrackedPackets: UInt64

    /// snake_case on the wire, spelled out: a key strategy would turn `pathMTU` into `path_mtu`
    /// and not back.
    enum CodingKeys: String, CodingKey {
        case tun, mtu, listen, workers, offloads, pid, reloads, peers, neighbors, drops, errors
        case neighborsRefused = "neighbors_refused"
        case pathMTU = "path_mtu", configFile = "config_file", uptimeSeconds = "uptime_seconds"
        case lastReloadError = "last_reload_error", tunPacketsIn = "tun_packets_in", tunBytesIn = "tun_bytes_in"
        case tunPacketsOut = "tun_packets_out", tunBytesOut = "tun_bytes_out"
        case underlayDatagramsIn = "underlay_datagrams_in", underlayDatagramsOut = "underlay_datagrams_out"
        case activeFlows = "active_flows", untrackedPackets = "untracked_packets", deviceDropped = "device_dropped"
    }
}

/// One line of `netlab proxy flows`.
public struct FlowReport: Codable, Sendable, Equatable {
    public var source: String
    public var destination: String
    /// "tcp", "udp", "icmp", "icmpv6" or the protocol number.
    public var proto: String
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var packets: UInt64
    public var bytes: UInt64
    public var ageSeconds: Double
    public var idleSeconds: Double

    enum CodingKeys: String, CodingKey {
        case source, destination, proto, packets, bytes
        case sourcePort = "source_port", destinationPort = "destination_port"
        case ageSeconds = "age_seconds", idleSeconds = "idle_seconds"
    }
}
