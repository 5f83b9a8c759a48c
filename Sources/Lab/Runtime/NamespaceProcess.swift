import CShim
import Foundation
import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// Starts programs inside a network namespace.
///
/// A child made by `posix_spawn` takes the namespaces of the thread that spawned it, so the
/// spawn happens on a thread that has entered the namespace; no `ip netns exec` in between.
public enum NamespaceProcess {
    /// Spawns `arguments` (PATH is searched) inside `namespace` with this process's standard
    /// input and output, and no signal blocked; returns its PID.
    public static func spawn(_ arguments: [String], in namespace: NetworkNamespace) throws -> Int32 {
        try spawn(arguments, in: NodeEnvironment(network: namespace), log: nil)
    }

    /// `spawn` into a lab node: its namespaces and its cgroup.
    public static func spawn(_ arguments: [String], in node: NodeEnvironment) throws -> Int32 {
        try spawn(arguments, in: node, log: nil)
    }

    /// Spawns a daemon inside `namespace`: its own session (a terminal's Ctrl-C does not reach
    /// it), standard input from /dev/null, standard output and error appended to `log`, and
    /// no signal blocked, whatever this process blocks. Returns its PID.
    public static func spawnDaemon(_ arguments: [String], in namespace: NetworkNamespace, log: String) throws -> Int32 {
        try spawn(arguments, in: NodeEnvironment(network: namespace), log: log)
    }

    /// `spawnDaemon` into a lab node: its namespaces and its cgroup.
    public static func spawnDaemon(_ arguments: [String], in node: NodeEnvironment, log: String) throws -> Int32 {
        try spawn(arguments, in: node, log: log)
    }

    /// `spawn` (log nil: this process's standard input and output) or `spawnDaemon`.
    private static func spawn(_ arguments: [String], in node: NodeEnvironment, log: String?) throws -> Int32 {
        guard !arguments.isEmpty else { throw NetlinkError("exec", reason: "no command given") }
        // Opened here, in netlab's own mount namespace: the node's may show no cgroup hierarchy.
        let cgroup = try CgroupFiles(node.cgroup)
        defer { cgroup.close() }
        return try node.run { try spawnOnThisThread(arguments, log: log, cgroup: cgroup) }
    }

    /// Spawns from the calling thread, whose namespaces the child takes.
    static func spawnOnThisThread(_ arguments: [String], log: String?, cgroup: CgroupFiles) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let log {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        for (index, fd) in cgroup.descriptors.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, fd, Int32(3 + index))
        }
        // Nothing else of ours: netlab's netlink sockets, or a parent's pipe that it waits on
        // to close, would live as long as a daemon the command leaves behind.
        _ = cshim_spawn_close_from(&actions, Int32(3 + cgroup.descriptors.count))
        // A child inherits the spawning thread's signal mask; a thread that blocks SIGTERM
        // (thread pools do) would make a child that ignores `down` for 3 s until SIGKILL.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | (log == nil ? 0 : Self.setsid)))
        var pid: pid_t = 0
        let command = cgroup.wrap(arguments)
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawnp(&pid, command[0], &actions, &attributes, argv, environ)
        guard rc == 0 else { throw NetlinkError.system("run \(arguments[0])", rc) }
        return pid
    }

    /// glibc's POSIX_SPAWN_SETSID (not exported to Swift).
    private static let setsid: Int32 = 0x80

    /// Waits for `pid`; returns its exit status (128 + signal number when killed).
    public static func wait(_ pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 127 }
        }
        if status & 0x7F == 0 { return (status >> 8) & 0xFF }
        return 128 + (status & 0x7F)
    }

    /// Runs `arguments` to completion inside `namespace`; returns the exit status.
    public static func run(_ arguments: [String], in namespace: NetworkNamespace) throws -> Int32 {
        wait(try spawn(arguments, in: namespace))
    }

    /// Runs `arguments` to completion inside a lab node; returns the exit status.
    public static func run(_ arguments: [String], in node: NodeEnvironment) throws -> Int32 {
        wait(try spawn(arguments, in: node))
    }

    /// What a bounded run gave: the exit status (nil when the time limit ended it) and what it
    /// wrote to standard output and error.
    public struct Outcome: Sendable, Equatable {
        public var status: Int32?
        public var output: String
    }

    /// Runs `arguments` inside `namespace` for at most `timeout` seconds, its output appended to
    /// `log` and returned. Past the limit its whole process group (its own session, which this
    /// call made) gets SIGTERM, then SIGKILL a second later: a command that never ends cannot
    /// hold the caller.
    public static func run(_ arguments: [String], in namespace: NetworkNamespace, log: String, timeout: Double) throws -> Outcome {
        try run(arguments, in: NodeEnvironment(network: namespace), log: log, timeout: timeout)
    }

    /// The bounded run, inside a lab node.
    public static func run(_ arguments: [String], in node: NodeEnvironment, log: String, timeout: Double) throws -> Outcome {
        let start = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? UInt64) ?? 0
        let pid = try spawnDaemon(arguments, in: node, log: log)
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32?
        while status == nil {
            var raw: Int32 = 0
            let rc = waitpid(pid, &raw, WNOHANG)
            if rc == pid {
                status = raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
                break
            }
            if rc < 0, errno != EINTR { return Outcome(status: 127, output: output(of: log, from: start)) }
            if Date() > deadline { break }
            usleep(10_000)
        }
        if status == nil {
            kill(-pid, SIGTERM)
            for _ in 0..<100 where waitpid(pid, nil, WNOHANG) == 0 { usleep(10_000) }
            kill(-pid, SIGKILL)
            _ = wait(pid)
        }
        return Outcome(status: status, output: output(of: log, from: start))
    }

    /// What was appended to `log` past `offset` (at most its last 64 KiB).
    private static func output(of log: String, from offset: UInt64) -> String {
        guard let handle = FileHandle(forReadingAtPath: log) else { return "" }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? offset
        let first = max(offset, end > 65_536 ? end - 65_536 : 0)
        try? handle.seek(toOffset: first)
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}

/// An `exec` command of a node did not end within its node's `exec_timeout`: it was stopped,
/// and `up` removes the lab.
public struct ExecTimeoutError: Error, CustomStringConvertible, Sendable {
    public let node: String
    public let command: String
    public let timeout: Double
    public let output: String

    public var description: String {
        let seconds = timeout == timeout.rounded() ? "\(Int(timeout)) s" : "\(timeout) s"
        var text = "node \(node): `\(command)` did not end within \(seconds) (exec_timeout) and was stopped; "
            + "run long-lived programs otherwise than as exec commands"
        let tail = output.split(separator: "\n").suffix(10).joined(separator: "\n")
        text += tail.isEmpty ? "; it printed nothing" : "; its output ended with:\n\(tail)"
        return text
    }
}

extension NetlinkError {
    static func system(_ operation: String, _ code: Int32) -> NetlinkError {
        NetlinkError(operation, reason: String(cString: strerror(code)), errno: code)
    }
}
