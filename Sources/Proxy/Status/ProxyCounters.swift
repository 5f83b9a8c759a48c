/// What one worker counted: packets and bytes by direction and peer, drops by reason, errors.
/// Workers count without sharing anything; the daemon adds their counters up for `status`
/// and the metrics.
public struct ProxyCounters: Sendable, Equatable {
    /// Packets read from the TUN device (a GSO super-packet counts as its segments).
    public var tunPacketsIn: UInt64 = 0
    public var tunBytesIn: UInt64 = 0
    /// Packets written to the TUN device.
    public var tunPacketsOut: UInt64 = 0
    public var tunBytesOut: UInt64 = 0
    /// Datagrams received on and sent to the underlay.
    public var underlayDatagramsIn: UInt64 = 0
    public var underlayDatagramsOut: UInt64 = 0
    /// Per peer, in the configuration's order: inner packets and bytes sent and received.
    public var peerPacketsOut: [UInt64]
    public var peerBytesOut: [UInt64]
    public var peerPacketsIn: [UInt64]
    public var peerBytesIn: [UInt64]
    /// By `DropReason.allCases` index.
    public var drops: [UInt64]
    /// Sends the kernel refused or dropped (full socket buffer) and failed TUN writes.
    public var errors: UInt64 = 0

    public init(peers: Int) {
        peerPacketsOut = Array(repeating: 0, count: peers)
        peerBytesOut = Array(repeating: 0, count: peers)
        peerPacketsIn = Array(repeating: 0, count: peers)
        peerBytesIn = Array(repeating: 0, count: peers)
        drops = Array(repeating: 0, count: DropReason.allCases.count)
    }

    public mutating func drop(_ reason: DropReason, count: UInt64 = 1) {
        drops[reason.index] &+= count
    }

    public func drops(_ reason: DropReason) -> UInt64 { drops[reason.index] }

    /// The same counters for a new peer list: a peer kept (same key) keeps its counts.
    public func remapped(from oldKeys: [String], to newKeys: [String]) -> ProxyCounters {
        var out = self
        out.peerPacketsOut = []
        out.peerBytesOut = []
        out.peerPacketsIn = []
        out.peerBytesIn = []
        for key in newKeys {
            let old = oldKeys.firstIndex(of: key)
            out.peerPacketsOut.append(old.map { peerPacketsOut[$0] } ?? 0)
            out.peerBytesOut.append(old.map { peerBytesOut[$0] } ?? 0)
            out.peerPacketsIn.append(old.map { peerPacketsIn[$0] } ?? 0)
            out.peerBytesIn.append(old.map { peerBytesIn[$0] } ?? 0)
        }
        return out
    }

    /// Adds `other` (another worker's counters for the same peers).
    public mutating func add(_ other: ProxyCounters) {
        tunPacketsIn &+= other.tunPacketsIn
        tunBytesIn &+= other.tunBytesIn
        tunPacketsOut &+= other.tunPacketsOut
        tunBytesOut &+= other.tunBytesOut
        underlayDatagramsIn &+= other.underlayDatagramsIn
        underlayDatagramsOut &+= other.underlayDatagramsOut
        errors &+= other.errors
        for i in 0..<min(peerPacketsOut.count, other.peerPacketsOut.count) {
            peerPacketsOut[i] &+= other.peerPacketsOut[i]
            peerBytesOut[i] &+= other.peerBytesOut[i]
            peerPacketsIn[i] &+= other.peerPacketsIn[i]
            peerBytesIn[i] &+= other.peerBytesIn[i]
        }
        for i in 0..<drops.count { drops[i] &+= other.drops[i] }
    }
}

extension DropReason {
    /// Position in `allCases`, for counters kept in an array.
    var index: Int {
        switch self {
        case .unknownPeer: 0
        case .wrongVNI: 1
        case .malformed: 2
        case .unsupportedFrame: 3
        case .otherHost: 4
        case .noRoute: 5
        case .tooBig: 6
        case .unresolved: 7
        }
    }
}
