/// Packets held while the peer's MAC is being resolved, as the kernel's neighbour queue holds
/// them (its `unres_qlen`): the first packets of a conversation, a ping's first echo, are sent
/// once the answer arrives instead of being lost. Small and bounded: when full, or after a
/// second without an answer, packets are dropped and counted as `unresolved`.
struct PendingPackets: ~Copyable {
    static let headroom = 128
    let capacity: Int
    let slotSize: Int
    private let storage: UnsafeMutableRawBufferPointer
    private var lengths: [Int]
    private var times: [UInt64]
    /// Each packet's flow hash, taken when it was read: its source port when it leaves.
    private var hashes: [UInt32]
    private(set) var count = 0

    init(capacity: Int = 16, maximumPacket: Int = 2048) {
        self.capacity = capacity
        slotSize = Self.headroom + maximumPacket
        storage = .allocate(byteCount: capacity * slotSize, alignment: 64)
        lengths = Array(repeating: 0, count: capacity)
        times = Array(repeating: 0, count: capacity)
        hashes = Array(repeating: 0, count: capacity)
    }

    deinit {
        storage.deallocate()
    }

    /// Holds a copy of `packet` and its flow hash; false when it does not fit or the queue is full.
    mutating func hold(_ packet: UnsafeRawBufferPointer, flowHash: UInt32, now: UInt64) -> Bool {
        guard count < capacity, packet.count <= slotSize - Self.headroom else { return false }
        let start = count * slotSize + Self.headroom
        UnsafeMutableRawBufferPointer(rebasing: storage[start..<(start + packet.count)]).copyMemory(from: packet)
        lengths[count] = packet.count
        times[count] = now
        hashes[count] = flowHash
        count += 1
        return true
    }

    /// Offers each held packet to `retry` (its slot, with the packet at `headroom`, its length
    /// and its flow hash); keeps those for which it returns false and that are younger than
    /// `maximumAge`. Returns how many were given up.
    mutating func retry(now: UInt64, maximumAge: UInt64 = 1_000_000_000,
                        _ body: (UnsafeMutableRawBufferPointer, Int, UInt32) -> Bool) -> Int {
        var kept = 0
        var expired = 0
        for i in 0..<count {
            let slot = UnsafeMutableRawBufferPointer(rebasing: storage[(i * slotSize)..<((i + 1) * slotSize)])
            if body(slot, lengths[i], hashes[i]) { continue }
            if now &- times[i] > maximumAge {
                expired += 1
                continue
            }
            if kept != i {
                let target = UnsafeMutableRawBufferPointer(rebasing: storage[(kept * slotSize)..<((kept + 1) * slotSize)])
                target.copyMemory(from: UnsafeRawBufferPointer(slot))
                lengths[kept] = lengths[i]
                times[kept] = times[i]
                hashes[kept] = hashes[i]
            }
            kept += 1
        }
        count = kept
        return expired
    }
}
