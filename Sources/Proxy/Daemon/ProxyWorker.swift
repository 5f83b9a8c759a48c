import Foundation
import Packet
import Synchronization
import Tun
#if canImport(Glibc)
import Glibc
#endif

/// One forwarding thread: one TUN queue and one underlay receive socket, polled together.
///
/// TUN to underlay: packets are read in batches; a GSO super-packet (TUN offloads) is cut into
/// its segments, each behind its own VXLAN and inner Ethernet headers, laid out back to back
/// and handed to the kernel as one UDP GSO send. Underlay to TUN: datagrams are received in
/// batches (UDP GRO may have merged a peer's run), and consecutive TCP segments of a flow are
/// merged again into one super-packet for the TUN device.
///
/// Everything the worker changes per packet sits in `state`, behind a lock taken once per
/// batch: the control socket and the metrics read it between batches, and a reload swaps the
/// peers there. Buffers are made once, in `run`; nothing is allocated per packet.
final class ProxyWorker: @unchecked Sendable {
    struct State {
        let engine: ProxyEngine
        let flows: FlowTable
        var counters: ProxyCounters
        let sender: DatagramSender
        var peerKeys: [String]
        var flowIdle: UInt64
        /// The `PathMTUMonitor` generation the engine's path MTUs come from.
        var pathGeneration = -1
    }

    let index: Int
    let state: Locked<State>
    private let queue: TunQueue
    private let socket: UnderlaySocket
    private let poller: TunPoller
    /// The socket's bit in the poller's readiness.
    private let socketBit: UInt64
    private let recorder: PacketRecorder?
    private let listen: SocketEndpoint
    private let coalesce: Bool
    /// The device takes USO super-packets: UDP runs are merged too.
    private let coalesceUDP: Bool
    private let finished = DispatchSemaphore(value: 0)
    private let neighbors: NeighborTable
    private let paths: PathMTUMonitor

    init(index: Int, queue: TunQueue, socket: UnderlaySocket, senders: [UnderlaySocket],
         configuration: ProxyConfiguration, mtu: Int, neighbors: NeighborTable, paths: PathMTUMonitor,
         recorder: PacketRecorder?, offloads: TunOffloads) throws {
        self.index = index
        self.queue = queue
        self.socket = socket
        self.recorder = recorder
        self.neighbors = neighbors
        self.paths = paths
        listen = configuration.listen
        coalesce = queue.hasVirtioHeader
        coalesceUDP = queue.hasVirtioHeader && offloads.contains(.uso4) && offloads.contains(.uso6)
        poller = try TunPoller([queue])
        let bit = try poller.add(descriptor: socket.descriptor)
        socketBit = 1 << UInt64(bit)
        let sender = DatagramSender(sockets: senders)
        sender.setPeers(configuration.peers.map(\.endpoint))
        state = Locked(State(
            engine: ProxyEngine(configuration: configuration, mtu: mtu, neighbors: neighbors), flows: FlowTable(capacity: 65_536),
            counters: ProxyCounters(peers: configuration.peers.count), sender: sender,
            peerKeys: configuration.peers.map(ProxyEngine.key), flowIdle: UInt64(configuration.flowIdleTimeout * 1e9)))
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
        poller.stop()
        finished.wait()
    }

    /// Applies new peers and routes between two batches.
    func reconfigure(_ configuration: ProxyConfiguration) {
        state.withLock { s in
            let keys = configuration.peers.map(ProxyEngine.key)
            s.engine.reconfigure(configuration)
            s.sender.setPeers(configuration.peers.map(\.endpoint))
            s.counters = s.counters.remapped(from: s.peerKeys, to: keys)
            s.peerKeys = keys
            s.flowIdle = UInt64(configuration.flowIdleTimeout * 1e9)
            s.pathGeneration = -1  // peer indices changed: take the monitor's paths again
        }
    }

