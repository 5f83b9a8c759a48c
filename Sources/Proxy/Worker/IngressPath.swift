import Packet
import Tun

/// Underlay to TUN: datagrams are received in batches (UDP GRO may have merged a peer's run;
/// the source cuts it again), the engine finds each inner packet where it lies, and the
/// device queue merges runs of a flow back into super-packets for one write each.
///
/// Owns its buffers, made once: nothing is allocated per packet.
final class IngressPath {
    private let device: any PacketDevice
    private let source: any DatagramSource
    private let recorder: PacketRecorder?
    private let listen: SocketEndpoint
    /// Answers the engine writes (ARP replies, neighbour advertisements).
    private let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 64)

    init(device: any PacketDevice, source: any DatagramSource, recorder: PacketRecorder?, listen: SocketEndpoint) {
        self.device = device
        self.source = source
        self.recorder = recorder
        self.listen = listen
    }

    deinit {
        reply.deallocate()
    }

    /// Receives what waits on the underlay and forwards it; returns how many datagrams there were.
    @discardableResult
    func forward(_ s: inout WorkerState, now: UInt64) -> Int {
        let received = source.receive { datagram, from in
            handle(datagram, from: from, &s, now: now)
        }
        do { try device.flush() } catch { s.counters.errors &+= 1 }
        return received
    }

    private func handle(_ datagram: UnsafeMutableRawBufferPointer, from: SocketEndpoint, _ s: inout WorkerState, now: UInt64) {
        s.counters.underlayDatagramsIn &+= 1
        recorder?.outer(UnsafeRawBufferPointer(datagram), from: from, to: listen)
        switch s.engine.ingress(datagram, from: from.address, reply: reply) {
        case let .deliver(peer, start, length):
            let packet = UnsafeRawBufferPointer(rebasing: datagram[start..<(start + length)])
            s.countReceived(peer: peer, bytes: length)
            if let shape = IPPacketShape(packet) { s.flows.record(FlowKey(shape), bytes: length, now: now) }
            recorder?.inner(packet)
            do {
                try device.enqueue(packet)
                s.countWritten(bytes: length)
            } catch {
                s.counters.errors &+= 1
            }
        case let .reply(peer, length):
            s.sender.sendNow(UnsafeRawBufferPointer(rebasing: reply[..<length]), peer: peer)
        case .absorbed:
            break
        case let .drop(reason):
            s.counters.drop(reason)
        }
    }
}
