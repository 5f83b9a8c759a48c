import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// Queues VXLAN datagrams for the peers and sends them in batches (sendmmsg), each from the
/// pool socket its flow hash picks, so a flow keeps one outer source port and flows spread
/// over several. A queued datagram is only referenced: its bytes must stay put until `flush`.
///
/// Consecutive datagrams of one socket to one peer, of one size (the last may be shorter), go
/// out as one UDP GSO message that gathers them where they lie: the stack, the veth and a
/// peer's GRO socket see one packet for up to 64 of them. That is the run a flood of small
/// packets from one flow makes, and the run of ACKs a bulk transfer sends back.
/// One per worker; not thread-safe.
final class DatagramSender {
    /// Datagrams sent and dropped (full socket buffer, or refused) since the last `take`.
    struct Outcome: Sendable, Equatable {
        var sent = 0
        var failed = 0

        init(sent: Int = 0, failed: Int = 0) {
            self.sent = sent
            self.failed = failed
        }
    }

    /// The run of same-sized datagrams the last message of a socket gathers.
    private struct Run {
        var peer = -1
        var size = 0
        var bytes = 0
        /// False once a shorter datagram ended it, or when the message is a caller's GSO send.
        var isOpen = false
    }

    private let sockets: [UnderlaySocket]
    /// Messages per socket between flushes.
    private let perSocket = 64
    /// Vectors per socket between flushes: every datagram of every message takes one.
    private let vectorsPerSocket = 256
    /// Datagrams one GSO message gathers (the kernel's UDP_MAX_SEGMENTS is 64 on older kernels).
    private let segmentsPerMessage = 64
    /// UDP payload one GSO message may carry: the one 64 KiB limit of the proxy's sends (an
    /// IP datagram's length is 16 bits), less room for the headers.
    private let bytesPerMessage = 65_000
    private let vectors: UnsafeMutablePointer<iovec>
    private let vectorCounts: UnsafeMutablePointer<UInt32>
    private let datagramCounts: UnsafeMutablePointer<Int>
    private let names: UnsafeMutablePointer<sockaddr_storage>
    private let nameLengths: UnsafeMutablePointer<UInt32>
    private let segmentSizes: UnsafeMutablePointer<UInt16>
    private let counts: UnsafeMutablePointer<Int>
    private let vectorsUsed: UnsafeMutablePointer<Int>
    private let runs: UnsafeMutablePointer<Run>
    private var peerNames: [sockaddr_storage] = []
    private var peerNameLengths: [UInt32] = []
    private var peerEndpoints: [SocketEndpoint] = []
    private(set) var outcome = Outcome()

    init(sockets: [UnderlaySocket]) {
        precondition(!sockets.isEmpty, "a sender needs at least one socket")
        self.sockets = sockets
        let messages = sockets.count * perSocket
        vectors = .allocate(capacity: sockets.count * vectorsPerSocket)
        vectorCounts = .allocate(capacity: messages)
        datagramCounts = .allocate(capacity: messages)
        names = .allocate(capacity: messages)
        nameLengths = .allocate(capacity: messages)
        segmentSizes = .allocate(capacity: messages)
        counts = .allocate(capacity: sockets.count)
        counts.initialize(repeating: 0, count: sockets.count)
        vectorsUsed = .allocate(capacity: sockets.count)
        vectorsUsed.initialize(repeating: 0, count: sockets.count)
        runs = .allocate(capacity: sockets.count)
        runs.initialize(repeating: Run(), count: sockets.count)
    }

    deinit {
        vectors.deallocate()
        vectorCounts.deallocate()
        datagramCounts.deallocate()
        names.deallocate()
        nameLengths.deallocate()
        segmentSizes.deallocate()
        counts.deallocate()
        vectorsUsed.deallocate()
        runs.deallocate()
    }

    /// The peers' endpoints, by the index the engine uses.
    func setPeers(_ endpoints: [SocketEndpoint]) {
        flush()
        peerEndpoints = endpoints
        peerNames = endpoints.map { endpoint in
            var storage = sockaddr_storage()
            _ = UnderlaySocket.fill(&storage, endpoint)
            return storage
        }
        peerNameLengths = endpoints.map { $0.address.isIPv6 ? UInt32(MemoryLayout<sockaddr_in6>.size) : UInt32(MemoryLayout<sockaddr_in>.size) }
    }

