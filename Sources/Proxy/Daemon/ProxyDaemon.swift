import Foundation
import Logging
import Netlink
import Packet
import Synchronization
import Tun

/// Runs a proxy: makes and configures the TUN device, opens the underlay sockets, and moves
/// packets both ways on one worker thread per TUN queue until stopped; then removes the
/// device and closes the captures.
///
/// Create and `start` it on a thread inside the network namespace it serves: the workers, the
/// control socket and the metrics server inherit that thread's namespace.
public final class ProxyDaemon: @unchecked Sendable {
    /// Why the daemon could not start or reload; the message names what to fix.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    private struct Shared {
        var configuration: ProxyConfiguration
        var reloads = 0
        var lastReloadError: String?
    }

    private let shared: Mutex<Shared>
    /// The TUN device's MTU.
    public let mtu: Int
    /// The largest inner packet the underlay carries (its MTU less the VXLAN overhead): a
    /// larger one gets ICMP "fragmentation needed" / "packet too big" back, whatever the
    /// device's MTU says.
    public let pathMTU: Int
    public let logger: Logger
    private let device: TunDevice
    private let workers: [ProxyWorker]
    /// What every worker learned of the inner neighbours' MACs.
    private let neighbors = NeighborTable()
    /// Each peer's underlay path MTU, followed at run time.
    private let paths: PathMTUMonitor
    private let recorder: PacketRecorder?
    private let started = Date()
    private var control: ControlServer?
    private var metrics: MetricsServer?
    private let stopped = Mutex(false)

    /// The configuration in force (the last one a reload accepted).
    public var configuration: ProxyConfiguration { shared.withLock { $0.configuration } }
    /// The TUN device's name.
    public var deviceName: String { device.name }

    public init(configuration: ProxyConfiguration, logger: Logger = Logger(label: "netlab.proxy"), metricsLabel: String? = nil) throws(Failure) {
        self.logger = logger
        let workerCount = configuration.workerCount
        let underlayMTU = configuration.underlayMTU ?? Self.discoverMTU(for: configuration.listen)
        let mtu = configuration.effectiveMTU(underlayMTU: underlayMTU)
        self.mtu = mtu
        let pathMTU = max(underlayMTU - configuration.overhead, 68)
        self.pathMTU = pathMTU
        if let namespace = configuration.tun.namespace {
            // The device lives in the node; the sockets below stay in this namespace.
            do {
                device = try NetworkNamespace(namespace).run {
                    UncheckedDevice(try Self.makeDevice(configuration, queues: workerCount, mtu: mtu))
                }.device
            } catch let error as Failure {
                throw error
            } catch {
                throw Failure(description: "tun \(configuration.tun.name) in namespace \(namespace): \(error)")
            }
        } else {
            device = try Self.makeDevice(configuration, queues: workerCount, mtu: mtu)
        }
        var receivers: [UnderlaySocket] = []
        var senders: [UnderlaySocket] = []
        do {
            for _ in 0..<workerCount {
                receivers.append(try UnderlaySocket(bind: configuration.listen, reusePort: workerCount > 1, gro: true))
            }
            let local = SocketEndpoint(address: configuration.listen.address, port: 0)
            for _ in 0..<configuration.sourcePorts { senders.append(try UnderlaySocket(bind: local)) }
        } catch {
            device.close()
            throw Failure(description: "underlay: \(error)")
        }
        do {
            let inner = configuration.captureInner
            let outer = configuration.captureOuter
            recorder = inner == nil && outer == nil ? nil : try PacketRecorder(inner: inner, outer: outer)
        } catch {
            device.close()
            throw Failure(description: "capture: \(error)")
        }
        paths = PathMTUMonitor(listen: configuration.listen, peers: configuration.peers.map(\.endpoint),
                               ceiling: underlayMTU, overhead: configuration.overhead)
        do {
            var made: [ProxyWorker] = []
            for i in 0..<workerCount {
                made.append(try ProxyWorker(index: i, queue: device.queues[i], socket: receivers[i], senders: senders,
                                            configuration: configuration, mtu: pathMTU, neighbors: neighbors, paths: paths,
                                            recorder: recorder))
            }
            workers = made
        } catch {
            device.close()
            throw Failure(description: "workers: \(error)")
        }
        shared = Mutex(Shared(configuration: configuration))
        logger.info("ready", metadata: [
            "tun": "\(device.name)", "mtu": "\(mtu)", "path_mtu": "\(pathMTU)", "listen": "\(configuration.listen)", "workers": "\(workerCount)",
            "offloads": "\(device.offloads)", "gro": "\(receivers.first?.hasGRO ?? false)",
            "source_ports": "\(senders.map { String($0.port) }.joined(separator: ","))", "peers": "\(configuration.peers.count)",
        ])
    }

    /// Makes the TUN device in the calling thread's namespace and gives it its MTU, addresses
    /// and routes; removes it again if that fails.
    private static func makeDevice(_ configuration: ProxyConfiguration, queues: Int, mtu: Int) throws(Failure) -> TunDevice {
        let device: TunDevice
        do {
            device = try TunDevice(.init(name: configuration.tun.name, queues: queues,
                                         offloads: configuration.tun.offloads ? .standard : []))
        } catch {
            throw Failure(description: "tun \(configuration.tun.name): \(error)")
        }
        do {
            let socket = try RouteSocket()
            try? NetworkNamespace.writeSysctl("net.ipv6.conf.\(device.name).accept_dad", "0")
            // A TUN queue drops what does not fit its ring (no backpressure on the sender): 500
            // packets, the default, overflow under a burst of small datagrams before a worker
            // wakes; 4096 rides out such bursts, like a NIC's deep ring.
            try socket.change(device.name, up: true, mtu: mtu, transmitQueueLength: 4096)
            // A device the proxy attached to (a lab's, made before its routes) may have them.
            let index = Int(try socket.index(of: device.name))
            let present = try socket.addresses().filter { $0.interfaceIndex == index }.map(\.prefix)
            for address in configuration.tun.addresses where !present.contains(address) {
                try socket.addAddress(address, to: device.name)
            }
            for route in configuration.tun.addRoutes ? deviceRoutes(configuration) : [] {
                try socket.addRoute(to: route, via: nil, device: device.name, ipv6: route.isIPv6)
            }
        } catch {
            device.close()
            throw Failure(description: "tun \(device.name): \(error)")
        }
        return device
    }

    /// Carries the control server out of the namespace thread that bound its socket.
    private struct UncheckedControl: @unchecked Sendable {
        let server: ControlServer
        init(_ server: ControlServer) { self.server = server }
    }

    /// Carries the device out of the namespace thread that made it.
    private struct UncheckedDevice: @unchecked Sendable {
        let device: TunDevice
        init(_ device: TunDevice) { self.device = device }
    }

    /// The peers' routes that the device's own subnets do not already cover: the proxy routes
    /// them into its device, as wg-quick does with AllowedIPs, so that a remote site's prefix
    /// needs no route of its own.
    static func deviceRoutes(_ configuration: ProxyConfiguration) -> [IPPrefix] {
        let connected = configuration.tun.addresses.map(\.network)
        var routes: [IPPrefix] = []
        for route in configuration.peers.flatMap(\.routes) where !routes.contains(route) {
            let covered = connected.contains { $0.isIPv6 == route.isIPv6 && $0.length <= route.length && $0.contains(route.address) }
            if !covered { routes.append(route) }
        }
        return routes
    }

    /// The MTU of the interface that holds the listen address (or, for a wildcard address, the
    /// smallest MTU of the namespace's up interfaces other than loopback); 1500 when unknown.
    static func discoverMTU(for listen: SocketEndpoint) -> Int {
        guard let socket = try? RouteSocket(), let links = try? socket.links() else { return 1500 }
        let candidates = links.filter { $0.isUp && $0.name != "lo" }
        if let addresses = try? socket.addresses(),
           let match = addresses.first(where: { $0.prefix.address == listen.address }),
           let link = links.first(where: { $0.index == match.interfaceIndex }) {
            return link.mtu
        }
        return candidates.map(\.mtu).min() ?? 1500
    }

    /// Starts the workers, the control socket and, when configured, the metrics server.
    public func start() throws(Failure) {
        for worker in workers { worker.start() }
        do {
            let name = ControlServer.socketName(tun: device.name)
            if let namespace = configuration.tun.namespace {
                // Beside its device: `netlab proxy status` in that namespace finds it.
                control = try NetworkNamespace(namespace).run { [self] in UncheckedControl(try ControlServer(name: name, daemon: self)) }.server
            } else {
                control = try ControlServer(name: name, daemon: self)
            }
        } catch {
            logger.warning("control socket not available", metadata: ["error": "\(error)"])
        }
        if let listen = configuration.metricsListen {
            do {
                metrics = try MetricsServer(listen: listen, daemon: self)
                logger.info("metrics", metadata: ["url": "http://\(listen)/metrics"])
            } catch {
                stop()
                throw Failure(description: "metrics \(listen): \(error)")
            }
        }
    }

    /// Applies a new configuration: peers, routes and flow expiry change in place, between two
    /// batches, and flows go on. A change to anything else is refused, and the running
    /// configuration stays.
    public func reload(_ new: ProxyConfiguration) throws(Failure) {
        let current = configuration
        guard new.differsOnlyInPeers(from: current) else {
            let reason = "only [[peers]] and [flows] can change on reload; restart the proxy for [tun], [underlay], [metrics] or [capture]"
            shared.withLock {
                $0.lastReloadError = reason
            }
            throw Failure(description: reason)
        }
        let (old, added) = (Set(Self.deviceRoutes(current)), Self.deviceRoutes(new))
        if let socket = try? RouteSocket() {
            for route in added where !old.contains(route) {
                do { try socket.addRoute(to: route, via: nil, device: device.name, ipv6: route.isIPv6) }
                catch { logger.warning("reload: \(error)") }
            }
            for route in old where !added.contains(route) {
                do { try socket.deleteRoute(to: route, device: device.name) }
                catch { logger.warning("reload: \(error)") }
            }
        }
        paths.setPeers(new.peers.map(\.endpoint))
        // A neighbour stays while some peer of its VNI still routes its address.
        neighbors.remove { key, _ in
            !new.peers.contains { $0.vni == key.vni && $0.routes.contains { $0.contains(key.address) } }
        }
        for worker in workers { worker.reconfigure(new) }
        shared.withLock {
            $0.configuration = new
            $0.reloads += 1
            $0.lastReloadError = nil
        }
        logger.info("reloaded", metadata: ["peers": "\(new.peers.count)"])
    }

    /// Records a reload that failed before it reached the daemon (a config that did not parse).
    public func noteReloadFailure(_ reason: String) {
        shared.withLock { $0.lastReloadError = reason }
    }

    /// Stops the workers, the servers and the captures, and removes the TUN device. Idempotent.
    public func stop() {
        let first = stopped.withLock { wasStopped in
            defer { wasStopped = true }
            return !wasStopped
        }
        guard first else { return }
        control?.stop()
        metrics?.stop()
        for worker in workers { worker.stop() }
        recorder?.close()
        device.close()
        logger.info("stopped", metadata: ["tun": "\(device.name)"])
    }

    /// The counters of every worker, added up.
    public func counters() -> ProxyCounters {
        let peers = configuration.peers.count
        var total = ProxyCounters(peers: peers)
        for worker in workers { total.add(worker.state.withLock { $0.counters }) }
        return total
    }

    /// A snapshot for `netlab proxy status` and the metrics.
    public func status() -> ProxyStatus {
        let (configuration, reloads, lastError) = shared.withLock { ($0.configuration, $0.reloads, $0.lastReloadError) }
        let c = counters()
        var flows = 0
        var untracked: UInt64 = 0
        for worker in workers {
            worker.state.withLock { s in
                flows += s.flows.count
                untracked &+= s.flows.untracked
            }
        }
        let measured = paths.paths
        let peers = configuration.peers.enumerated().map { i, peer in
            let path = i < measured.count ? measured[i] : PathMTUMonitor.Path(underlay: pathMTU + configuration.overhead, inner: pathMTU)
            return ProxyStatus.Peer(endpoint: "\(peer.endpoint)", vni: peer.vni, routes: peer.routes.map { "\($0)" },
                                    pathMTU: path.inner, underlayMTU: path.underlay,
                                    packetsOut: c.peerPacketsOut[i], bytesOut: c.peerBytesOut[i],
                                    packetsIn: c.peerPacketsIn[i], bytesIn: c.peerBytesIn[i])
        }
        let now = ProxyWorker.monotonicNanoseconds()
        let neighborList = neighbors.snapshot()
            .sorted { ($0.key.vni, "\($0.key.address)") < ($1.key.vni, "\($1.key.address)") }
            .map { key, entry in
                ProxyStatus.Neighbor(vni: key.vni, address: "\(key.address)", mac: "\(entry.mac)",
                                     ageSeconds: Double(now > entry.confirmed ? now - entry.confirmed : 0) / 1e9)
            }
        var drops: [String: UInt64] = [:]
        for reason in DropReason.allCases { drops[reason.rawValue] = c.drops(reason) }
        return ProxyStatus(
            tun: device.name, mtu: mtu, pathMTU: pathMTU, listen: "\(configuration.listen)", workers: workers.count,
            offloads: device.offloads.isEmpty ? "" : "\(device.offloads)", configFile: configuration.file,
            pid: getpid(), uptimeSeconds: Date().timeIntervalSince(started), reloads: reloads, lastReloadError: lastError,
            peers: peers, neighbors: neighborList, neighborsRefused: neighbors.refused, tunPacketsIn: c.tunPacketsIn, tunBytesIn: c.tunBytesIn, tunPacketsOut: c.tunPacketsOut,
            tunBytesOut: c.tunBytesOut, underlayDatagramsIn: c.underlayDatagramsIn, underlayDatagramsOut: c.underlayDatagramsOut,
            drops: drops, errors: c.errors, deviceDropped: deviceDropped(), activeFlows: flows, untrackedPackets: untracked)
    }

    /// The device's own transmit drops, through netlink. Status is asked on the control and
    /// metrics threads, which the daemon started, so they are in its namespace.
    private func deviceDropped() -> UInt64? {
        let name = device.name
        let read: @Sendable () throws -> UInt64? = { try RouteSocket().links().first { $0.name == name }?.transmitDropped }
        if let namespace = configuration.tun.namespace { return (try? NetworkNamespace(namespace).run(read)) ?? nil }
        return (try? read()) ?? nil
    }

    /// The `limit` flows with the most bytes, over every worker.
    public func flows(top limit: Int) -> [FlowReport] {
        let now = ProxyWorker.monotonicNanoseconds()
        var entries: [FlowTable.Entry] = []
        for worker in workers { entries += worker.state.withLock { $0.flows.top(limit) } }
        return entries.sorted { $0.bytes > $1.bytes }.prefix(limit).map { FlowReport($0, now: now) }
    }
}

extension FlowReport {
    init(_ entry: FlowTable.Entry, now: UInt64) {
        let k = entry.key
        func address(_ high: UInt64, _ low: UInt64) -> String {
            k.isIPv6 ? "\(IPv6Address(high: high, low: low))" : "\(IPv4Address(rawValue: UInt32(truncatingIfNeeded: low)))"
        }
        let names: [UInt8: String] = [IPProtocol.tcp: "tcp", IPProtocol.udp: "udp", IPProtocol.icmp: "icmp", IPProtocol.icmpv6: "icmpv6"]
        self.init(source: address(k.sourceHigh, k.sourceLow), destination: address(k.destinationHigh, k.destinationLow),
                  proto: names[k.protocolNumber] ?? "\(k.protocolNumber)", sourcePort: k.sourcePort, destinationPort: k.destinationPort,
                  packets: entry.packets, bytes: entry.bytes,
                  ageSeconds: Double(now &- entry.firstSeen) / 1e9, idleSeconds: Double(now &- entry.lastSeen) / 1e9)
    }
}
