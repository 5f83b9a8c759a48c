import CShim
import Packet
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Follows each peer's underlay path MTU at run time, as the kernel's vxlan does with
/// `skb_tunnel_check_pmtu`, so inner senders learn a smaller MTU while the proxy runs.
///
/// The kernel already knows the path MTU: a lowered interface MTU changes the route, and an
/// ICMP "fragmentation needed" / "packet too big" from a router, answering a datagram the
/// proxy sent with DF, becomes a route exception for that peer. A UDP socket *connected* to
/// the peer reads it back with IP_MTU / IPV6_MTU (the sending sockets are unconnected and
/// cannot). The monitor keeps one such socket per peer; it sends nothing on them. Workers ask
/// it to look again when a send fails (EMSGSIZE: the datagram no longer fits) and once a
/// second, so a path MTU that grows back is seen too.
final class PathMTUMonitor: Sendable {
    /// One peer's path.
    struct Path: Equatable, Sendable {
        /// The underlay path MTU toward the peer.
        var underlay: Int
        /// The largest inner packet that fits: `underlay` less the VXLAN overhead.
        var inner: Int
    }

    private struct State {
        var sockets: [Int32] = []
        var peers: [SocketEndpoint] = []
        var paths: [Path] = []
        var lastRefresh: UInt64 = 0
    }

    private let state: Mutex<State>
    private let generationCounter = Atomic<Int>(0)
    /// The configured underlay MTU (`underlay.mtu`) or the listen interface's: a path never
    /// counts as larger than that.
    private let ceiling: Int
    private let overhead: Int
    private let listen: SocketEndpoint

    /// Sockets for `peers`, bound to the listen address; a peer the kernel has no route to
    /// keeps `ceiling` until it has.
    init(listen: SocketEndpoint, peers: [SocketEndpoint], ceiling: Int, overhead: Int) {
        self.listen = listen
        self.ceiling = ceiling
        self.overhead = overhead
        state = Mutex(State())
        setPeers(peers)
    }

    deinit {
        state.withLock { s in for fd in s.sockets where fd >= 0 { close(fd) } }
    }

    /// Bumped whenever a path changed.
    var generation: Int { generationCounter.load(ordering: .acquiring) }

    /// The paths, by peer index.
    var paths: [Path] { state.withLock { $0.paths } }

    /// Takes a new peer list (reload); reads every path.
    func setPeers(_ peers: [SocketEndpoint]) {
        let sockets = peers.map(connectedSocket)
        state.withLock { s in
            for fd in s.sockets where fd >= 0 { close(fd) }
            s.sockets = sockets
            s.peers = peers
            s.paths = peers.map { _ in Path(underlay: ceiling, inner: max(ceiling - overhead, 68)) }
        }
        refresh(now: 0, minimumInterval: 0)
        generationCounter.add(1, ordering: .releasing)
    }

    /// Reads every peer's path MTU again, unless that was done less than `minimumInterval`
    /// nanoseconds ago; returns whether any path changed.
    @discardableResult
    func refresh(now: UInt64, minimumInterval: UInt64 = 100_000_000) -> Bool {
        let changed = state.withLock { s -> Bool in
            if now != 0, now &- s.lastRefresh < minimumInterval { return false }
            s.lastRefresh = now
            var changed = false
            for i in s.sockets.indices where s.sockets[i] >= 0 {
                // IP_MTU answers from the route the socket cached when it connected; an
                // exception a router's ICMP made since is only seen by looking the route up
                // again, which connecting anew does.
                guard Self.connect(s.sockets[i], to: s.peers[i]) else { continue }
                let reported = Int(cshim_path_mtu(s.sockets[i], s.peers[i].address.isIPv6 ? 1 : 0))
                guard reported > 0 else { continue }
                let underlay = min(reported, ceiling)
                let path = Path(underlay: underlay, inner: max(underlay - overhead, 68))
                if path != s.paths[i] {
                    s.paths[i] = path
                    changed = true
                }
            }
            return changed
        }
        if changed { generationCounter.add(1, ordering: .releasing) }
        return changed
    }

    /// A UDP socket bound to the listen address (any port) and connected to `peer`, with DF, so
    /// the kernel tracks its path MTU; -1 when it cannot be made.
    private func connectedSocket(to peer: SocketEndpoint) -> Int32 {
        let fd = socket(peer.address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        _ = cshim_set_dont_fragment(fd, peer.address.isIPv6 ? 1 : 0)
        var local = sockaddr_storage()
        let localLength = UnderlaySocket.fill(&local, SocketEndpoint(address: listen.address, port: 0))
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, localLength) } }
        guard bound == 0, Self.connect(fd, to: peer) else {
            close(fd)
            return -1
        }
        return fd
    }

    private static func connect(_ fd: Int32, to peer: SocketEndpoint) -> Bool {
        var remote = sockaddr_storage()
        let length = UnderlaySocket.fill(&remote, peer)
        return withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) } } == 0
    }
}
