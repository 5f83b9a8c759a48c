import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// Removes a lab: its processes, then its namespaces (which takes every link, qdisc and TUN
/// device inside with them), found through the state file and by the `LAB.` name prefix.
public enum LabTeardown {
    /// What `down` removed.
    public struct Report: Sendable, Equatable {
        public var namespaces: Int
        public var processes: Int
        public var wasUp: Bool { namespaces > 0 || processes > 0 }
    }

    public static func down(_ lab: String) -> Report {
        var report = Report(namespaces: 0, processes: 0)
        var names = Set(NetworkNamespace.all().filter { $0.hasPrefix(lab + ".") })
        if let state = LabState.load(lab) {
            names.formUnion(state.namespaces)
            for pid in state.processes where pid > 1 && kill(pid, 0) == 0 {
                kill(pid, SIGTERM)
                report.processes += 1
            }
            // A proxy removes its device and flushes its captures on SIGTERM: give it 3 s.
            for pid in state.processes where pid > 1 {
                for _ in 0..<60 where isRunning(pid) { usleep(50_000) }
                if isRunning(pid) { kill(pid, SIGKILL) }
            }
        }
        // Whatever still runs inside (a command from `netlab exec`, a proxy whose state file
        // was lost) would keep its namespace alive after the delete: end it first.
        let strays = names.flatMap { NetworkNamespace($0).processes() }
        for pid in strays where pid > 1 { kill(pid, SIGTERM) }
        for pid in strays where pid > 1 {
            for _ in 0..<60 where isRunning(pid) { usleep(50_000) }
            if isRunning(pid) { kill(pid, SIGKILL) }
        }
        report.processes += strays.count
        for name in names.sorted() {
            let ns = NetworkNamespace(name)
            guard ns.exists else { continue }
            if (try? ns.delete()) != nil { report.namespaces += 1 }
        }
        LabState.remove(lab)
        return report
    }

    /// Alive and not a zombie (a child of ours that exited is reaped here).
    private static func isRunning(_ pid: Int32) -> Bool {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return false }
        return kill(pid, 0) == 0
    }
}
