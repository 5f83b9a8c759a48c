import Foundation
import Lab
import Netlink
import Synchronization

/// Reads every interface's counters of a lab's nodes (/proc/thread-self/net/dev, entered per
/// node on a fresh thread), at most every half second per lab however many pages watch it.
final class InterfaceSampler: Sendable {
    /// One interface's counters.
    struct Counters: Sendable {
        var rxBytes: UInt64
        var rxPackets: UInt64
        var rxDropped: UInt64
        var txBytes: UInt64
        var txPackets: UInt64
        var txDropped: UInt64
    }

    /// node -> interface -> counters, and when.
    struct Sample: Sendable {
        var time: Double
        var nodes: [String: [String: Counters]]
    }

    private let cache = Mutex<[String: Sample]>([:])

    func sample(lab: String) -> Sample {
        let now = Date().timeIntervalSince1970
        if let cached = cache.withLock({ $0[lab] }), now - cached.time < 0.5 { return cached }
        var nodes: [String: [String: Counters]] = [:]
        for namespace in LabState.load(lab)?.namespaces ?? [] {
            let node = String(namespace.dropFirst(lab.count + 1))
            nodes[node] = (try? NetworkNamespace(namespace).run { Self.readCounters() }) ?? [:]
        }
        let sample = Sample(time: now, nodes: nodes)
        cache.withLock { $0[lab] = sample }
        return sample
    }

    /// The calling thread's network namespace's counters: /proc/net/dev's columns, rx bytes
    /// packets errs drop ... then tx bytes packets errs drop.
    static func readCounters() -> [String: Counters] {
        guard let text = try? String(contentsOfFile: "/proc/thread-self/net/dev", encoding: .utf8) else { return [:] }
        var result: [String: Counters] = [:]
        for line in text.split(separator: "\n").dropFirst(2) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let f = parts[1].split(separator: " ").compactMap { UInt64($0) }
            guard f.count >= 12 else { continue }
            result[parts[0].trimmingCharacters(in: .whitespaces)] =
                Counters(rxBytes: f[0], rxPackets: f[1], rxDropped: f[3], txBytes: f[8], txPackets: f[9], txDropped: f[11])
        }
        return result
    }

    /// Rates between two samples, as the stats stream sends them.
    static func rates(from old: Sample, to new: Sample) -> [String: [String: [String: Double]]] {
        let interval = max(0.001, new.time - old.time)
        var result: [String: [String: [String: Double]]] = [:]
        for (node, interfaces) in new.nodes {
            var perInterface: [String: [String: Double]] = [:]
            for (name, now) in interfaces {
                let before = old.nodes[node]?[name] ?? now
                func rate(_ a: UInt64, _ b: UInt64) -> Double { a >= b ? Double(a - b) / interval : 0 }
                perInterface[name] = [
                    "rx_packets_per_second": rate(now.rxPackets, before.rxPackets),
                    "tx_packets_per_second": rate(now.txPackets, before.txPackets),
                    "rx_bytes_per_second": rate(now.rxBytes, before.rxBytes),
                    "tx_bytes_per_second": rate(now.txBytes, before.txBytes),
                    "rx_dropped": Double(now.rxDropped),
                    "tx_dropped": Double(now.txDropped),
                ]
            }
            result[node] = perInterface
        }
        return result
    }
}
