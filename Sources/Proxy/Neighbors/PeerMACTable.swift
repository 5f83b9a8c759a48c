import Packet
import Synchronization

/// The inner MAC addresses learned for the peers, shared by every worker's engine.
///
/// A peer's answers land on whichever worker the kernel hashes its datagrams to, while the
/// packets that need its MAC come from every TUN queue: one worker learns, all must know.
/// Engines keep a private copy for the packet path and refresh it (once per batch) only when
/// the generation moved, so the common case costs one relaxed atomic load.
public final class PeerMACTable: Sendable {
    private let generationCounter = Atomic<Int>(0)
    private let macs = Mutex<[String: MACAddress]>([:])

    public init() {}

    /// Bumped by every change.
    public var generation: Int { generationCounter.load(ordering: .acquiring) }

    /// Records `mac` for the peer `key` (endpoint and VNI).
    public func learn(_ mac: MACAddress, for key: String) {
        let changed = macs.withLock { table in
            guard table[key] != mac else { return false }
            table[key] = mac
            return true
        }
        if changed { generationCounter.add(1, ordering: .releasing) }
    }

    /// The MAC of each of `keys`, in order.
    public func lookup(_ keys: [String]) -> [MACAddress?] {
        macs.withLock { table in keys.map { table[$0] } }
    }
}
