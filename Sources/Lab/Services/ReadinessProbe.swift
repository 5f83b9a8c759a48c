import Netlink
import Proxy

/// Asks whether a service is ready, inside its node.
enum ReadinessProbe {
    /// How long an `exec:` check may run.
    static let execTimeout = 5.0

    static func isReady(_ readiness: Service.Readiness, lab: String, node: String) -> Bool {
        switch readiness {
        case let .tcp(port):
            let network = NetworkNamespace(Topology.namespaceName(lab: lab, node: node))
            return (try? network.run { isListening(port) }) ?? false
        case let .exec(command):
            let outcome = try? NamespaceProcess.run(["/bin/sh", "-c", command], in: NodeEnvironment(lab: lab, node: node),
                                                    log: "/dev/null", timeout: execTimeout)
            return outcome?.status == 0
        case let .proxy(tun):
            let network = NetworkNamespace(Topology.namespaceName(lab: lab, node: node))
            return (try? network.run { try ControlClient.status(tun: tun) }) != nil
        }
    }

    /// Whether a TCP socket of the calling thread's network namespace listens on `port`: the
    /// kernel's own tables (/proc/thread-self/net/tcp and tcp6, state 0A), any address.
    static func isListening(_ port: UInt16) -> Bool {
        let hex = String(port, radix: 16, uppercase: true)
        let wanted = ":" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        for table in ["tcp", "tcp6"] {
            guard let text = readSmallFile("/proc/thread-self/net/\(table)") else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                if fields.count > 3, fields[1].hasSuffix(wanted), fields[3] == "0A" { return true }
            }
        }
        return false
    }
}