    /// Gives the engine the paths the monitor measured, when they changed.
    private func takePaths(_ s: inout State) {
        let generation = paths.generation
        guard generation != s.pathGeneration else { return }
        s.pathGeneration = generation
        for (peer, path) in paths.paths.enumerated() { s.engine.setPathMTU(path.inner, peer: peer) }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    private struct Buffers: ~Copyable {
        let batch = PacketBatch(capacity: 64, headroom: 128, maximumPacketSize: 65_535)
        /// Where super-packets are cut into back-to-back VXLAN datagrams for one GSO send.
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        var arenaUsed = 0
        let lengths = UnsafeMutableBufferPointer<Int>.allocate(capacity: 256)
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 64)
        let receiver = DatagramReceiver(capacity: 32)
        var coalescer = TCPCoalescer()
        var udpCoalescer = UDPCoalescer()
        var pending = PendingPackets()

        deinit {
            arena.deallocate()
            lengths.deallocate()
            reply.deallocate()
        }
    }

    private func run() {
        var buffers = Buffers()
        var lastHousekeeping = Self.monotonicNanoseconds()
        while !poller.isStopped {
            // While packets wait for a peer's MAC, look again soon: another worker may learn it.
            // (Busy polling after traffic, tried for latency, made ping RTT 2-4 times worse on
            // two cores: the spinning workers took the CPU the answers needed.)
            let ready = poller.waitForReadiness(milliseconds: buffers.pending.count > 0 ? 20 : 250)
            if poller.isStopped { break }
            let now = Self.monotonicNanoseconds()
            let reply = buffers.reply
            state.withLock { s in
                s.engine.beginBatch(now: now)
                takePaths(&s)
                if buffers.pending.count > 0 { retryPending(&s, &buffers, now: now) }
                if ready.queues != 0 { fromTun(&s, &buffers, now: now) }
                if ready.descriptors & socketBit != 0 { fromUnderlay(&s, &buffers, now: now) }
                s.engine.takeRequests(into: reply) { peer, length in
                    s.sender.sendNow(UnsafeRawBufferPointer(rebasing: reply[..<length]), peer: peer)
                }
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
                }
            }
            if now == lastHousekeeping { recorder?.flush() }
        }
    }

    // MARK: TUN to underlay

    @discardableResult
    private func fromTun(_ s: inout State, _ b: inout Buffers, now: UInt64) -> Int {
        let batch = b.batch
        guard let n = try? queue.read(into: batch), n > 0 else { return 0 }
        b.arenaUsed = 0
        for i in 0..<n {
            let slot = batch.slot(i)
            let offset = batch.headroom
            let length = batch.length(i)
            let header = batch.virtioHeader(i)
            let packet = UnsafeMutableRawBufferPointer(rebasing: slot[offset..<(offset + length)])
            let isSuper = header.gsoType != .none && header.gsoSize > 0
            if !isSuper && header.needsChecksum {
                try? GSOSplitter.completeChecksum(packet, start: Int(header.checksumStart), offset: Int(header.checksumOffset))
            }
            let key = FlowKey(packet: UnsafeRawBufferPointer(packet))
            if let key { s.flows.record(key, bytes: length, now: now) }
            recorder?.inner(UnsafeRawBufferPointer(packet))
            var largest: Int?
            if isSuper {
                guard let headers = Self.headersLength(UnsafeRawBufferPointer(packet)) else {
                    s.counters.drop(.malformed)
                    continue
                }
                largest = headers + Int(header.gsoSize)
            }
            let decision = s.engine.egress(slot: slot, packetOffset: offset, length: length, largestSegment: largest, reply: b.reply)
            switch decision {
            case let .send(peer, start, sent, hash):
                if isSuper {
                    sendSuperPacket(&s, &b, slot: slot, headersAt: start, packet: UnsafeRawBufferPointer(packet),
                                    header: header, peer: peer, hash: hash)
                } else {
                    let datagram = UnsafeRawBufferPointer(rebasing: slot[start..<(start + sent)])
                    s.sender.enqueue(datagram, peer: peer, flowHash: hash)
                    count(&s, peer: peer, packets: 1, bytes: length)
                    recorder.map { record(datagram, on: $0, peer: s.engine.configuration.peers[peer].endpoint) }
                }
            case let .tooBig(replyLength):
                s.counters.tunPacketsIn &+= 1
                try? queue.write(UnsafeRawBufferPointer(rebasing: b.reply[..<replyLength]), virtio: VirtioNetHeader())
                s.counters.drop(.tooBig)
            case let .resolve(peer, replyLength):
                s.counters.tunPacketsIn &+= 1
                s.sender.sendNow(UnsafeRawBufferPointer(rebasing: b.reply[..<replyLength]), peer: peer)
                if isSuper || !b.pending.hold(UnsafeRawBufferPointer(packet), now: now) { s.counters.drop(.unresolved) }
            case .wait:
                s.counters.tunPacketsIn &+= 1
                if isSuper || !b.pending.hold(UnsafeRawBufferPointer(packet), now: now) { s.counters.drop(.unresolved) }
            case let .drop(reason):
                s.counters.tunPacketsIn &+= 1
                s.counters.drop(reason)
            }
        }
        s.sender.flush()
        return n
    }

    /// Sends the held packets whose peer is now known.
    private func retryPending(_ s: inout State, _ b: inout Buffers, now: UInt64) {
        let reply = b.reply
        let expired = b.pending.retry(now: now) { slot, length in
            let offset = PendingPackets.headroom
            switch s.engine.egress(slot: slot, packetOffset: offset, length: length, reply: reply) {
            case let .send(peer, start, sent, hash):
                let datagram = UnsafeRawBufferPointer(rebasing: slot[start..<(start + sent)])
                s.sender.enqueue(datagram, peer: peer, flowHash: hash)
                count(&s, peer: peer, packets: 1, bytes: length)
                s.counters.tunPacketsIn &-= 1  // counted when it was read
                recorder.map { record(datagram, on: $0, peer: s.engine.configuration.peers[peer].endpoint) }
                return true
            case let .resolve(peer, length):
                // No answer for a second: ask again, as the kernel retransmits its requests.
                s.sender.sendNow(UnsafeRawBufferPointer(rebasing: reply[..<length]), peer: peer)
                return false
            case .wait:
                return false
            case .tooBig, .drop:
                s.counters.drop(.unresolved)
                return true
            }
        }
        s.sender.flush()
        s.counters.drop(.unresolved, count: UInt64(expired))
    }

    private func count(_ s: inout State, peer: Int, packets: Int, bytes: Int) {
        s.counters.tunPacketsIn &+= UInt64(packets)
        s.counters.tunBytesIn &+= UInt64(bytes)
        s.counters.underlayDatagramsOut &+= UInt64(packets)
        s.counters.peerPacketsOut[peer] &+= UInt64(packets)
        s.counters.peerBytesOut[peer] &+= UInt64(bytes)
    }

    private func record(_ datagram: UnsafeRawBufferPointer, on recorder: PacketRecorder, peer: SocketEndpoint) {
        recorder.outer(datagram, from: listen, to: peer)
    }

    /// IP + TCP/UDP header length of a plain IPv4/IPv6 packet.
    private static func headersLength(_ p: UnsafeRawBufferPointer) -> Int? {
        guard let first = p.first else { return nil }
        let ip = first >> 4 == 6 ? 40 : Int(first & 0x0F) * 4
        guard p.count >= ip + 8 else { return nil }
        let proto = first >> 4 == 6 ? p[6] : p[9]
        if proto == IPProtocol.udp { return ip + 8 }
        guard proto == IPProtocol.tcp, p.count >= ip + 20 else { return nil }
        return ip + Int(p[ip + 12] >> 4) * 4
    }

    /// Cuts a super-packet into segments, each behind a copy of the VXLAN + Ethernet headers the
    /// engine wrote at `headersAt`, and queues them as UDP GSO sends (at most 64 KiB each).
    private func sendSuperPacket(
        _ s: inout State, _ b: inout Buffers, slot: UnsafeMutableRawBufferPointer, headersAt: Int,
        packet: UnsafeRawBufferPointer, header: VirtioNetHeader, peer: Int, hash: UInt32
    ) {
        let outer = VXLANHeader.length + EthernetHeader.length
        guard let headers = Self.headersLength(packet) else { return }
        let size = Int(header.gsoSize)
        let stride = outer + headers + size
        let segments = (packet.count - headers + size - 1) / size
        let need = segments * stride + outer
        if b.arenaUsed + need > b.arena.count {
            s.sender.flush()
            b.arenaUsed = 0
        }
        guard need <= b.arena.count, segments <= b.lengths.count else {
            s.counters.drop(.tooBig)
            return
        }
        let region = UnsafeMutableRawBufferPointer(rebasing: b.arena[b.arenaUsed..<(b.arenaUsed + need)])
        let written: Int
        do {
            written = try GSOSplitter.split(packet, header: header, into: UnsafeMutableRawBufferPointer(rebasing: region[outer...]),
                                            slotSize: stride, lengths: b.lengths)
        } catch {
            s.counters.drop(.malformed)
            return
        }
        b.arenaUsed += need
        let prefix = UnsafeRawBufferPointer(rebasing: slot[headersAt..<(headersAt + outer)])
        var bytes = 0
        for k in 0..<written {
            UnsafeMutableRawBufferPointer(rebasing: region[(k * stride)..<(k * stride + outer)]).copyMemory(from: prefix)
            bytes += b.lengths[k]
        }
        // One GSO send may carry at most 64 KiB of UDP payload.
        let perSend = max(1, 65_000 / stride)
        var first = 0
        while first < written {
            let last = min(first + perSend, written) - 1
            let start = first * stride
            let end = last * stride + outer + b.lengths[last]
            let datagram = UnsafeRawBufferPointer(rebasing: region[start..<end])
            s.sender.enqueue(datagram, peer: peer, flowHash: hash, segmentSize: last > first ? stride : 0)
            first = last + 1
        }
        if let recorder {
            let endpoint = s.engine.configuration.peers[peer].endpoint
            for k in 0..<written {
                record(UnsafeRawBufferPointer(rebasing: region[(k * stride)..<(k * stride + outer + b.lengths[k])]),
                       on: recorder, peer: endpoint)
            }
        }
        count(&s, peer: peer, packets: written, bytes: bytes)
    }

    // MARK: Underlay to TUN

    @discardableResult
    private func fromUnderlay(_ s: inout State, _ b: inout Buffers, now: UInt64) -> Int {
        let reply = b.reply
        let received = b.receiver.receive(from: socket) { datagram, source in
            s.counters.underlayDatagramsIn &+= 1
            recorder?.outer(UnsafeRawBufferPointer(datagram), from: source, to: listen)
            switch s.engine.ingress(datagram, from: source.address, reply: reply) {
            case let .deliver(peer, start, length):
                let packet = UnsafeRawBufferPointer(rebasing: datagram[start..<(start + length)])
                s.counters.peerPacketsIn[peer] &+= 1
                s.counters.peerBytesIn[peer] &+= UInt64(length)
                if let key = FlowKey(packet: packet) { s.flows.record(key, bytes: length, now: now) }
                recorder?.inner(packet)
                if coalesceUDP, Self.isUDP(packet) {
                    if !b.udpCoalescer.append(packet) {
                        b.udpCoalescer.finish { packet, header in write(&s, packet, header) }
                        if !b.udpCoalescer.append(packet) { write(&s, packet, VirtioNetHeader()) }
                    }
                } else if coalesce {
                    if !b.coalescer.append(packet) {
                        flushCoalescer(&s, &b.coalescer)
                        _ = b.coalescer.append(packet)
                    }
                } else {
                    write(&s, packet, VirtioNetHeader())
                }
            case let .reply(peer, length):
                s.sender.sendNow(UnsafeRawBufferPointer(rebasing: reply[..<length]), peer: peer)
            case .absorbed:
                break
            case let .drop(reason):
                s.counters.drop(reason)
            }
        }
        flushCoalescer(&s, &b.coalescer)
        b.udpCoalescer.finish { packet, header in write(&s, packet, header) }
        return received
    }

    private static func isUDP(_ p: UnsafeRawBufferPointer) -> Bool {
        guard let first = p.first else { return false }
        return first >> 4 == 6 ? p.count > 6 && p[6] == IPProtocol.udp : p.count > 9 && p[9] == IPProtocol.udp
    }

    private func flushCoalescer(_ s: inout State, _ coalescer: inout TCPCoalescer) {
        coalescer.finish { packet, header in write(&s, packet, header) }
    }

    private func write(_ s: inout State, _ packet: UnsafeRawBufferPointer, _ header: VirtioNetHeader) {
        do {
            try queue.write(packet, virtio: header)
            s.counters.tunPacketsOut &+= 1
            s.counters.tunBytesOut &+= UInt64(packet.count)
        } catch {
            s.counters.errors &+= 1
        }
    }
}
