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
