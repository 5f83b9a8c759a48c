/// The proxy's flows: packets, bytes, first and last seen per inner 5-tuple, with idle expiry.
///
/// Open addressing with linear probing over allocations made at init, so recording a packet
/// allocates nothing; when the table is full a new flow is counted as untracked rather than
/// evicting a live one. A bitmap says which slots hold a flow: expiry and listing walk it, so
/// their cost follows the live flows rather than the capacity (a sweep of every slot took a
/// worker 1.2 ms a second at 65,536 slots, and each echo it overlapped waited for it).
/// Not thread-safe: one table per worker.
public final class FlowTable {
    /// One flow's counters.
    public struct Entry: Sendable, Equatable {
        public var key: FlowKey
        public var packets: UInt64
        public var bytes: UInt64
        /// Monotonic nanoseconds.
        public var firstSeen: UInt64
        public var lastSeen: UInt64
    }

    /// Slots, valid where `occupied` has the bit set.
    private let slots: UnsafeMutablePointer<Entry>
    private let occupied: UnsafeMutablePointer<UInt64>
    private let words: Int
    private let mask: Int
    public let capacity: Int
    public private(set) var count = 0
    /// Packets of new flows that found the table full.
    public private(set) var untracked: UInt64 = 0

    /// - Parameter capacity: rounded up to a power of two; the table keeps it at most 3/4 full.
    public init(capacity: Int = 65_536) {
        var size = 16
        while size < capacity { size <<= 1 }
        self.capacity = size
        mask = size - 1
        words = (size + 63) / 64
        slots = .allocate(capacity: size)
        occupied = .allocate(capacity: words)
        occupied.initialize(repeating: 0, count: words)
    }

    deinit {
        slots.deallocate()
        occupied.deallocate()
    }

    @inline(__always)
    private func isOccupied(_ i: Int) -> Bool { occupied[i >> 6] & (1 << UInt64(i & 63)) != 0 }

    @inline(__always)
    private func home(of key: FlowKey) -> Int { Int(key.stableHash) & mask }

    /// Counts one packet of `bytes` for `key` at `now` (monotonic nanoseconds).
    public func record(_ key: FlowKey, bytes: Int, now: UInt64) {
        var i = home(of: key)
        while isOccupied(i) {
            if slots[i].key == key {
                slots[i].packets &+= 1
                slots[i].bytes &+= UInt64(bytes)
                slots[i].lastSeen = now
                return
            }
            i = (i + 1) & mask
        }
        guard count < capacity - capacity / 4 else {
            untracked &+= 1
            return
        }
        (slots + i).initialize(to: Entry(key: key, packets: 1, bytes: UInt64(bytes), firstSeen: now, lastSeen: now))
        occupied[i >> 6] |= 1 << UInt64(i & 63)
        count += 1
    }

    /// The entry for `key`, if tracked.
    public func entry(for key: FlowKey) -> Entry? {
        var i = home(of: key)
        while isOccupied(i) {
            if slots[i].key == key { return slots[i] }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Removes flows idle for longer than `idle` nanoseconds at `now`; returns how many.
    @discardableResult
    public func expire(now: UInt64, idle: UInt64) -> Int {
        var removed = 0
        for word in 0..<words {
            var bits = occupied[word]
            while bits != 0 {
                let i = word << 6 | bits.trailingZeroBitCount
                bits &= bits &- 1
                // A removal pulls a later entry of the probe run back into the hole: look again.
                while isOccupied(i), now &- slots[i].lastSeen > idle {
                    remove(at: i)
                    removed += 1
                }
            }
        }
        return removed
    }

    /// Empties slot `hole` and moves later entries of its probe run back (backward-shift
    /// deletion), so that lookups never stop early at a hole and no tombstones pile up.
    private func remove(at slot: Int) {
        var hole = slot
        var j = slot
        while true {
            j = (j + 1) & mask
            guard isOccupied(j) else { break }
            let home = home(of: slots[j].key)
            // slots[j] may fill the hole unless its home lies cyclically in (hole, j].
            let homeAfterHole = (home &- hole) & mask
            let jAfterHole = (j &- hole) & mask
            if homeAfterHole == 0 || homeAfterHole > jAfterHole {
                slots[hole] = slots[j]
                hole = j
            }
        }
        occupied[hole >> 6] &= ~(1 << UInt64(hole & 63))
        count -= 1
    }

    /// The `limit` flows with the most bytes (for `netlab proxy flows`).
    public func top(_ limit: Int) -> [Entry] {
        var all: [Entry] = []
        all.reserveCapacity(count)
        for word in 0..<words {
            var bits = occupied[word]
            while bits != 0 {
                all.append(slots[word << 6 | bits.trailingZeroBitCount])
                bits &= bits &- 1
            }
        }
        return Array(all.sorted { $0.bytes > $1.bytes }.prefix(limit))
    }
}
