import CShim
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
    /// input and output; returns its PID.
    public static func spawn(_ arguments: [String], in namespace: NetworkNamespace) throws -> Int32 {
        guard !arguments.isEmpty else { throw NetlinkError("exec", reason: "no command given") }
        return try namespace.run {
            var pid: pid_t = 0
            let argv = arguments.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            let rc = posix_spawnp(&pid, arguments[0], nil, nil, argv, environ)
            guard rc == 0 else { throw NetlinkError.system("run \(arguments[0]) in \(namespace.name)", rc) }
            return pid
        }
    }

    /// Spawns a daemon inside `namespace`: its own session (a terminal's Ctrl-C does not reach
    /// it), standard input from /dev/null, standard output and error appended to `log`, and
    /// no signal blocked, whatever this process blocks. Returns its PID.
    public static func spawnDaemon(_ arguments: [String], in namespace: NetworkNamespace, log: String) throws -> Int32 {
        guard !arguments.isEmpty else { throw NetlinkError("exec", reason: "no command given") }
        return try namespace.run {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var empty = sigset_t()
            sigemptyset(&empty)
            posix_spawnattr_setsigmask(&attributes, &empty)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | Self.setsid))
            var pid: pid_t = 0
            let argv = arguments.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            let rc = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
            guard rc == 0 else { throw NetlinkError.system("run \(arguments[0]) in \(namespace.name)", rc) }
            return pid
        }
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
}

extension NetlinkError {
    static func system(_ operation: String, _ code: Int32) -> NetlinkError {
        NetlinkError(operation, reason: String(cString: strerror(code)), errno: code)
    }
}
