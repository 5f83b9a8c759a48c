#if canImport(Glibc)
import Glibc
#endif

/// PID 1 of a lab node with a PID namespace (`netlab node-init`): mounts the node's own /proc,
/// so `ps` in the node shows the node, and reaps every orphan the node's processes leave, as
/// an init must or they stay zombies. It ends on SIGTERM or SIGINT, and with it, by the
/// kernel's rule for a PID namespace's init, every process of the node.
public enum NodeInit {
    public static func run() -> Int32 {
        // An init gets only the signals it handles (SIGKILL aside), even from outside its
        // namespace: handlers make SIGTERM reach it; blocking them lets it wait for them in order.
        signal(SIGTERM) { _ in }
        signal(SIGINT) { _ in }
        signal(SIGCHLD) { _ in }
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGCHLD, SIGTERM, SIGINT] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        if getpid() == 1 {
            mount("proc", "/proc", "proc", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), nil)
        }
        while true {
            var timeout = timespec(tv_sec: 1, tv_nsec: 0)
            let signal = sigtimedwait(&signals, nil, &timeout)
            while waitpid(-1, nil, WNOHANG) > 0 {}
            if signal == SIGTERM || signal == SIGINT { return 0 }
        }
    }
}
