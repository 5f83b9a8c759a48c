import Packet
import Synchronization

/// A neighbour: an inner address on one VNI.
struct NeighborKey: Hashable, Sendable {
    let vni: UInt32
    let address: IPAddress

    init(vni: UInt32, address: IPAddress) {
        self.vni = vni
        self.address = address
    }
}

/// The proxy's ARP/ND cache: (VNI, inner IP) → inner MAC, shared by every worker.
///
/// A peer is a VTEP, not a host: a kernel vxlan device is often a bridge port with several
/// hosts (and routers) behind it, each with its own MAC. So the proxy resolves and remembers
/// the MAC of each inner address, as the kernel's neighbour cache does, instead of one MAC per
/// peer that any broadcast from behind the peer would overwrite.
///
/// Only neighbour discovery answers (ARP replies, solicited advertisements) and the sender of a
/// request for the proxy's own addresses may *replace* a MAC. Unicast traffic may create an
/// entry that does not exist yet and confirms one whose MAC it carries, so a conversation keeps
/// its entry fresh without probes; it never changes one. Entries not confirmed for `lifetime`
/// leave at the next sweep; the table holds at most `capacity` entries and refuses new ones
/// when full (counted), as the kernel does past gc_thresh3.
///
/// Engines keep a private copy of what they use (see `ProxyEngine`) and look here only when
/// `generation` moved or their copy grew old, so the packet path costs one relaxed atomic load.
final class NeighborTable: Sendable {
    /// One cached neighbour.
    struct Entry: Equatable, Sendable {
        var mac: MACAddress
        /// When an answer or the neighbour's own traffic last showed the mapping holds
        /// (monotonic nanoseconds).
        var confirmed: UInt64

        init(mac: MACAddress, confirmed: UInt64) {
            self.mac = mac
            self.confirmed = confirmed
        }
    }

    /// How a mapping was seen: which decides whether it may replace one already held.
    enum Evidence: Sendable {
        /// A neighbour discovery answer, or a request for one of the proxy's addresses: may
        /// replace the MAC held for the address.
        case discovery
        /// Unicast traffic from the address: may create or confirm, never replace.
        case traffic
    }

    /// Past this age an entry is still used, but a request goes out (at most once a second)
    /// to confirm it: the kernel's REACHABLE to STALE (base_reachable_time, 30 s).
    static let reachableTime: UInt64 = 30_000_000_000
    /// Past this age without confirmation an entry is gone (the kernel's gc_stale_time).
    static let lifetime: UInt64 = 60_000_000_000

    /// The entries, and room for the keys a sweep removes: both sized once, so that neither
    /// learning on the packet path nor the sweep ever allocates.
    private struct Storage {
        var entries: [NeighborKey: Entry] = [:]
        var doomed: [NeighborKey] = []
    }

    let capacity: Int
    private let generationCounter = Atomic<Int>(0)
    private let refusedCounter = Atomic<UInt64>(0)
    private let storage: Mutex<Storage>

    /// `capacity`: 4096 by default, four times the kernel's default gc_thresh3.
    init(capacity: Int = 4096) {
        self.capacity = capacity
        var initial = Storage()
        initial.entries.reserveCapacity(capacity)
        initial.doomed.reserveCapacity(capacity)
        storage = Mutex(initial)
    }

    /// Bumped by every new, changed or removed mapping (not by confirmations).
    var generation: Int { generationCounter.load(ordering: .acquiring) }

    /// Mappings refused because the table was full.
    var refused: UInt64 { refusedCounter.load(ordering: .relaxed) }

    var count: Int { storage.withLock { $0.entries.count } }

    /// Records that `key` is at `mac`; returns the entry now held (which, for traffic that
    /// disagrees with an answer, is the answer's), or nil when the table was full.
    @discardableResult
    func learn(_ mac: MACAddress, for key: NeighborKey, evidence: Evidence, now: UInt64) -> Entry? {
        var changed = false
        let result: Entry? = storage.withLock { s in
            if var entry = s.entries[key] {
                if entry.mac == mac {
                    entry.confirmed = max(entry.confirmed, now)
                } else if evidence == .discovery {
                    entry = Entry(mac: mac, confirmed: now)
                    changed = true
                } else {
                    return entry
                }
                s.entries[key] = entry
                return entry
            }
            guard s.entries.count < capacity else { return nil }
            let entry = Entry(mac: mac, confirmed: now)
            s.entries[key] = entry
            changed = true
            return entry
        }
        if result == nil { refusedCounter.add(1, ordering: .relaxed) }
        if changed { generationCounter.add(1, ordering: .releasing) }
        return result
    }

    func lookup(_ key: NeighborKey) -> Entry? {
        storage.withLock { $0.entries[key] }
    }

    /// Removes the entries not confirmed for `lifetime`; returns how many went.
    @discardableResult
    func expire(now: UInt64) -> Int {
        remove { _, entry in now > entry.confirmed && now - entry.confirmed >= Self.lifetime }
    }

    /// Removes the entries `shouldRemove` picks (a reload removing what no peer routes any more).
    @discardableResult
    func remove(where shouldRemove: (NeighborKey, Entry) -> Bool) -> Int {
        let removed = storage.withLock { s in
            // Key by key, so the table keeps the storage it reserved (learning on the packet
            // path then never grows it), through a list made once: a sweep that built a new
            // array of keys was the only allocation bench/proxy.sh counted in steady state.
            s.doomed.removeAll(keepingCapacity: true)
            for (key, entry) in s.entries where shouldRemove(key, entry) { s.doomed.append(key) }
            for key in s.doomed { s.entries.removeValue(forKey: key) }
            return s.doomed.count
        }
        if removed > 0 { generationCounter.add(1, ordering: .releasing) }
        return removed
    }

    /// Every entry, for status.
    func snapshot() -> [(key: NeighborKey, entry: Entry)] {
        storage.withLock { s in s.entries.map { (key: $0.key, entry: $0.value) } }
    }
}
