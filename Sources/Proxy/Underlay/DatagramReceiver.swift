import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// Receives underlay datagrams in batches (recvmmsg) into buffers made once, and splits what
/// UDP GRO coalesced back into the datagrams the peer sent. One per worker.
final class DatagramReceiver {
    let capacity: Int
    private let slotSize: Int
    private let buffers: UnsafeMutableRawBufferPointer
    private let vectors: UnsafeMutablePointer<iovec>
    private let lengths: UnsafeMutablePointer<UInt32>
    private let segments: UnsafeMutablePointer<UInt32>
    private let addresses: UnsafeMutablePointer<sockaddr_storage>

    /// - Parameter slotSize: room per received datagram; 64 KiB holds a GRO batch.
    init(capacity: Int = 32, slotSize: Int = 65_536) {
        self.capacity = min(capacity, 64)
        self.slotSize = slotSize
        buffers = .allocate(byteCount: self.capacity * slotSize, alignment: 64)
        vectors = .allocate(capacity: self.capacity)
        lengths = .allocate(capacity: self.capacity)
        segments = .allocate(capacity: self.capacity)
        addresses = .allocate(capacity: self.capacity)
    }

    deinit {
        buffers.deallocate()
        vectors.deallocate()
        lengths.deallocate()
        segments.deallocate()
        addresses.deallocate()
    }

    /// Receives what is waiting on `socket` (up to `capacity` reads); calls `body` with each
    /// datagram and its sender; returns how many datagrams there were.
    func receive(from socket: UnderlaySocket, _ body: (UnsafeMutableRawBufferPointer, SocketEndpoint) -> Void) -> Int {
        for i in 0..<capacity {
            vectors[i] = iovec(iov_base: buffers.baseAddress.map { $0 + i * slotSize }, iov_len: slotSize)
        }
        let n = cshim_recvmmsg(socket.descriptor, vectors, addresses, lengths, segments, UInt32(capacity))
        guard n > 0 else { return 0 }
        var datagrams = 0
        for i in 0..<Int(n) {
            let source = UnderlaySocket.endpoint(of: UnsafeRawBufferPointer(start: addresses + i, count: MemoryLayout<sockaddr_storage>.size))
            let base = i * slotSize
            let total = Int(lengths[i])
            let size = segments[i] > 0 ? Int(segments[i]) : total
            var offset = 0
            repeat {
                let end = min(offset + max(size, 1), total)
                body(UnsafeMutableRawBufferPointer(rebasing: buffers[(base + offset)..<(base + end)]), source)
                datagrams += 1
                offset = end
            } while offset < total
        }
        return datagrams
    }
}
