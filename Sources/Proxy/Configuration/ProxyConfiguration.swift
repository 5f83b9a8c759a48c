import Packet
#if canImport(Glibc)
import Glibc
#endif

/// What `netlab proxy --config FILE` runs: a TUN device, the local VXLAN endpoint, the remote
/// VTEPs with their VNIs and routed prefixes, and optional metrics and captures.
/// docs/proxy.md documents every key.
public struct ProxyConfiguration: Sendable, Equatable {
    /// `[tun]`
    public struct Tun: Sendable, Equatable {
        public var name: String
        public var addresses: [IPPrefix]
        /// nil: the underlay MTU minus the VXLAN overhead (`effectiveMTU`).
        public var mtu: Int?
        /// TUN queues, one worker each; 0: one per core.
        public var queues: Int
        /// virtio-net offloads on the TUN device (GSO/GRO); on by default.
        public var offloads: Bool
        /// The network namespace (a name under /run/netns) the device is made and configured
        /// in; nil: the proxy's own. The underlay sockets stay in the proxy's namespace, so one
        /// proxy can serve a node from its host's network (a multi-host lab's proxy stitch).
        public var namespace: String? = nil
        /// Route the peers' prefixes into the device (as wg-quick does with AllowedIPs); off
        /// when the namespace's routes are someone else's to set (a lab's).
        public var addRoutes = true
    }

    /// `[[peers]]`: a remote VTEP (another netlab proxy or a Linux vxlan device).
    public struct Peer: Sendable, Equatable {
        public var endpoint: SocketEndpoint
        public var vni: UInt32
        /// Inner destinations sent to this peer.
        public var routes: [IPPrefix]
    }

    public var file: String
    public var tun: Tun
    /// `[underlay] listen`: the local UDP address and port.
    public var listen: SocketEndpoint
    /// `[underlay] mtu`: when given, used instead of the MTU of the route to the peers.
    public var underlayMTU: Int?
    /// `[underlay] source_ports`: how many UDP source ports flows are spread over (RFC 7348
    /// section 5: the outer source port is a hash of the inner flow, for ECMP).
    public var sourcePorts: Int
    public var peers: [Peer]
    /// `[metrics] listen`: Prometheus text format at /metrics.
    public var metricsListen: SocketEndpoint?
    /// `[capture] inner` and `outer`: pcap files (RAW inside, Ethernet outside).
    public var captureInner: String?
    public var captureOuter: String?
    /// `[flows] idle_timeout`, in seconds.
    public var flowIdleTimeout: Double

    /// VXLAN's overhead on the underlay: outer IPv4 (20) or IPv6 (40) + UDP (8) + VXLAN (8)
    /// + the inner Ethernet header (14).
    public var overhead: Int { listen.address.isIPv6 ? 70 : 50 }

    /// The TUN MTU: as configured, or the underlay's minus the overhead.
    public func effectiveMTU(underlayMTU discovered: Int) -> Int {
        tun.mtu ?? max((underlayMTU ?? discovered) - overhead, 68)
    }

    /// The number of workers: `tun.queues`, or one per core.
    public var workerCount: Int {
        tun.queues > 0 ? tun.queues : max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 8))
    }

    /// Whether `other` differs from this configuration only in what a reload may change
    /// (peers and routes, flow expiry); anything else needs a restart.
    public func differsOnlyInPeers(from other: ProxyConfiguration) -> Bool {
        var a = self
        var b = other
        (a.peers, b.peers, a.flowIdleTimeout, b.flowIdleTimeout, a.file, b.file) = ([], [], 0, 0, "", "")
        return a == b
    }

    /// The peer whose routes hold `destination` most specifically (longest prefix).
    public func peer(for destination: IPAddress) -> Peer? {
        var best: (Peer, Int)?
        for peer in peers {
            for route in peer.routes where route.contains(destination) && route.length >= (best?.1 ?? -1) {
                best = (peer, route.length)
            }
        }
        return best?.0
    }
}
