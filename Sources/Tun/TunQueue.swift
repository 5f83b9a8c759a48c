import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// One queue of a TUN/TAP device: a non-blocking file descriptor read and written in batches.
///
/// Not thread-safe: one queue belongs to one worker.
public final class TunQueue {
    public let descriptor: Int32
    public let index: Int
    public let hasVirtioHeader: Bool
    public let mode: TunDevice.Mode
    private var closed = false
    /// The header and the two-element iovec of `write`, made once: a write allocates nothing.
    private let header = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNetHeader.length, alignment: 8)
    private let vectors = UnsafeMutablePointer<iovec>.allocate(capacity: 2)

    init(descriptor: Int32, index: Int, virtioHeader: Bool, mode: TunDevice.Mode) {
        self.descriptor = descriptor
        self.index = index
        self.hasVirtioHeader = virtioHeader
        self.mode = mode
    }

    deinit {
        close()
        header.deallocate()
        vectors.deallocate()
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(descriptor)
    }

    /// Reads as many packets as are waiting, up to the batch's capacity, into the batch (which
    /// is emptied first); returns how many. 0 means nothing was waiting.
    ///
    /// With a virtio header, it lands in the 10 bytes in front of each packet's headroom
    /// offset and is parsed into `virtioHeader(i)`.
    public func read(into batch: PacketBatch) throws(TunError) -> Int {
        batch.removeAll()
        let prefix = hasVirtioHeader ? VirtioNetHeader.length : 0
        var n = 0
        while n < batch.capacity {
            let slot = batch.slot(n)
            let start = batch.headroom - prefix
            guard let base = slot.baseAddress else { break }
            let got = Glibc.read(descriptor, base + start, prefix + batch.maximumPacketSize)
            if got < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { break }
                throw .system(operation: "read tun queue \(index)", errno: errno)
            }
            guard got >= prefix else { continue }
            var header = VirtioNetHeader()
            if prefix > 0 {
                header = (try? VirtioNetHeader(UnsafeRawBufferPointer(rebasing: slot[start..<(start + prefix)]))) ?? header
            }
            batch.setLength(got - prefix, of: n, virtio: header)
            n += 1
        }
        return n
    }

    /// Writes one packet; with a virtio header, `virtio` goes in front (zero: a plain packet
    /// whose checksums are complete).
    public func write(_ packet: UnsafeRawBufferPointer, virtio: VirtioNetHeader? = nil) throws(TunError) {
        let result: Int
        if hasVirtioHeader {
            (virtio ?? VirtioNetHeader()).write(to: header)
            vectors[0] = iovec(iov_base: header.baseAddress, iov_len: VirtioNetHeader.length)
            vectors[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: packet.baseAddress), iov_len: packet.count)
            result = writev(descriptor, vectors, 2)
        } else {
            result = Glibc.write(descriptor, packet.baseAddress, packet.count)
        }
        if result < 0 {
            if errno == EAGAIN { return }  // the queue is full: the packet is dropped, as a NIC would
            throw .system(operation: "write tun queue \(index)", errno: errno)
        }
    }

    /// Writes every packet of the batch.
    public func write(_ batch: PacketBatch) throws(TunError) {
        for i in 0..<batch.count {
            try write(batch.packet(i), virtio: hasVirtioHeader ? batch.virtioHeader(i) : nil)
        }
    }
}
