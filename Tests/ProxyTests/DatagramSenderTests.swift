import Glibc
import Packet
@testable import Proxy
import Testing

/// The batched sender over loopback sockets: runs of same-sized datagrams go out as one GSO
/// message and must arrive as the datagrams they were, in order, whoever receives them.
@Suite("Datagram sender")
struct DatagramSenderTests {
    /// Datagram `i` of a test: `size` bytes, every one of them `i`.
    static func datagram(_ i: Int, size: Int) -> [UInt8] { [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: size) }

    /// Receives until `count` datagrams came or a second passed without one.
    static func receive(_ count: Int, on socket: UnderlaySocket, with receiver: DatagramReceiver) -> [[UInt8]] {
        var got: [[UInt8]] = []
        var idle = 0
        while got.count < count, idle < 20 {
            var poll = pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&poll, 1, 50) > 0 else {
                idle += 1
                continue
            }
            _ = receiver.receive(from: socket) { datagram, _ in got.append(Array(datagram)) }
        }
        return got
    }

    /// Sends `sizes` (datagram i filled with i) to each receiver in turn, as `peers` says.
    static func exchange(sizes: [Int], peers: [Int], receivers: [UnderlaySocket]) throws -> (DatagramSender.Outcome, [[[UInt8]]]) {
        let sender = DatagramSender(sockets: [try UnderlaySocket(bind: SocketEndpoint(address: IPAddress("127.0.0.1")!, port: 0))])
        sender.setPeers(receivers.map { SocketEndpoint(address: IPAddress("127.0.0.1")!, port: $0.port) })
        let datagrams = sizes.enumerated().map { datagram($0.offset, size: $0.element) }
        let storage = datagrams.map { bytes -> UnsafeMutableRawBufferPointer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
            return buffer
        }
        defer { storage.forEach { $0.deallocate() } }
        for (i, buffer) in storage.enumerated() {
            sender.enqueue(UnsafeRawBufferPointer(buffer), peer: peers[i], flowHash: 7)
        }
        sender.flush()
        let outcome = sender.take()
        let received = receivers.enumerated().map { index, socket in
            receive(peers.filter { $0 == index }.count, on: socket, with: DatagramReceiver(capacity: 8))
        }
        return (outcome, received)
    }

    @Test("a run of same-sized datagrams arrives as those datagrams, in order, with or without GRO on the receiver")
    func run() throws {
        let sizes = Array(repeating: 114, count: 40) + [60]
        for gro in [false, true] {
            let receiver = try UnderlaySocket(bind: SocketEndpoint(address: IPAddress("127.0.0.1")!, port: 0), gro: gro)
            let (outcome, received) = try Self.exchange(sizes: sizes, peers: sizes.map { _ in 0 }, receivers: [receiver])
            #expect(outcome == DatagramSender.Outcome(sent: 41, failed: 0))
            #expect(received[0] == sizes.enumerated().map { Self.datagram($0.offset, size: $0.element) })
        }
    }

    @Test("size changes and interleaved peers break the runs, and nothing is lost or reordered")
    func brokenRuns() throws {
        let sizes = [100, 100, 80, 100, 100, 200, 200, 50, 50, 100]
        let peers = [0, 0, 0, 0, 1, 1, 0, 0, 1, 1]
        let receivers = [try UnderlaySocket(bind: SocketEndpoint(address: IPAddress("127.0.0.1")!, port: 0), gro: true),
                         try UnderlaySocket(bind: SocketEndpoint(address: IPAddress("127.0.0.1")!, port: 0))]
        let (outcome, received) = try Self.exchange(sizes: sizes, peers: peers, receivers: receivers)
        #expect(outcome == DatagramSender.Outcome(sent: sizes.count, failed: 0))
        for peer in 0..<2 {
            let expected = sizes.indices.filter { peers[$0] == peer }.map { Self.datagram($0, size: sizes[$0]) }
            #expect(received[peer] == expected)
        }
    }

    @Test("more datagrams than one message may gather go out in several, all of them")
    func longRun() throws {
        let sizes = Array(repeating: 1000, count: 150)
        let receiver = try UnderlaySocket(bind: SocketEndpoint(address: IPAddress("127.0.0.1")!, port: 0), gro: true)
        let (outcome, received) = try Self.exchange(sizes: sizes, peers: sizes.map { _ in 0 }, receivers: [receiver])
        #expect(outcome == DatagramSender.Outcome(sent: 150, failed: 0))
        #expect(received[0] == sizes.enumerated().map { Self.datagram($0.offset, size: $0.element) })
    }
}
