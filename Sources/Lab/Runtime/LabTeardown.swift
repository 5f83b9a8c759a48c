import Foundation
import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// Removes a lab: its service supervisor and the processes of its nodes, then the nodes'
/// namespaces (which takes every link, qdisc, TUN device and mount inside with them), then its
/// /etc/netns files, state file and logs.
///
/// It touches only what netlab made for this lab: a namespace is the lab's when the mark inside
/// it says so (`LabMark`), or when it is the very namespace the state file recorded (same nsfs
/// device and inode). Candidates are the state file's namespaces and, so that leftovers of a
/// lost state file are found, every namespace named `LAB.*`; one without the lab's mark is left
/// alone, whatever its name. Processes are found by the namespace they are in, never by a PID
/// read back from a file: a PID a dead proxy left there may belong to anything by now.
public enum LabTeardown {
    /// What `down` removed, and what it left alone.
    public struct Report: Sendable, Equatable {
        public var namespaces: Int
        public var processes: Int
        /// Namespaces named like the lab's that netlab did not make for it.
        public var leftAlone: [String] = []
        public var wasUp: Bool { namespaces > 0 || processes > 0 }
    }

    /// Takes the lab's lock, then removes it.
    public static func down(_ lab: String, waiting: (String) -> Void = { _ in }) throws(LabLock.Failure) -> Report {
        let lock = try LabLock(lab: lab, waiting: waiting)
        defer { withExtendedLifetime(lock) {} }
        return downLocked(lab)
    }

    /// `down` for a caller that holds the lab's lock (so `lab` is a valid name: the lock checks).
    static func downLocked(_ lab: String) -> Report {
        var report = Report(namespaces: 0, processes: 0)
        // The name becomes paths below, removed recursively: never `..` or anything like it.
        guard TopologyParser.isValidInstanceName(lab) else { return report }
        let state = LabState.load(lab)
        var names = Set(NetworkNamespace.all().filter { $0.hasPrefix(lab + ".") })
        names.formUnion(state?.namespaces ?? [])
        var owned: [NetworkNamespace] = []
        for name in names.sorted() {
            let namespace = NetworkNamespace(name)
            guard namespace.exists else { continue }
            if isOwned(namespace, by: lab, state: state) {
                if namespace.isMounted { owned.append(namespace) } else { try? namespace.delete() }
            } else {
                report.leftAlone.append(name)
            }
        }
        // First what netlab started in the nodes, by their cgroups (which hold them even if they
        // left the node's namespace).
        report.processes = NodeCgroup.removeAll(lab: lab)
        // Then whatever else runs inside (a command started with `ip netns exec`), which would
        // keep its namespace alive after the delete. A proxy removes its device and flushes its
        // captures on SIGTERM: give it 3 s.
        let inside = owned.flatMap { $0.processes() }.filter { $0 > 1 && $0 != getpid() }
        for pid in inside { kill(pid, SIGTERM) }
        for pid in inside {
            for _ in 0..<60 where isRunning(pid) { usleep(50_000) }
            if isRunning(pid) { kill(pid, SIGKILL) }
        }
        // SIGKILL is delivered, not done: wait (a bounded while) until each is really gone, so
        // that what `down` reports ended has ended.
        for pid in inside {
            for _ in 0..<200 where isRunning(pid) { usleep(10_000) }
        }
        report.processes += inside.count
        // The nodes' UTS, mount and PID namespaces end with their files' mounts (their
        // processes are gone), and the mounts they held with them.
        NodeNamespaces.removeAll(lab: lab)
        for namespace in owned where (try? namespace.delete()) != nil { report.namespaces += 1 }
        HostsFile.removeAll(lab: lab)
        LabState.remove(lab)
        try? FileManager.default.removeItem(atPath: LabState.logDirectory(lab: lab))
        return report
    }

    /// The lab's mark inside, or the identity the state file recorded for this name. An `up`
    /// killed between making the name's file and mounting the namespace over it leaves an empty
    /// file and no namespace: that is the lab's when its state file meant to make the name.
    static func isOwned(_ namespace: NetworkNamespace, by lab: String, state: LabState?) -> Bool {
        guard namespace.isMounted else { return state?.namespaces.contains(namespace.name) == true }
        // The recorded identity first: a stat, where reading the mark means entering the
        // namespace (a thread and a netlink dump each; 500 of them doubled `down`'s time).
        if let recorded = state?.identities[namespace.name], namespace.identity == recorded { return true }
        return LabMark.read(in: namespace)?.lab == lab
    }

    private static func isRunning(_ pid: Int32) -> Bool { ProcessLiveness.isRunning(pid) }
}
