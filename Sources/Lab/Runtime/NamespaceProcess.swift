import CShim
import Foundation
import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// Starts programs inside a network namespace.
///
/// A child made by `cshim_spawn` (clone3) takes the namespaces of the thread that spawned it, so the
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

    /// `spawnDaemon` in the calling thread's own namespaces (a proxy stitch's proxy serves a
    /// node from the host's network), born in `cgroup`.
    public static func spawnDaemonHere(_ arguments: [String], cgroup: NodeCgroup?, log: String) throws -> Int32 {
        let files = try CgroupFiles(cgroup)
        defer { files.close() }
        let stdio = try StandardStreams(log: log)
        defer { stdio.close() }
        return try spawnOnThisThread(arguments, stdio: stdio, cgroup: files)
    }

    /// `spawn` (log nil: this process's standard input and output) or `spawnDaemon`.
    private static func spawn(_ arguments: [String], in node: NodeEnvironment, log: String?) throws -> Int32 {
        guard !arguments.isEmpty else { throw NetlinkError("exec", reason: "no command given") }
        // Opened here, in netlab's own mount namespace: the node's may show no cgroup hierarchy.
        let cgroup = try CgroupFiles(node.cgroup)
        defer { cgroup.close() }
        let stdio = try StandardStreams(log: log)
        defer { stdio.close() }
        return try node.run { try spawnOnThisThread(arguments, stdio: stdio, cgroup: cgroup) }
    }

    /// Spawns from the calling thread, whose namespaces the child takes: born in the node's v2
    /// cgroup, with `stdio` as its descriptors 0-2 and nothing else of netlab's, no signal
    /// blocked (a thread pool's mask would make a child that ignores `down`), and, for a daemon,
    /// its own session (a terminal's Ctrl-C does not reach it).
    static func spawnOnThisThread(_ arguments: [String], stdio: StandardStreams, cgroup: CgroupFiles) throws -> Int32 {
        let command = cgroup.wrap(arguments)
        let descriptors = stdio.descriptors + cgroup.legacyProcs
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: Int32 = 0
        let rc = descriptors.withUnsafeBufferPointer { fds in
            cshim_spawn(command[0], argv, environ, fds.baseAddress, Int32(fds.count), cgroup.unified, stdio.isDaemon ? 1 : 0, &pid)
        }
        guard rc == 0 else { throw NetlinkError.system("run \(arguments[0])", rc) }
        return pid
    }

    /// A child's standard input, output and error: this process's own, or, for a daemon,
    /// /dev/null and a log (appended to).
    struct StandardStreams: Sendable {
        let descriptors: [Int32]
        let isDaemon: Bool

        init(log: String?) throws {
            guard let log else {
                descriptors = [0, 1, 2]
                isDaemon = false
                return
            }
            let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { throw NetlinkError.system("open /dev/null", errno) }
            let output = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard output >= 0 else {
                let code = errno
                Glibc.close(input)
                throw NetlinkError.system("open \(log)", code)
            }
            descriptors = [input, output, output]
            isDaemon = true
        }

        func close() {
            if isDaemon {
                Glibc.close(descriptors[0])
                Glibc.close(descriptors[1])
            }
        }
    }

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
