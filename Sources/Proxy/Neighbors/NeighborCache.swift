import Packet

/// One engine's private view of the shared `NeighborTable`: the entries its packets use, and
/// when it last asked for each unresolved or ageing one.
///
/// The shared table sits behind a lock that every worker takes; the packet path should not.
/// So a packet to a neighbour whose entry is fresh costs one dictionary lookup here, and the
/// shared table is read only on a miss, when its generation moved (a mapping changed; the copy
/// is dropped whole), or when the copy says the entry is growing old. Requests go out at most
/// once a second per neighbour, as the kernel retransmits (retrans_time), however many
/// packets wait for the answer.
struct NeighborCache {
    /// What to do about the MAC of an inner destination.
    enum Resolution: Equatable {
        /// Send to this MAC.
        case known(MACAddress)
        /// Send to this MAC, and ask again: the entry was not confirmed for `reachableTime`.
        case confirm(MACAddress)
        /// Unknown: send a request now.
        case request
        /// Unknown, and a request went out less than a second ago: hold the packet.
        case waiting
    }

    private struct Slot {
        var entry: NeighborTable.Entry?
        /// When this engine last sent a request for the neighbour.
        var requested: UInt64?
        /// When this copy was last read from the shared table.
        var read: UInt64
    }

    static let requestInterval: UInt64 = 1_000_000_000
    /// Traffic confirms an entry in the shared table at most this often per neighbour.
    static let confirmInterval: UInt64 = 1_000_000_000

    let table: NeighborTable
    private var slots: [NeighborKey: Slot] = [:]
    private var generation = -1
    /// The last neighbour found fresh, with its entry: a run of packets to one destination
    /// skips the dictionary, whose hashing of the key cost ~2% of the proxy's cycles at 13
    /// Gbit/s (perf). Forgotten whenever a slot changes.
    private var last: (key: NeighborKey, entry: NeighborTable.Entry)?

    init(table: NeighborTable) {
        self.table = table
        slots.reserveCapacity(table.capacity)
    }

    /// Drops the copy when a mapping changed anywhere; call once per batch.
    @inline(__always)
    mutating func refresh() {
        let current = table.generation
        guard current != generation else { return }
        generation = current
        slots.removeAll(keepingCapacity: true)
        last = nil
    }

    mutating func resolve(_ key: NeighborKey, now: UInt64) -> Resolution {
        if let last, last.key == key, Self.age(last.entry, now) < NeighborTable.reachableTime {
            return .known(last.entry.mac)
        }
        if let slot = slots[key], let entry = slot.entry, Self.age(entry, now) < NeighborTable.reachableTime {
            last = (key, entry)
            return .known(entry.mac)
        }
        var slot = slots[key] ?? Slot(entry: table.lookup(key), requested: nil, read: now)
        if let entry = slot.entry, Self.age(entry, now) >= NeighborTable.reachableTime, now &- slot.read >= Self.requestInterval {
            // Another worker may have seen it confirmed since this copy was read.
            slot.entry = table.lookup(key)
            slot.read = now
        }
        let mayAsk = slot.requested.map { now &- $0 >= Self.requestInterval } ?? true
        let resolution: Resolution
        if let entry = slot.entry, Self.age(entry, now) < NeighborTable.lifetime {
            if Self.age(entry, now) < NeighborTable.reachableTime || !mayAsk {
                resolution = .known(entry.mac)
            } else {
                resolution = .confirm(entry.mac)
                slot.requested = now
            }
        } else {
            slot.entry = nil
            resolution = mayAsk ? .request : .waiting
            if mayAsk { slot.requested = now }
        }
        store(slot, for: key)
        return resolution
    }

    /// Takes what a frame from the neighbour showed: its MAC, by `evidence`.
    mutating func observe(_ mac: MACAddress, for key: NeighborKey, evidence: NeighborTable.Evidence, now: UInt64) {
        if evidence == .traffic, let last, last.key == key, last.entry.mac == mac, now &- last.entry.confirmed < Self.confirmInterval {
            return
        }
        if evidence == .traffic, let entry = slots[key]?.entry, entry.mac == mac, now &- entry.confirmed < Self.confirmInterval {
            return
        }
        let held = table.learn(mac, for: key, evidence: evidence, now: now)
        store(Slot(entry: held, requested: slots[key]?.requested, read: now), for: key)
    }

    private mutating func store(_ slot: Slot, for key: NeighborKey) {
        last = nil
        // Bounded like the shared table: a sender spraying the TUN device with destinations
        // empties the copy instead of growing it.
        if slots.count >= table.capacity, slots[key] == nil { slots.removeAll(keepingCapacity: true) }
        slots[key] = slot
    }

    private static func age(_ entry: NeighborTable.Entry, _ now: UInt64) -> UInt64 {
        now > entry.confirmed ? now - entry.confirmed : 0
    }
}
