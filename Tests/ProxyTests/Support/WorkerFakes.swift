import Packet
@testable import Proxy
import Tun

/// A device fed by hand: packets to read (with an offload header for super-packets), and
/// what the worker wrote and queued.
final class FakeDevice: PacketDevice {
    var toRead: [([UInt8], VirtioNetHeader)] = []
    var written: [[UInt8]] = []
    var enqueued: [[UInt8]] = []
    var flushes = 0

    func readSuperPackets(into batch: PacketBatch) throws(TunError) -> Int {
        batch.removeAll()
        var n = 0
        while n < batch.capacity, !toRead.isEmpty {
            let (bytes, header) = toRead.removeFirst()
            let slot = batch.slot(n)
            for (i, byte) in bytes.enumerated() { slot[batch.headroom + i] = byte }
            batch.setLength(bytes.count, of: n, offload: header)
            n += 1
        }
        return n
    }

    func write(_ packet: UnsafeRawBufferPointer) throws(TunError) { written.append(Array(packet)) }
    func enqueue(_ packet: UnsafeRawBufferPointer) throws(TunError) { enqueued.append(Array(packet)) }
    func flush() throws(TunError) { flushes += 1 }
}

/// Datagrams handed to the worker as if received from the underlay.
final class FakeSource: DatagramSource {
    var toReceive: [([UInt8], SocketEndpoint)] = []

    func receive(_ body: (UnsafeMutableRawBufferPointer, SocketEndpoint) -> Void) -> Int {
        let datagrams = toReceive
        toReceive = []
        for (bytes, source) in datagrams {
            var copy = bytes
            copy.withUnsafeMutableBytes { body($0, source) }
        }
        return datagrams.count
    }
}

/// Keeps what the worker sends, as the sender would have been asked to.
final class FakeSink: DatagramSink {
    struct Queued {
        var bytes: [UInt8]
        var peer: Int
        var flowHash: UInt32
        var segmentSize: Int
    }

    var peers: [SocketEndpoint] = []
    var queued: [Queued] = []
    var sentNow: [([UInt8], Int)] = []
    var flushes = 0

    func setPeers(_ endpoints: [SocketEndpoint]) { peers = endpoints }
    func enqueue(_ datagram: UnsafeRawBufferPointer, peer: Int, flowHash: UInt32, segmentSize: Int) {
        queued.append(Queued(bytes: Array(datagram), peer: peer, flowHash: flowHash, segmentSize: segmentSize))
    }
    func sendNow(_ datagram: UnsafeRawBufferPointer, peer: Int) { sentNow.append((Array(datagram), peer)) }
    func flush() { flushes += 1 }
    func take() -> DatagramSender.Outcome { DatagramSender.Outcome(sent: queued.count, failed: 0) }
}
