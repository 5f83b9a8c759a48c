import Foundation
import Packet
import Tun
#if canImport(Glibc)
import Glibc
#endif

/// One forwarding thread: it waits on one TUN queue and one underlay socket together and
/// hands what is ready to its two paths, `EgressPath` (TUN to underlay) and `IngressPath`
/// (underlay to TUN), between which it does the housekeeping (path MTUs, neighbour and flow
/// expiry, owed neighbour requests).
///
/// Everything the paths change per packet sits in `state`, behind a lock taken once per
/// batch. The device, the sender and the datagram source are small protocols, so a worker is
/// driven in tests by `forwardBatch` with bytes alone.
final class ProxyWorker: @unchecked Sendable {
    let index: Int
    let state: Locked<WorkerState>
    private let egress: EgressPath
    private let ingress: IngressPath
    /// Waits for the queue and the socket; nil for a worker driven by hand.
    private let poller: TunPoller?
    /// The socket's bit in the poller's readiness.
    private let socketBit: UInt64
    private let recorder: PacketRecorder?
    private let finished = DispatchSemaphore(value: 0)
    private let neighbors: NeighborTable
    private let paths: PathMTUMonitor
    private var lastHousekeeping: UInt64 = 0

    init(index: Int, device: any PacketDevice, source: any DatagramSource, sender: any DatagramSink,
         poller: TunPoller?, socketBit: UInt64, configuration: ProxyConfiguration, mtu: Int,
         neighbors: NeighborTable, paths: PathMTUMonitor, recorder: PacketRecorder?) {
        self.index = index
        self.poller = poller
        self.socketBit = socketBit
        self.recorder = recorder
        self.neighbors = neighbors
        self.paths = paths
        egress = EgressPath(device: device, recorder: recorder, listen: configuration.listen)
        ingress = IngressPath(device: device, source: source, recorder: recorder, listen: configuration.listen)
        state = Locked(WorkerState(configuration: configuration, mtu: mtu, neighbors: neighbors, sender: sender))
    }

    /// A worker on a TUN queue and an underlay socket, sending from the `senders` pool.
    convenience init(index: Int, queue: TunQueue, socket: UnderlaySocket, senders: [UnderlaySocket],
                     configuration: ProxyConfiguration, mtu: Int, neighbors: NeighborTable, paths: PathMTUMonitor,
                     recorder: PacketRecorder?) throws {
        let poller = try TunPoller([queue])
        let bit = try poller.add(descriptor: socket.descriptor)
        self.init(index: index, device: queue, source: SocketDatagramSource(socket), sender: DatagramSender(sockets: senders),
                  poller: poller, socketBit: 1 << UInt64(bit), configuration: configuration, mtu: mtu,
                  neighbors: neighbors, paths: paths, recorder: recorder)
    }

    /// Starts the worker's thread. The thread inherits the caller's network namespace.
    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "proxy-worker-\(index)"
        thread.start()
    }

    /// Asks the thread to stop and waits until it has.
    func stop() {
        guard let poller else { return }
        poller.stop()
        finished.wait()
    }

    /// Applies new peers and routes between two batches.
    func reconfigure(_ configuration: ProxyConfiguration) {
        state.withLock { $0.reconfigure(configuration) }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    private func run() {
        guard let poller else { return }
        lastHousekeeping = Self.monotonicNanoseconds()
        while !poller.isStopped {
            // While packets wait for a peer's MAC, look again soon: another worker may learn it.
            // (Busy polling after traffic, tried for latency, made ping RTT 2-4 times worse on
            // two cores: the spinning workers took the CPU the answers needed.)
            let ready = poller.waitForReadiness(milliseconds: egress.hasPending ? 20 : 250)
            if poller.isStopped { break }
            forwardBatch(fromDevice: ready.queues != 0, fromUnderlay: ready.descriptors & socketBit != 0,
                         now: Self.monotonicNanoseconds())
        }
    }

    /// One turn of the loop: what is ready is forwarded, then the housekeeping that is due.
    func forwardBatch(fromDevice: Bool, fromUnderlay: Bool, now: UInt64) {
        var housekept = false
        state.withLock { s in
            s.engine.beginBatch(now: now)
            takePaths(&s)
            egress.retryPending(&s, now: now)
            if fromDevice { egress.forward(&s, now: now) }
            if fromUnderlay { ingress.forward(&s, now: now) }
            egress.takeRequests(&s)
            let outcome = s.sender.take()
            s.counters.errors &+= UInt64(outcome.failed)
            // A datagram that no longer fits fails with EMSGSIZE: the path may have shrunk.
            if outcome.failed > 0, paths.refresh(now: now) { takePaths(&s) }
            if now &- lastHousekeeping > 1_000_000_000 {
                s.flows.expire(now: now, idle: s.flowIdle)
                if index == 0 {
                    neighbors.expire(now: now)
                    paths.refresh(now: now, minimumInterval: 0)
                }
                lastHousekeeping = now
                housekept = true
            }
        }
        if housekept { recorder?.flush() }
    }

    /// Gives the engine the paths the monitor measured, when they changed.
    private func takePaths(_ s: inout WorkerState) {
        let generation = paths.generation
        guard generation != s.pathGeneration else { return }
        s.pathGeneration = generation
        for (peer, path) in paths.paths.enumerated() { s.engine.setPathMTU(path.inner, peer: peer) }
    }
}
