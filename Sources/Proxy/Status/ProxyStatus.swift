/// What `netlab proxy status` shows: the device, the peers with their counters, drops by
/// reason and errors. Sent as JSON over the control socket.
public struct ProxyStatus: Codable, Sendable, Equatable {
    /// One peer and what went to and came from it.
    public struct Peer: Codable, Sendable, Equatable {
        public var endpoint: String
        public var vni: UInt32
        public var routes: [String]
        /// The inner MAC address learned for the peer (nil until it sent something).
        public var mac: String?
        public var packetsOut: UInt64
        public var bytesOut: UInt64
        public var packetsIn: UInt64
        public var bytesIn: UInt64

        enum CodingKeys: String, CodingKey {
            case endpoint, vni, routes, mac
            case packetsOut = "packets_out", bytesOut = "bytes_out", packetsIn = "packets_in", bytesIn = "bytes_in"
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
        case tun, mtu, listen, workers, offloads, pid, reloads, peers, drops, errors
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
