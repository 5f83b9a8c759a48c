import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether a process netlab ended is really gone.
///
/// `kill(pid, 0)` succeeds on a zombie, and a zombie lingers until its parent reaps it: the
/// caller itself when it started the process (a library user or a test that built a lab), or
/// init when the starter has exited (the `netlab up` command). So this reaps the caller's own
/// children, and counts a zombie as gone.
enum ProcessLiveness {
    static func isRunning(_ pid: Int32) -> Bool {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        // The state follows the command's closing parenthesis: "PID (COMM) S ...".
        let state = stat.split(separator: ")").last?.split(separator: " ").first
        return state != "Z" && state != "X"
    }
}
