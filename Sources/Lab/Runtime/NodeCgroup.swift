import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The cgroup a lab node's processes run in: `netlab/LAB/NODE` in the cgroup v2 hierarchy (at
/// /sys/fs/cgroup, or at /sys/fs/cgroup/unified where v1 controllers hold the top), made when
/// netlab first starts a process in the node. Only then: the kernel destroys cgroups one at a
/// time, a millisecond or two each, and 500 empty ones made a 500-node lab's `down` 1.1 s
/// slower.
///
/// A process can leave its node's network namespace (`unshare -n`, `ip netns exec` elsewhere)
/// but not its cgroup, unless root moves it: the kernel keeps every descendant of what netlab
/// started in the node's cgroup. So `down` ends a node's processes by the cgroup's own list,
/// which the kernel keeps (never a PID from a file), and `cgroup.kill` ends whatever is left
/// at once, children forked in the meantime included.
public struct NodeCgroup: Sendable, Equatable {
    public let lab: String
    public let node: String
    /// The v2 hierarchy's mount point.
    public let root: String

    /// The v2 hierarchy's mount point, nil where there is none.
    public static let hierarchy: String? = {
        for candidate in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        where FileManager.default.fileExists(atPath: candidate + "/cgroup.procs")
            && FileManager.default.fileExists(atPath: candidate + "/cgroup.controllers") {
            return candidate
        }
        return nil
    }()

    /// The node's cgroup; nil where the machine has no cgroup v2 hierarchy, or for names that
    /// are no lab's or node's (they become paths: `..` must never be one).
    public init?(lab: String, node: String) {
        guard let root = Self.hierarchy, TopologyParser.isValidLabName(lab), TopologyParser.isValidNodeName(node) else { return nil }
        self.lab = lab
        self.node = node
        self.root = root
    }

    public static func labDirectory(_ lab: String, root: String) -> String { "\(root)/netlab/\(lab)" }
    public var path: String { "\(Self.labDirectory(lab, root: root))/\(node)" }

    /// Makes the cgroup (and netlab/LAB above it).
    public func create() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// `arguments`, run so that the process joins this cgroup before it becomes the command:
    /// a shell writes its own PID to cgroup.procs and execs the command in its place, so
    /// nothing the command forks is ever outside.
    public func wrap(_ arguments: [String]) -> [String] {
        ["/bin/sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", "\(path)/cgroup.procs"] + arguments
    }

    /// The processes in the cgroup now, as the kernel lists them.
    public var processes: [Int32] {
        guard let text = try? String(contentsOfFile: "\(path)/cgroup.procs", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// The cgroups of every node of `lab` that exist.
    public static func all(lab: String) -> [NodeCgroup] {
        guard let root = hierarchy else { return [] }
        let directory = labDirectory(lab, root: root)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.sorted().compactMap { entry in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: "\(directory)/\(entry)", isDirectory: &isDirectory), isDirectory.boolValue
            else { return nil }
            return NodeCgroup(lab: lab, node: entry)
        }
    }

    /// Ends every process of the lab's node cgroups: SIGTERM to each (a proxy removes its device
    /// and flushes its captures), up to 3 s, then `cgroup.kill` for the rest (or, on kernels
    /// without it, freeze, SIGKILL each member, thaw); waits until they are gone and removes the
    /// cgroups. Returns how many processes there were.
    @discardableResult
    public static func removeAll(lab: String) -> Int {
        let groups = all(lab: lab)
        let members = groups.flatMap(\.processes)
        for pid in members where pid > 1 && pid != getpid() { kill(pid, SIGTERM) }
        for _ in 0..<60 where groups.contains(where: { !$0.processes.isEmpty }) { usleep(50_000) }
        for group in groups where !group.processes.isEmpty { group.killAll() }
        for group in groups {
            for _ in 0..<200 where !group.processes.isEmpty { usleep(10_000) }
            rmdir(group.path)
        }
        // Out of the cgroup is not yet gone: reap what was our own child, and wait (a bounded
        // while) for the rest to finish dying.
        for pid in members {
            for _ in 0..<200 where ProcessLiveness.isRunning(pid) { usleep(10_000) }
        }
        if let root = hierarchy {
            rmdir(labDirectory(lab, root: root))
            rmdir("\(root)/netlab")  // fails while another lab has cgroups there, as it should
        }
        return members.count
    }

    private func killAll() {
        if write("1", to: "cgroup.kill") { return }
        _ = write("1", to: "cgroup.freeze")
        for pid in processes where pid > 1 && pid != getpid() { kill(pid, SIGKILL) }
        _ = write("0", to: "cgroup.freeze")
    }

    private func write(_ value: String, to file: String) -> Bool {
        let fd = open("\(path)/\(file)", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return Glibc.write(fd, value, value.utf8.count) == value.utf8.count
    }
}
