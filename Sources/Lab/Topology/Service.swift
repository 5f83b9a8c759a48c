/// A long-running program of a node (`[[nodes.N.services]]`), started by `netlab up` in
/// dependency order and supervised by the lab's supervisor (`ServiceSupervisor`): restarted
/// by its policy, its output kept in the lab's logs.
public struct Service: Sendable, Equatable, Codable {
    public var name: String
    /// A shell command line (`/bin/sh -c`), run inside the node.
    public var command: String
    /// Services that must be ready before this one starts.
    public var after: [ServiceReference]
    /// How `up` (and the services after it) know it is ready; nil: ready once started.
    public var ready: Readiness?
    public var restart: RestartPolicy
    /// Seconds it may take to become ready before it counts as failed (`ready_timeout`).
    public var readyTimeout: Double

    public init(name: String, command: String, after: [ServiceReference] = [], ready: Readiness? = nil,
                restart: RestartPolicy = .no, readyTimeout: Double = 30) {
        self.name = name
        self.command = command
        self.after = after
        self.ready = ready
        self.restart = restart
        self.readyTimeout = readyTimeout
    }

    /// When a service counts as ready.
    public enum Readiness: Sendable, Equatable, Codable, CustomStringConvertible {
        /// `tcp:PORT`: a socket listens on the port inside the node (any address).
        case tcp(UInt16)
        /// `exec:CMD`: the command, run inside the node, exits 0.
        case exec(String)
        /// A netlab proxy's control socket answers (the node's proxy service).
        case proxy(tun: String)

        public var description: String {
            switch self {
            case let .tcp(port): "tcp:\(port)"
            case let .exec(command): "exec:\(command)"
            case let .proxy(tun): "proxy:\(tun)"
            }
        }

        /// Parses `tcp:PORT` or `exec:CMD`.
        public init?(_ text: String) {
            if text.hasPrefix("tcp:"), let port = UInt16(text.dropFirst(4)), port > 0 {
                self = .tcp(port)
            } else if text.hasPrefix("exec:"), text.count > 5 {
                self = .exec(String(text.dropFirst(5)))
            } else {
                return nil
            }
        }
    }

    /// What happens when the service's process ends.
    public enum RestartPolicy: String, Sendable, Equatable, Codable, CaseIterable {
        case no
        /// Only when it exits with a status other than 0 or is killed by a signal.
        case onFailure = "on-failure"
        case always
    }
}

/// A service named from another: `SERVICE` (same node) or `NODE:SERVICE`.
public struct ServiceReference: Sendable, Hashable, Codable, CustomStringConvertible {
    public var node: String
    public var service: String

    public init(node: String, service: String) {
        self.node = node
        self.service = service
    }

    public var description: String { "\(node):\(service)" }
}
