import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// Queues VXLAN datagrams for the peers and sends them in batches (sendmmsg), each from the
/// pool socket its flow hash picks, so a flow keeps one outer source port and flows spread
/// over several. A queued datagram is only referenced: its bytes must stay put until `flush`.
/// One per worker; not thread-safe.
public final class DatagramSender {
    /// Datagrams sent and dropped (full socket buffer, or refused) since the last `take`.
    public struct Outcome: Sendable, Equatable {
        public var sent = 0
        public var failed = 0
    }

    private let sockets: [UnderlaySocket]
    private let perSocket = 64
    private let vectors: UnsafeMutablePointer<iovec>
    private let names: UnsafeMutablePointer<sockaddr_storage>
    private let nameLengths: UnsafeMutablePointer<UInt32>
    private let segmentSizes: UnsafeMutablePointer<UInt16>
    private let counts: UnsafeMutablePointer<Int>
    private var peerNames: [sockaddr_storage] = []
    private var peerNameLengths: [UInt32] = []
    private var peerEndpoints: [SocketEndpoint] = []
    public private(set) var outcome = Outcome()

    public init(sockets: [UnderlaySocket]) {
        precondition(!sockets.isEmpty, "a sender needs at least one socket")
        self.sockets = sockets
        let slots = sockets.count * perSocket
        vectors = .allocate(capacity: slots)
        names = .allocate(capacity: slots)
        nameLengths = .allocate(capacity: slots)
        segmentSizes = .allocate(capacity: slots)
        counts = .allocate(capacity: sockets.count)
        counts.initialize(repeating: 0, count: sockets.count)
    }

    deinit {
        vectors.deallocate()
        names.deallocate()
        nameLengths.deallocate()
        segmentSizes.deallocate()
        counts.deallocate()
    }

    /// The peers' endpoints, by the index the engine uses.
    public func setPeers(_ endpoints: [SocketEndpoint]) {
        peerEndpoints = endpoints
        peerNames = endpoints.map { endpoint in
            var storage = sockaddr_storage()
            _ = UnderlaySocket.fill(&storage, endpoint)
            return storage
        }
        peerNameLengths = endpoints.map { $0.address.isIPv6 ? UInt32(MemoryLayout<sockaddr_in6>.size) : UInt32(MemoryLayout<sockaddr_in>.size) }
    }

    /// Queues `datagram` for peer `peer` from the socket of `flowHash`; `segmentSize` > 0 sends
    /// it as UDP GSO, cut into datagrams of that size by the kernel.
    public func enqueue(_ datagram: UnsafeRawBufferPointer, peer: Int, flowHash: UInt32, segmentSize: Int = 0) {
        let socket = Int(flowHash % UInt32(sockets.count))
        if counts[socket] == perSocket { flush(socket) }
        let i = socket * perSocket + counts[socket]
        vectors[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: datagram.baseAddress), iov_len: datagram.count)
        names[i] = peerNames[peer]
        nameLengths[i] = peerNameLengths[peer]
        segmentSizes[i] = UInt16(clamping: segmentSize)
        counts[socket] += 1
    }

    /// Sends one datagram now, outside the batches (neighbour replies, resolution requests).
    public func sendNow(_ datagram: UnsafeRawBufferPointer, peer: Int) {
        if sockets[0].send(datagram, to: peerEndpoints[peer]) { outcome.sent += 1 } else { outcome.failed += 1 }
    }

    /// Sends everything queued.
    public func flush() {
        for socket in 0..<sockets.count where counts[socket] > 0 { flush(socket) }
    }

    private func flush(_ socket: Int) {
        let first = socket * perSocket
        let count = counts[socket]
        let sent = Int(cshim_sendmmsg(sockets[socket].descriptor, vectors + first, names + first, nameLengths + first,
                                      segmentSizes + first, UInt32(count)))
        outcome.sent += max(sent, 0)
        outcome.failed += count - max(sent, 0)
        counts[socket] = 0
    }

    /// The outcome so far, reset to zero.
    public func take() -> Outcome {
        defer { outcome = Outcome() }
        return outcome
    }
}
