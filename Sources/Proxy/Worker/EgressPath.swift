import Packet
import Tun

/// TUN to underlay: packets are read in batches; each is given its VXLAN and inner Ethernet
/// headers in the headroom in front of it and queued for its peer. A GSO super-packet is cut
/// into its segments, each behind its own copy of those headers, laid out back to back in an
/// arena and handed to the sender as one run, which leaves as UDP GSO sends.
///
/// Owns its buffers, made once: nothing is allocated per packet.
final class EgressPath {
    private let device: any PacketDevice
    private let recorder: PacketRecorder?
    private let listen: SocketEndpoint
    let batch = PacketBatch(capacity: 64, headroom: 128, maximumPacketSize: 65_535)
    /// Where super-packets are cut into back-to-back VXLAN datagrams; reused after each flush.
    private let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    private var arenaUsed = 0
    /// Messages the engine writes for the TUN device or a peer (ICMP too big, ARP, NDP).
    private let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 64)
    private var pending = PendingPackets()
    /// VXLAN plus inner Ethernet: what the engine writes in front of each packet.
    private static let outerLength = VXLANHeader.length + EthernetHeader.length

    init(device: any PacketDevice, recorder: PacketRecorder?, listen: SocketEndpoint) {
        self.device = device
        self.recorder = recorder
        self.listen = listen
    }

    deinit {
        arena.deallocate()
        reply.deallocate()
    }

    /// Packets held for a peer's MAC: while there are, the worker looks again soon.
    var hasPending: Bool { pending.count > 0 }

    /// Reads a batch from the device and forwards it; returns how many packets were read.
    @discardableResult
    func forward(_ s: inout WorkerState, now: UInt64) -> Int {
        guard let n = try? device.readSuperPackets(into: batch), n > 0 else { return 0 }
        arenaUsed = 0
        for i in 0..<n { forward(i, &s, now: now) }
        s.sender.flush()
        return n
    }

    private func forward(_ i: Int, _ s: inout WorkerState, now: UInt64) {
        let packet = batch.packet(i)
        let length = packet.count
        let superPacket: SuperPacket?
        do {
            superPacket = try batch.superPacket(i)
        } catch {
            s.countRead(packets: 1, bytes: length)
            s.counters.drop(.malformed)
            return
        }
        let packets = superPacket?.segmentCount ?? 1
        let bytes = superPacket.map { $0.segmentCount * $0.headersLength + length - $0.headersLength } ?? length
        s.countRead(packets: packets, bytes: bytes)
        var flowHash: UInt32 = 0
        if let shape = IPPacketShape(packet) {
            let key = FlowKey(shape)  // once per packet: the flow table and the source port share it
            s.flows.record(key, bytes: length, now: now)
            flowHash = key.stableHash
        }
        recorder?.inner(packet)
        let decision = s.engine.egress(slot: batch.slot(i), packetOffset: batch.headroom, length: length,
                                       largestSegment: superPacket?.largestSegment, reply: reply)
        switch decision {
        case let .send(peer, endpoint, start, sent):
            if let superPacket {
                sendSegments(of: superPacket, headersAt: start, of: i, &s, peer: peer, endpoint: endpoint, flowHash: flowHash)
            } else {
                let datagram = UnsafeRawBufferPointer(rebasing: batch.slot(i)[start..<(start + sent)])
                s.sender.enqueue(datagram, peer: peer, flowHash: flowHash, segmentSize: 0)
                s.countSent(peer: peer, packets: 1, bytes: length)
                recorder?.outer(datagram, from: listen, to: endpoint)
            }
        case let .tooBig(replyLength):
            try? device.write(UnsafeRawBufferPointer(rebasing: reply[..<replyLength]))
            s.counters.drop(.tooBig, count: UInt64(packets))
        case let .resolve(peer, replyLength):
            s.sender.sendNow(UnsafeRawBufferPointer(rebasing: reply[..<replyLength]), peer: peer)
            hold(packet, flowHash: flowHash, packets: packets, isSuper: superPacket != nil, &s, now: now)
        case .wait:
            hold(packet, flowHash: flowHash, packets: packets, isSuper: superPacket != nil, &s, now: now)
        case let .drop(reason):
            s.counters.drop(reason, count: UInt64(packets))
        }
    }

    /// Keeps a packet until its peer's MAC is known; a super-packet is too large to keep.
    private func hold(_ packet: UnsafeRawBufferPointer, flowHash: UInt32, packets: Int, isSuper: Bool, _ s: inout WorkerState,
                      now: UInt64) {
        if isSuper || !pending.hold(packet, flowHash: flowHash, now: now) { s.counters.drop(.unresolved, count: UInt64(packets)) }
    }

    /// Cuts a super-packet into segments, each behind a copy of the outer headers the engine
    /// wrote at `headersAt` of slot `i`, and queues them as one run of `stride`-byte datagrams.
    private func sendSegments(
        of superPacket: SuperPacket, headersAt: Int, of i: Int, _ s: inout WorkerState,
        peer: Int, endpoint: SocketEndpoint, flowHash: UInt32
    ) {
        let outer = Self.outerLength
        let stride = outer + superPacket.headersLength + superPacket.segmentSize
        let need = superPacket.segmentCount * stride
        if arenaUsed + need > arena.count {
            s.sender.flush()  // the queued runs point into the arena: send them before reusing it
            arenaUsed = 0
        }
        guard need <= arena.count else {
            s.counters.drop(.tooBig, count: UInt64(superPacket.segmentCount))
            return
        }
        let prefix = UnsafeRawBufferPointer(rebasing: batch.slot(i)[headersAt..<(headersAt + outer)])
        var end = arenaUsed
        var bytes = 0
        for k in 0..<superPacket.segmentCount {
            let at = arenaUsed + k * stride
            UnsafeMutableRawBufferPointer(rebasing: arena[at..<(at + outer)]).copyMemory(from: prefix)
            guard let length = try? superPacket.writeSegment(k, into: UnsafeMutableRawBufferPointer(rebasing: arena[(at + outer)..<(at + stride)]))
            else {
                s.counters.drop(.malformed, count: UInt64(superPacket.segmentCount))
                return
            }
            bytes += length
            end = at + outer + length
            recorder?.outer(UnsafeRawBufferPointer(rebasing: arena[at..<end]), from: listen, to: endpoint)
        }
        let run = UnsafeRawBufferPointer(rebasing: arena[arenaUsed..<end])
        arenaUsed += need
        s.sender.enqueue(run, peer: peer, flowHash: flowHash, segmentSize: stride)
        s.countSent(peer: peer, packets: superPacket.segmentCount, bytes: bytes)
    }

    /// Sends the held packets whose peer is now known; asks again for those still unknown.
    func retryPending(_ s: inout WorkerState, now: UInt64) {
        guard hasPending else { return }
        let reply = reply
        let recorder = recorder
        let listen = listen
        let expired = pending.retry(now: now) { slot, length, flowHash in
            let offset = PendingPackets.headroom
            switch s.engine.egress(slot: slot, packetOffset: offset, length: length, reply: reply) {
            case let .send(peer, endpoint, start, sent):
                let datagram = UnsafeRawBufferPointer(rebasing: slot[start..<(start + sent)])
                s.sender.enqueue(datagram, peer: peer, flowHash: flowHash, segmentSize: 0)
                s.countSent(peer: peer, packets: 1, bytes: length)
                recorder?.outer(datagram, from: listen, to: endpoint)
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

    /// Sends the requests the engine owes for neighbours whose entries grew old.
    func takeRequests(_ s: inout WorkerState) {
        let reply = reply
        let sender = s.sender
        s.engine.takeRequests(into: reply) { peer, length in
            sender.sendNow(UnsafeRawBufferPointer(rebasing: reply[..<length]), peer: peer)
        }
    }
}
