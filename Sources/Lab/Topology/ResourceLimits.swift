/// A node's resource limits (`limits = { cpu = 0.5, memory = "128M", pids = 64 }`), enforced by
/// its cgroup (`NodeCgroup`).
public struct ResourceLimits: Sendable, Equatable, Codable {
    /// Cores (0.5: half of one CPU's time, in every 100 ms period).
    public var cpu: Double?
    /// Bytes; past it the kernel's OOM killer ends a process of the node.
    public var memory: UInt64?
    /// Processes (and threads) at once; a fork past it fails with EAGAIN.
    public var pids: Int?

    public init(cpu: Double? = nil, memory: UInt64? = nil, pids: Int? = nil) {
        self.cpu = cpu
        self.memory = memory
        self.pids = pids
    }

    public var isEmpty: Bool { cpu == nil && memory == nil && pids == nil }
}

/// Namespaces a node may have beyond its network and UTS namespaces (`isolation = [...]`).
public enum Isolation: String, Sendable, Equatable, Codable, CaseIterable, Comparable {
    /// A PID namespace with an init (netlab's) as PID 1 that reaps orphans; its own /proc.
    case pid
    /// A mount namespace of its own, kept for the node's life: `files` are bound in it, and
    /// mounts made inside stay inside.
    case mount

    public static func < (lhs: Isolation, rhs: Isolation) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A file of the machine bound over a path inside a node (`files = { "/etc/motd" = "files/motd" }`).
public struct FileMount: Sendable, Equatable, Codable {
    /// The path inside the node.
    public var target: String
    /// The file on the machine, absolute (a relative path in the topology is relative to the file).
    public var source: String

    public init(target: String, source: String) {
        self.target = target
        self.source = source
    }
}
