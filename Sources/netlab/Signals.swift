#if canImport(Glibc)
import Glibc
#endif

/// Signal set-up for the commands that run until stopped (proxy, capture).
enum Signals {
    /// Unblocks SIGINT, SIGTERM and SIGHUP in this thread. A process inherits its parent's
    /// signal mask, and some parents (test runners, supervisors) spawn with these blocked: the
    /// signals would then stay pending and the command never stop.
    static func unblockStopSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
