import Netlink
import Proxy

/// Asks whether a service is ready, inside its node.
enum ReadinessProbe {
    /// How long an `exec:` check may run.
    static let execTimeout = 5.0

    /// - Parameter pid: the service's process, which is in the node's network namespace.
    static func isReady(_ readiness: Service.Readiness, lab: String, node: String, pid: Int32?) -> Bool {
        switch readiness {
        case let .tcp(port):
            // The kernel shows a process's network namespace's tables under /proc/PID/net: no
            // thread has to enter the node (500 services probed at once kept two cores busy).
            if let pid { return isListening(port, tables: "/proc/\(pid)/net") }
            let network = NetworkNamespace(Topology.namespaceName(lab: lab, node: node))
            return (try? network.run { isListening(port, tables: "/proc/thread-self/net") }) ?? false
        case let .exec(command):
            let outcome = try? NamespaceProcess.run(["/bin/sh", "-c", command], in: NodeEnvironment(lab: lab, node: node),
                                                    log: "/dev/null", timeout: execTimeout)
            return outcome?.status == 0
        case let .proxy(tun):
            let network = NetworkNamespace(Topology.namespaceName(lab: lab, node: node))
            return (try? network.run { try ControlClient.status(tun: tun) }) != nil
        }
    }

    /// Whether a TCP socket listens on `port` (any address) in the network namespace whose
    /// tables are under `tables`: the kernel's own (tcp and tcp6, state 0A).
    static func isListening(_ port: UInt16, tables: String) -> Bool {
        let hex = String(port, radix: 16, uppercase: true)
        let wanted = ":" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        for table in ["tcp", "tcp6"] {
            guard let text = readSmallFile("\(tables)/\(table)") else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                if fields.count > 3, fields[1].hasSuffix(wanted), fields[3] == "0A" { return true }
            }
        }
        return false
    }
}
