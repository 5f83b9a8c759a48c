/// The proxy's flows: packets, bytes, first and last seen per inner 5-tuple, with idle expiry.
///
/// Open addressing over one allocation made at init, so recording a packet allocates nothing;
/// when the table is full a new flow is counted as untracked rather than evicting a live one.
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

    private let slots: UnsafeMutablePointer<Entry?>
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
        slots = .allocate(capacity: size)
        slots.initialize(repeating: nil, count: size)
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Counts one packet of `bytes` for `key` at `now` (monotonic nanoseconds).
    public func record(_ key: FlowKey, bytes: Int, now: UInt64) {
        var i = Int(key.stableHash) & mask
        while true {
            if var entry = slots[i] {
                if entry.key == key {
                    entry.packets &+= 1
                    entry.bytes &+= UInt64(bytes)
                    entry.lastSeen = now
                    slots[i] = entry
                    return
                }
                i = (i + 1) & mask
                continue
            }
            guard count < capacity - capacity / 4 else {
                untracked &+= 1
                return
            }
            slots[i] = Entry(key: key, packets: 1, bytes: UInt64(bytes), firstSeen: now, lastSeen: now)
            count += 1
            return
        }
    }

    /// The entry for `key`, if tracked.
    public func entry(for key: FlowKey) -> Entry? {
        var i = Int(key.stableHash) & mask
        while let entry = slots[i] {
            if entry.key == key { return entry }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Removes flows idle for longer than `idle` nanoseconds at `now`; returns how many.
    /// Runs off the packet path (a timer), and re-inserts the survivors of each probe run so
    /// that lookups never stop at a hole.
    @discardableResult
    public func expire(now: UInt64, idle: UInt64) -> Int {
        var removed = 0
        for i in 0..<capacity {
            if let entry = slots[i], now &- entry.lastSeen > idle {
                slots[i] = nil
                count -= 1
                removed += 1
            }
        }
        guard removed > 0 else { return 0 }
        // Backward re-insertion: move every entry to the first free slot of its probe run.
        var survivors: [Entry] = []
        survivors.reserveCapacity(count)
        for i in 0..<capacity {
            if let entry = slots[i] {
                survivors.append(entry)
                slots[i] = nil
            }
        }
        for entry in survivors {
            var i = Int(entry.key.stableHash) & mask
            while slots[i] != nil { i = (i + 1) & mask }
            slots[i] = entry
        }
        return removed
    }

    /// The `limit` flows with the most bytes (for `netlab proxy flows`).
    public func top(_ limit: Int) -> [Entry] {
        var all: [Entry] = []
        for i in 0..<capacity { if let entry = slots[i] { all.append(entry) } }
        return Array(all.sorted { $0.bytes > $1.bytes }.prefix(limit))
    }
}