    /// Queues `datagram` for peer `peer` from the socket of `flowHash`. With `segmentSize` > 0
    /// it is a run of datagrams of that size laid end to end (the last may be shorter), sent
    /// as UDP GSO: cut here into messages the kernel takes (at most `segmentsPerMessage`
    /// datagrams and `bytesPerMessage` bytes each), and by the kernel into the datagrams.
    func enqueue(_ datagram: UnsafeRawBufferPointer, peer: Int, flowHash: UInt32, segmentSize: Int = 0) {
        let socket = Int(flowHash % UInt32(sockets.count))
        guard segmentSize > 0, datagram.count > segmentSize else {
            enqueueMessage(datagram, peer: peer, socket: socket, segmentSize: 0)
            return
        }
        let perMessage = max(1, min(segmentsPerMessage, bytesPerMessage / segmentSize)) * segmentSize
        var offset = 0
        while offset < datagram.count {
            let end = min(offset + perMessage, datagram.count)
            let message = UnsafeRawBufferPointer(rebasing: datagram[offset..<end])
            enqueueMessage(message, peer: peer, socket: socket, segmentSize: message.count > segmentSize ? segmentSize : 0)
            offset = end
        }
    }

    private func enqueueMessage(_ datagram: UnsafeRawBufferPointer, peer: Int, socket: Int, segmentSize: Int) {
        let vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: datagram.baseAddress), iov_len: datagram.count)
        if segmentSize == 0, extendRun(of: socket, with: vector, peer: peer) { return }
        if counts[socket] == perSocket || vectorsUsed[socket] == vectorsPerSocket { flush(socket) }
        let i = socket * perSocket + counts[socket]
        vectors[socket * vectorsPerSocket + vectorsUsed[socket]] = vector
        vectorCounts[i] = 1
        datagramCounts[i] = segmentSize > 0 ? (datagram.count + segmentSize - 1) / segmentSize : 1
        names[i] = peerNames[peer]
        nameLengths[i] = peerNameLengths[peer]
        segmentSizes[i] = UInt16(clamping: segmentSize)
        counts[socket] += 1
        vectorsUsed[socket] += 1
        runs[socket] = Run(peer: peer, size: datagram.count, bytes: datagram.count, isOpen: segmentSize == 0)
    }

    /// Adds the datagram to the socket's last message when it continues that message's run.
    private func extendRun(of socket: Int, with vector: iovec, peer: Int) -> Bool {
        let run = runs[socket]
        // An open run implies a message in the batch: flush and GSO sends close it.
        guard run.isOpen, run.peer == peer, vector.iov_len <= run.size, run.bytes + vector.iov_len <= bytesPerMessage,
              vectorsUsed[socket] < vectorsPerSocket
        else { return false }
        let i = socket * perSocket + counts[socket] - 1
        guard Int(vectorCounts[i]) < segmentsPerMessage else { return false }
        vectors[socket * vectorsPerSocket + vectorsUsed[socket]] = vector
        vectorsUsed[socket] += 1
        vectorCounts[i] += 1
        datagramCounts[i] += 1
        segmentSizes[i] = UInt16(clamping: run.size)
        runs[socket].bytes += vector.iov_len
        // Only the last segment of a GSO send may be shorter.
        if vector.iov_len < run.size { runs[socket].isOpen = false }
        return true
    }

    /// Sends one datagram now, outside the batches (neighbour replies, resolution requests).
    func sendNow(_ datagram: UnsafeRawBufferPointer, peer: Int) {
        if sockets[0].send(datagram, to: peerEndpoints[peer]) { outcome.sent += 1 } else { outcome.failed += 1 }
    }

    /// Sends everything queued.
    func flush() {
        for socket in 0..<sockets.count where counts[socket] > 0 { flush(socket) }
    }

    private func flush(_ socket: Int) {
        let first = socket * perSocket
        let count = counts[socket]
        let sent = max(0, Int(cshim_sendmmsg(sockets[socket].descriptor, vectors + socket * vectorsPerSocket, vectorCounts + first,
                                             names + first, nameLengths + first, segmentSizes + first, UInt32(count))))
        // A full socket buffer drops the tail of the batch; the rare message refused alone is
        // counted as if it were the tail too.
        for m in 0..<count {
            if m < sent { outcome.sent += datagramCounts[first + m] } else { outcome.failed += datagramCounts[first + m] }
        }
        counts[socket] = 0
        vectorsUsed[socket] = 0
        runs[socket].isOpen = false
    }

    /// The outcome so far, reset to zero.
    func take() -> Outcome {
        defer { outcome = Outcome() }
        return outcome
    }
}
