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
    /// A netlink socket per node, made once inside its namespace (a socket stays in the
    /// namespace it was made in): a sample is then one link dump per node, with no thread and no
    /// setns. Entering 500 namespaces every second cost 12% of a core.
    private let sockets = Mutex<[String: Box]>([:])

    /// A socket that moves between threads, used by one at a time (the API's serial queue).
    final class Box: @unchecked Sendable {
        let socket: RouteSocket
        let identity: NetworkNamespace.Identity?
        init(_ socket: RouteSocket, _ identity: NetworkNamespace.Identity?) {
            self.socket = socket
            self.identity = identity
        }
    }

    func sample(lab: String) -> Sample {
        let now = Date().timeIntervalSince1970
        if let cached = cache.withLock({ $0[lab] }), now - cached.time < 0.5 { return cached }
        // A socket holds its namespace alive: let go of those whose name is gone or renewed,
        // so that a lab's `down` is not undone while a page is open.
        sockets.withLock { cached in
            cached = cached.filter { name, box in NetworkNamespace(name).identity == box.identity }
        }
        var nodes: [String: [String: Counters]] = [:]
        for name in LabState.load(lab)?.namespaces ?? [] {
            let node = String(name.dropFirst(lab.count + 1))
            let namespace = NetworkNamespace(name)
            guard let box = socket(for: namespace), let links = try? box.socket.links() else { continue }
            nodes[node] = Dictionary(links.map { link in
                (link.name, Counters(rxBytes: link.receivedBytes, rxPackets: link.receivedPackets, rxDropped: link.receiveDropped,
                                     txBytes: link.transmittedBytes, txPackets: link.transmittedPackets, txDropped: link.transmitDropped))
            }, uniquingKeysWith: { a, _ in a })
        }
        let sample = Sample(time: now, nodes: nodes)
        cache.withLock { $0[lab] = sample }
        return sample
    }

    /// The node's socket, made when first needed and again when the name holds a new namespace.
    private func socket(for namespace: NetworkNamespace) -> Box? {
        let identity = namespace.identity
        if let box = sockets.withLock({ $0[namespace.name] }), box.identity == identity { return box }
        guard identity != nil, let socket = try? namespace.run({ try RouteSocket() }) else { return nil }
        let box = Box(socket, identity)
        sockets.withLock { $0[namespace.name] = box }
        return box
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

    /// The stats stream's event between two samples, as JSON: `{"lab":...,"time":...,"nodes":
    /// {NODE:{IFACE:{"rx_packets_per_second":...,...}}}}`. Written by hand: JSONSerialization
    /// (with its sorted keys, an NSString compare each) cost 10% of a core for 500 nodes.
    static func event(lab: String, from old: Sample, to new: Sample) -> String {
        let interval = max(0.001, new.time - old.time)
        func rate(_ a: UInt64, _ b: UInt64) -> String { a >= b ? format(Double(a - b) / interval) : "0" }
        var json = "{\"lab\":\(quoted(lab)),\"time\":\(format(new.time)),\"nodes\":{"
        var firstNode = true
        for (node, interfaces) in new.nodes.sorted(by: { $0.key < $1.key }) {
            json += (firstNode ? "" : ",") + quoted(node) + ":{"
            firstNode = false
            var firstInterface = true
            for (name, now) in interfaces.sorted(by: { $0.key < $1.key }) {
                let before = old.nodes[node]?[name] ?? now
                json += (firstInterface ? "" : ",") + quoted(name)
                json += ":{\"rx_packets_per_second\":" + rate(now.rxPackets, before.rxPackets)
                json += ",\"tx_packets_per_second\":" + rate(now.txPackets, before.txPackets)
                json += ",\"rx_bytes_per_second\":" + rate(now.rxBytes, before.rxBytes)
                json += ",\"tx_bytes_per_second\":" + rate(now.txBytes, before.txBytes)
                json += ",\"rx_dropped\":\(now.rxDropped),\"tx_dropped\":\(now.txDropped)}"
                firstInterface = false
            }
            json += "}"
        }
        return json + "}}"
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3f", value)
    }

    /// A JSON string (names are lab, node and interface names; escaped all the same).
    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
