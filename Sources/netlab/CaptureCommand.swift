import ArgumentParser
import Capture
import Decode
import Foundation
import Lab
import Netlink
import Packet

/// Set by SIGINT/SIGTERM so capture loops stop and flush their files.
nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0

/// `netlab capture NAME NODE:IFACE... [-w FILE] [-c N] [FILTER]`
struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture live traffic on lab interfaces (libpcap, inside the node's namespace).",
        discussion: """
            Prints each packet with the decode formatter, or writes a pcap file Wireshark opens. \
            With several interfaces, lines are prefixed NODE:IFACE, and -w FILE becomes one file \
            per interface (FILE-NODE-IFACE.pcap). Stop with Ctrl-C or -c.

            Example:
              netlab capture veth-pair a:eth0
              netlab capture overlay host1:eth0 host2:eth0 -c 20 udp port 4789
              netlab capture veth-pair b:eth0 -w b.pcap icmp
            """)

    @Argument(help: "The lab's name or topology file.")
    var lab: String

    @Argument(help: "NODE:IFACE, one or more, then an optional BPF filter.")
    var targets: [String]

    @Option(name: .short, help: "Write packets to this pcap file instead of printing them.")
    var write: String?

    @Option(name: .short, help: "Stop after this many packets per interface.")
    var count: Int?

    @Flag(name: .long, help: "Print JSON Lines instead of text.")
    var json = false

    func run() throws {
        let endpoints = targets.prefix { $0.contains(":") }
        let name = try instanceName(lab, node: endpoints.first.map { String($0.prefix { $0 != ":" }) })
        let filter = targets.dropFirst(endpoints.count).joined(separator: " ")
        guard !endpoints.isEmpty else { throw ValidationError("give at least one NODE:IFACE") }
        Signals.unblockStopSignals()
        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGTERM) { _ in stopRequested = 1 }
        let lock = NSLock()
        let many = endpoints.count > 1
        let failures = ProblemList()
        let threads = endpoints.map { endpoint -> Thread in
            let parts = endpoint.split(separator: ":", maxSplits: 1).map(String.init)
            let ns = NetworkNamespace(Topology.namespaceName(lab: name, node: parts[0]))
            var file = write
            if many, let base = write {
                let stem = base.hasSuffix(".pcap") ? String(base.dropLast(5)) : base
                file = "\(stem)-\(parts[0])-\(parts[1]).pcap"
            }
            let job = CaptureJob(namespace: ns, device: parts[1], label: many ? endpoint : nil, filter: filter,
                                 file: file, count: count, json: json, lock: lock)
            let thread = Thread {
                if let problem = job.run() { failures.add(problem) }
            }
            thread.start()
            return thread
        }
        while threads.contains(where: { !$0.isFinished }) { usleep(50_000) }
        for problem in failures.all { StandardOutput.error("capture: \(problem)") }
        if !failures.all.isEmpty { throw ExitCode(1) }
    }
}

/// One interface's capture loop, on its own thread inside the node's namespace.
struct CaptureJob: @unchecked Sendable {
    let namespace: NetworkNamespace
    let device: String
    let label: String?
    let filter: String
    let file: String?
    let count: Int?
    let json: Bool
    let lock: NSLock

    /// Runs until stopped or `count` packets; returns a problem to report, if any.
    func run() -> String? {
        guard namespace.exists else { return "no running node for namespace \(namespace.name)" }
        do {
            return try namespace.run { () -> String? in
                let capture = try LiveCapture(device: device, filter: filter)
                let writer = try file.map { try PcapFileWriter(path: $0, linkType: capture.linkType) }
                let out = OutputBuffer(capacity: 1 << 16)
                var seen = 0
                while stopRequested == 0, seen < (count ?? Int.max) {
                    guard let packet = try capture.next(timeout: 200) else { continue }
                    seen += 1
                    if let writer {
                        writer.write(packet.bytes, seconds: packet.seconds, microseconds: packet.microseconds,
                                     originalLength: packet.originalLength)
                        continue
                    }
                    if let label { out.append(label + " ") }
                    let framed = FramedPacket(number: seen, seconds: packet.seconds, microseconds: packet.microseconds,
                                              originalLength: packet.originalLength, linkType: capture.linkType,
                                              bytes: packet.bytes)
                    if json { JSONLinesFormatter().format(framed, into: out) } else { TextFormatter().format(framed, into: out) }
                    lock.lock()
                    StandardOutput.flush(out)
                    lock.unlock()
                }
                try writer?.flush()
                if let file { FileHandle.standardError.write(Data("netlab: \(seen) packets written to \(file)\n".utf8)) }
                return nil
            }
        } catch {
            return "\(namespace.name) \(device): \(error)"
        }
    }
}

/// Problems reported by capture threads.
final class ProblemList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []

    func add(_ problem: String) {
        lock.lock()
        items.append(problem)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
