import Packet

/// Caller-owned, reused buffers for a batch of packets, each slot with headroom in front so a
/// tunnel can prepend its headers without moving the packet.
///
/// One allocation at init; reads and writes reuse it for the life of the batch.
public final class PacketBatch {
    /// How many packets one batch holds.
    public let capacity: Int
    /// Bytes kept free in front of each packet.
    public let headroom: Int
    /// The largest packet a slot holds.
    public let maximumPacketSize: Int
    /// Bytes per slot: headroom plus the largest packet.
    public let slotSize: Int
    /// Packets in the batch now.
    public internal(set) var count = 0

    let storage: UnsafeMutableRawBufferPointer
    let lengths: UnsafeMutableBufferPointer<Int>
    let virtio: UnsafeMutableBufferPointer<VirtioNetHeader>

    /// - Parameters:
    ///   - headroom: at least 10 (a virtio-net header is read there); 64 leaves room for
    ///     outer Ethernet, IPv6, UDP and VXLAN headers.
    public init(capacity: Int = 64, headroom: Int = 96, maximumPacketSize: Int = 65_535) {
        self.capacity = max(capacity, 1)
        self.headroom = max(headroom, VirtioNetHeader.length)
        self.maximumPacketSize = maximumPacketSize
        self.slotSize = (self.headroom + maximumPacketSize + 63) & ~63
        storage = .allocate(byteCount: self.capacity * slotSize, alignment: 64)
        lengths = .allocate(capacity: self.capacity)
        lengths.initialize(repeating: 0)
        virtio = .allocate(capacity: self.capacity)
        virtio.initialize(repeating: VirtioNetHeader())
    }

    deinit {
        storage.deallocate()
        lengths.deallocate()
        virtio.deallocate()
    }

    /// Packet `i`: its bytes, without headroom.
    public func packet(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: slot(i)[headroom..<(headroom + length(i))])
    }

    /// The whole slot `i`, headroom first: write a packet at `headroom` and `setLength`.
    public func slot(_ i: Int) -> UnsafeMutableRawBufferPointer {
        precondition(i >= 0 && i < capacity, "slot \(i) of \(capacity)")
        return UnsafeMutableRawBufferPointer(rebasing: storage[(i * slotSize)..<((i + 1) * slotSize)])
    }

    public func length(_ i: Int) -> Int { lengths[i] }

    /// Packet `i` as a GSO super-packet, when it is one (read by `TunQueue.readSuperPackets`
    /// from a device with offloads): the plan for cutting it into segments. nil for a plain
    /// packet; throws when its offload header describes nothing the packet could be cut by.
    public func superPacket(_ i: Int) throws(GSOSplitter.Failure) -> SuperPacket? {
        let header = virtio[i]
        guard header.gsoType != .none, header.gsoSize > 0 else { return nil }
        return try SuperPacket(packet(i), header: header)
    }

    /// The virtio-net header read with packet `i` (all zero for a plain packet).
    func virtioHeader(_ i: Int) -> VirtioNetHeader { virtio[i] }

    /// Records packet `i` as `length` bytes at the slot's headroom, and the batch as holding
    /// at least `i + 1` packets.
    public func setLength(_ length: Int, of i: Int) {
        setLength(length, of: i, offload: VirtioNetHeader())
    }

    /// Records packet `i` as a super-packet `header` describes (or a plain packet, for an
    /// empty header): how a stand-in for a device fills a batch as a TUN device with offloads
    /// would.
    public func setLength(_ length: Int, of i: Int, offload header: VirtioNetHeader) {
        precondition(length >= 0 && length <= maximumPacketSize)
        lengths[i] = length
        virtio[i] = header
        count = max(count, i + 1)
    }

    /// Empties the batch, keeping its memory.
    public func removeAll() {
        count = 0
    }
}
