import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// One queue of a TUN/TAP device: a non-blocking file descriptor read and written in batches.
///
/// Offloads stay behind it, as wireguard-go's `tun.Device` keeps them: `read(into:)` hands out
/// plain packets (a GSO super-packet the kernel passed up is cut into its segments here, with
/// their checksums), and `enqueue`/`flush` take plain packets and write runs of one flow as one
/// super-packet. A caller that sends super-packets on whole, as the proxy does with UDP GSO,
/// reads them with `readSuperPackets(into:)` instead.
///
/// ```swift
/// let device = try TunDevice(.init(name: "tun0", offloads: .standard))
/// let queue = device.queues[0]
/// let batch = PacketBatch()
/// let n = try queue.read(into: batch)               // segments, each at most the MTU
/// for i in 0..<n { try queue.enqueue(batch.packet(i)) }
/// try queue.flush()                                  // a TCP run goes out as one write
/// ```
///
/// Not thread-safe: one queue belongs to one worker.
public final class TunQueue {
    public let descriptor: Int32
    public let index: Int
    /// True when the device was made with offloads (IFF_VNET_HDR): every read and write carries
    /// a virtio-net header, which this type adds and strips.
    public let hasVirtioHeader: Bool
    public let mode: TunDevice.Mode
    /// Packets read and dropped because their offload header described nothing they could be
    /// cut or checksummed by (never seen from a Linux kernel; counted rather than trusted).
    public private(set) var malformedReads = 0
    /// GSO super-packets the kernel handed up, and written down to it (merged runs included):
    /// how much the offloads saved, in system calls.
    public private(set) var superPacketsRead = 0
    public private(set) var superPacketsWritten = 0
    private var closed = false
    /// The header and the two-element iovec of `write`, made once: a write allocates nothing.
    private let header = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNetHeader.length, alignment: 8)
    private let vectors = UnsafeMutablePointer<iovec>.allocate(capacity: 2)
    /// With offloads: where super-packets are read and cut (nil without).
    private let carry: SegmentCarry?
    /// With offloads: the runs `enqueue` builds (nil without: each packet is written alone).
    private let coalescing: CoalescingWriter?

    init(descriptor: Int32, index: Int, virtioHeader: Bool, offloads: TunOffloads, mode: TunDevice.Mode) {
        self.descriptor = descriptor
        self.index = index
        self.hasVirtioHeader = virtioHeader
        self.mode = mode
        // Runs are merged only into what the kernel takes back: TCP on any device with a virtio
        // header, UDP only where it accepted USO in both families.
        let tun = mode == .tun && virtioHeader
        carry = virtioHeader ? SegmentCarry(maximumPacketSize: 65_535) : nil
        coalescing = tun ? CoalescingWriter(coalescesUDP: offloads.isSuperset(of: [.uso4, .uso6])) : nil
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

    // MARK: Reading

    /// Reads the packets waiting, up to the batch's capacity, into the batch (emptied first);
    /// returns how many. 0 means nothing was waiting.
    ///
    /// Every packet is plain, whatever offloads the device has: a super-packet is cut into its
    /// segments (each at most the MTU, checksums complete), and segments that do not fit this
    /// batch come first in the next.
    public func read(into batch: PacketBatch) throws(TunError) -> Int {
        batch.removeAll()
        guard let carry else { return try readPlain(into: batch) }
        var n = carry.drain(into: batch, from: 0)
        while n < batch.capacity, !carry.isPending {
            guard let start = carry.packetStart,
                  let (length, header) = try readOne(to: start, capacity: carry.packetCapacity) else { break }
            let packet = UnsafeMutableRawBufferPointer(start: start, count: length)
            if header.gsoType != .none, header.gsoSize > 0 {
                guard let superPacket = try? SuperPacket(UnsafeRawBufferPointer(packet), header: header) else {
                    malformedReads += 1
                    continue
                }
                superPacketsRead += 1
                carry.begin(superPacket)
                n = carry.drain(into: batch, from: n)
            } else {
                guard finishChecksum(packet, header), length <= batch.maximumPacketSize else { continue }
                let slot = batch.slot(n)
                UnsafeMutableRawBufferPointer(rebasing: slot[batch.headroom..<(batch.headroom + length)])
                    .copyMemory(from: UnsafeRawBufferPointer(packet))
                batch.setLength(length, of: n)
                n += 1
            }
        }
        return n
    }

    /// Reads the packets waiting, as `read(into:)` does, but leaves GSO super-packets whole:
    /// `batch.superPacket(i)` says which are, and how to cut them. A caller that sends them on
    /// whole (UDP GSO) saves the cutting and the per-segment work. Plain packets have their
    /// checksums complete.
    public func readSuperPackets(into batch: PacketBatch) throws(TunError) -> Int {
        batch.removeAll()
        guard hasVirtioHeader else { return try readPlain(into: batch) }
        var n = 0
        while n < batch.capacity {
            guard let start = batch.slot(n).baseAddress.map({ $0 + batch.headroom }),
                  let (length, header) = try readOne(to: start, capacity: batch.maximumPacketSize) else { break }
            let isSuper = header.gsoType != .none && header.gsoSize > 0
            if isSuper {
                superPacketsRead += 1
            } else {
                guard finishChecksum(UnsafeMutableRawBufferPointer(start: start, count: length), header) else { continue }
            }
            batch.setLength(length, of: n, offload: isSuper ? header : VirtioNetHeader())
            n += 1
        }
        return n
    }

    /// Reads into the slots straight: a device without offloads has nothing to cut.
    private func readPlain(into batch: PacketBatch) throws(TunError) -> Int {
        var n = 0
        while n < batch.capacity {
            guard let start = batch.slot(n).baseAddress.map({ $0 + batch.headroom }),
                  let (length, _) = try readOne(to: start, capacity: batch.maximumPacketSize) else { break }
            batch.setLength(length, of: n)
            n += 1
        }
        return n
    }

    /// One read(2) with the packet landing at `start`, and its virtio header, if the device
    /// has them, in the bytes just before it; nil when nothing waits.
    private func readOne(to start: UnsafeMutableRawPointer, capacity: Int) throws(TunError) -> (Int, VirtioNetHeader)? {
        let prefix = hasVirtioHeader ? VirtioNetHeader.length : 0
        while true {
            let got = Glibc.read(descriptor, start - prefix, prefix + capacity)
            if got < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return nil }
                throw .system(operation: "read tun queue \(index)", errno: errno)
            }
            guard got >= prefix else { continue }
            guard prefix > 0 else { return (got, VirtioNetHeader()) }
            guard let header = try? VirtioNetHeader(UnsafeRawBufferPointer(start: start - prefix, count: prefix)) else {
                malformedReads += 1
                continue
            }
            return (got - prefix, header)
        }
    }

    /// Finishes a checksum the kernel left partial (NEEDS_CSUM); false, counted, when its
    /// offsets lie outside the packet.
    private func finishChecksum(_ packet: UnsafeMutableRawBufferPointer, _ header: VirtioNetHeader) -> Bool {
        guard header.needsChecksum else { return true }
        do {
            try GSOSplitter.completeChecksum(packet, start: Int(header.checksumStart), offset: Int(header.checksumOffset))
            return true
        } catch {
            malformedReads += 1
            return false
        }
    }

    // MARK: Writing

    /// Writes one plain packet (checksums complete) now.
    public func write(_ packet: UnsafeRawBufferPointer) throws(TunError) {
        try write(packet, virtio: VirtioNetHeader())
    }

    /// Writes a super-packet whole, for the kernel to cut (a device with offloads only).
    public func write(_ superPacket: SuperPacket) throws(TunError) {
        guard hasVirtioHeader else { throw .system(operation: "write a super-packet to tun queue \(index) without offloads", errno: EINVAL) }
        try write(superPacket.bytes, virtio: superPacket.header)
    }

    /// Queues a plain packet: consecutive segments of one TCP flow (and UDP datagrams, where
    /// the device took USO) are written as one super-packet at the next `flush`, or when a
    /// packet that cannot join the run comes. Without offloads the packet is written at once.
    /// The bytes are copied: the caller's buffer is free again on return.
    public func enqueue(_ packet: UnsafeRawBufferPointer) throws(TunError) {
        guard let coalescing else { return try write(packet) }
        var failure: TunError?
        coalescing.add(packet) { bytes, header in
            do throws(TunError) { try write(bytes, virtio: header) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// Writes every run `enqueue` holds; call at the end of a batch.
    public func flush() throws(TunError) {
        guard let coalescing else { return }
        var failure: TunError?
        coalescing.flush { bytes, header in
            do throws(TunError) { try write(bytes, virtio: header) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// Writes every packet of the batch: plain ones merged into runs as `enqueue` does,
    /// super-packets (from `readSuperPackets`) whole.
    public func write(_ batch: PacketBatch) throws(TunError) {
        for i in 0..<batch.count {
            let header = batch.virtioHeader(i)
            if header.gsoType != .none, hasVirtioHeader {
                try flush()
                try write(batch.packet(i), virtio: header)
            } else {
                try enqueue(batch.packet(i))
            }
        }
        try flush()
    }

    /// One write(2), the virtio header (when the device has them) gathered in front.
    private func write(_ packet: UnsafeRawBufferPointer, virtio: VirtioNetHeader) throws(TunError) {
        let result: Int
        if hasVirtioHeader {
            virtio.write(to: header)
            vectors[0] = iovec(iov_base: header.baseAddress, iov_len: VirtioNetHeader.length)
            vectors[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: packet.baseAddress), iov_len: packet.count)
            result = writev(descriptor, vectors, 2)
        } else {
            result = Glibc.write(descriptor, packet.baseAddress, packet.count)
        }
        if result >= 0, virtio.gsoType != .none { superPacketsWritten += 1 }
        if result < 0 {
            if errno == EAGAIN { return }  // the queue is full: the packet is dropped, as a NIC would
            throw .system(operation: "write tun queue \(index)", errno: errno)
        }
    }
}
