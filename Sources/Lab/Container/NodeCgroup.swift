import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The cgroup a lab node's processes run in: `netlab/LAB/NODE`, in the v2 hierarchy and, for
/// the controllers the machine keeps in v1 hierarchies (`CgroupLayout`), in those too.
///
/// A process can leave its node's network namespace (`unshare -n`, `ip netns exec` elsewhere)
/// but not its cgroup, unless root moves it: the kernel keeps every descendant of what netlab
/// started in the node's cgroup. So `down` ends a node's processes by the cgroup's own list,
/// which the kernel keeps (never a PID from a file), and `cgroup.kill` ends whatever is left
/// at once, children forked in the meantime included.
///
/// It is made when netlab first starts a process in the node, or at `up` for a node with
/// `limits`. Only then: the kernel destroys cgroups one at a time, a millisecond or two each,
/// and 500 empty ones made a 500-node lab's `down` 1.1 s slower.
public struct NodeCgroup: Sendable, Equatable {
    public let lab: String
    public let node: String
    let layout: CgroupLayout

    /// The v2 hierarchy's mount point, nil where there is none.
    public static var hierarchy: String? { CgroupLayout.current.unified }

    /// The node's cgroup; nil where the machine has no cgroup hierarchy netlab can use, or for
    /// names that are no lab's or node's (they become paths: `..` must never be one).
    public init?(lab: String, node: String, layout: CgroupLayout = .current) {
        guard TopologyParser.isValidInstanceName(lab), TopologyParser.isValidNodeName(node) else { return nil }
        self.init(checkedLab: lab, node: node, layout: layout)
    }

    private init?(checkedLab lab: String, node: String, layout: CgroupLayout) {
        guard layout.unified != nil || layout.legacy["pids"] != nil || layout.legacy["memory"] != nil else { return nil }
        self.lab = lab
        self.node = node
        self.layout = layout
    }

    /// The cgroup of the lab's service supervisor: `netlab/LAB/.supervisor`, a name no node can
    /// have. `down` ends it before the nodes', so that nothing restarts what it ends.
    public static func supervisor(lab: String) -> NodeCgroup? {
        guard TopologyParser.isValidInstanceName(lab) else { return nil }
        return NodeCgroup(checkedLab: lab, node: ".supervisor", layout: .current)
    }

    /// The v2 mount point (or the v1 one that stands in for it on machines without v2).
    public var root: String { layout.unified ?? membershipMount }

    private var membershipMount: String {
        layout.unified ?? layout.legacy["pids"] ?? layout.legacy["memory"] ?? "/sys/fs/cgroup"
    }

    public static func labDirectory(_ lab: String, root: String) -> String { "\(root)/netlab/\(lab)" }

    /// The directory whose member list is the node's processes (the v2 one where there is one).
    public var path: String { "\(Self.labDirectory(lab, root: membershipMount))/\(node)" }

    /// The v1 controllers this node's processes join, by where their hierarchy is: those of its
    /// limits, and only where v2 lacks them. Joining a v1 cgroup means moving the process after
    /// it started, which waits for an RCU grace period; a node without limits does without.
    func legacyControllers(for limits: ResourceLimits) -> [(controller: String, mount: String)] {
        var wanted: [String] = []
        if limits.memory != nil { wanted.append("memory") }
        if limits.cpu != nil { wanted.append("cpu") }
        if limits.pids != nil { wanted.append("pids") }
        return wanted.compactMap { controller in
            guard case let .legacy(mount)? = layout.place(of: controller), mount != membershipMount else { return nil }
            return (controller, mount)
        }
    }

    func directory(in mount: String) -> String { "\(Self.labDirectory(lab, root: mount))/\(node)" }

    /// Every directory of the node that exists now: the membership one first.
    var directories: [String] {
        var mounts = [membershipMount]
        for mount in Set(layout.legacy.values).sorted() where !mounts.contains(mount) { mounts.append(mount) }
        return mounts.map(directory(in:)).filter { access($0, F_OK) == 0 }
    }

    /// Makes the cgroup (and netlab/LAB above it) in every hierarchy it needs, with `limits`.
    public func create(limits: ResourceLimits = ResourceLimits()) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (_, mount) in legacyControllers(for: limits) {
            try FileManager.default.createDirectory(atPath: directory(in: mount), withIntermediateDirectories: true)
        }
        if !limits.isEmpty { try apply(limits) }
    }

    /// Writes the limits where each controller is; a limit the machine cannot enforce is an error
    /// (a lab that says `memory = "128M"` must not run unlimited without a word).
    func apply(_ limits: ResourceLimits) throws {
        func set(_ controller: String, _ files: [(String, String)]) throws {
            switch layout.place(of: controller) {
            case nil:
                throw CgroupError(path: path, reason: "this machine has no \(controller) controller in any cgroup hierarchy")
            case .unified:
                try enableUnified(controller)
                for (file, value) in files { try write(value, to: "\(path)/\(file)") }
            case let .legacy(mount):
                for (file, value) in files { try write(value, to: "\(directory(in: mount))/\(file)") }
            }
        }
        if let cpu = limits.cpu {
            let quota = max(1000, Int((cpu * 100_000).rounded()))
            if layout.place(of: "cpu") == .unified {
                try set("cpu", [("cpu.max", "\(quota) 100000")])
            } else {
                try set("cpu", [("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "\(quota)")])
            }
        }
        if let memory = limits.memory {
            if layout.place(of: "memory") == .unified {
                try set("memory", [("memory.max", "\(memory)")])
                writeSmallFile("\(path)/memory.swap.max", "0")
            } else {
                try set("memory", [("memory.limit_in_bytes", "\(memory)")])
                if case let .legacy(mount)? = layout.place(of: "memory") {
                    // Without swap accounting the file is absent and there is no swap to escape to.
                    writeSmallFile("\(directory(in: mount))/memory.memsw.limit_in_bytes", "\(memory)")
                }
            }
        }
        if let pids = limits.pids { try set("pids", [("pids.max", "\(pids)")]) }
    }

    /// In v2 a controller reaches a cgroup only when every ancestor's subtree_control lists it.
    private func enableUnified(_ controller: String) throws {
        guard let root = layout.unified else { return }
        for directory in [root, "\(root)/netlab", Self.labDirectory(lab, root: root)] {
            let current = readSmallFile("\(directory)/cgroup.subtree_control") ?? ""
            if current.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains(Substring(controller)) { continue }
            try write("+\(controller)", to: "\(directory)/cgroup.subtree_control")
        }
    }

    private func write(_ value: String, to file: String) throws {
        guard writeSmallFile(file, value) else {
            throw CgroupError(path: file, reason: "the kernel refused '\(value)': \(String(cString: strerror(errno)))")
        }
    }

    /// The node's v2 directory, where a process is born into it (nil on machines without v2).
    var unifiedPath: String? { layout.unified != nil && access(path, F_OK) == 0 ? path : nil }

    /// The `cgroup.procs` files of the node's v1 directories, which a process joins by writing
    /// its PID (the membership one too on a machine without v2).
    var legacyProcsFiles: [String] {
        (layout.unified == nil ? directories : Array(directories.dropFirst())).map { "\($0)/cgroup.procs" }
    }

    /// The processes in the cgroup now, as the kernel lists them.
    public var processes: [Int32] {
        guard let text = readSmallFile("\(path)/cgroup.procs") else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// What the node uses now, from its cgroups.
    public var usage: CgroupUsage {
        var usage = CgroupUsage(processes: processes.count)
        if let unified = layout.unified {
            let stat = readSmallFile("\(directory(in: unified))/cpu.stat") ?? ""
            usage.cpuSeconds = Self.field("usage_usec", in: stat).map { Double($0) / 1e6 }
        }
        switch layout.place(of: "memory") {
        case .unified?:
            usage.memoryBytes = readSmallFile("\(path)/memory.current").flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            usage.memoryLimit = readSmallFile("\(path)/memory.max").flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            usage.oomKills = Self.field("oom_kill", in: readSmallFile("\(path)/memory.events") ?? "")
        case let .legacy(mount)? where hasLegacyMemory:
            let directory = directory(in: mount)
            usage.memoryBytes = readSmallFile("\(directory)/memory.usage_in_bytes").flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            // v1 says "no limit" with the largest page-aligned number.
            usage.memoryLimit = readSmallFile("\(directory)/memory.limit_in_bytes")
                .flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.flatMap { $0 >= 1 << 62 ? nil : $0 }
            usage.oomKills = Self.field("oom_kill", in: readSmallFile("\(directory)/memory.oom_control") ?? "")
        case .legacy?, nil:
            // Without a memory cgroup of its own (a node without a memory limit where memory is
            // a v1 controller): what its processes hold resident.
            usage.memoryBytes = processes.reduce(0) { $0 + Self.residentBytes(of: $1) }
        }
        return usage
    }

    private var hasLegacyMemory: Bool {
        guard case let .legacy(mount)? = layout.place(of: "memory") else { return false }
        return access(directory(in: mount), F_OK) == 0
    }

    private static func residentBytes(of pid: Int32) -> UInt64 {
        guard let text = readSmallFile("/proc/\(pid)/status"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (UInt64(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Which hierarchies the node's cgroup lives in, for `netlab status`: "v2", "v1", or
    /// "v2 + v1 (memory, cpu)".
    public var kind: String {
        let legacy = directories.dropFirst().compactMap { dir in layout.legacy.first { dir.hasPrefix($0.value + "/") }?.key }
        let base = layout.unified != nil ? "v2" : "v1"
        return legacy.isEmpty ? base : "\(base) + v1 (\(legacy.sorted().joined(separator: ", ")))"
    }

    private static func field(_ name: String, in text: String) -> UInt64? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == name { return UInt64(parts[1]) }
        }
        return nil
    }

    /// The cgroups of every node of `lab` that exist (the supervisor's not among them).
    public static func all(lab: String) -> [NodeCgroup] {
        guard let probe = NodeCgroup.supervisor(lab: lab) else { return [] }
        let directory = labDirectory(lab, root: probe.membershipMount)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.sorted().compactMap { entry in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: "\(directory)/\(entry)", isDirectory: &isDirectory), isDirectory.boolValue
            else { return nil }
            return NodeCgroup(lab: lab, node: entry)
        }
    }

    /// Ends every process of the lab: the supervisor's cgroup first (so nothing restarts a
    /// service while it is being ended), then the nodes'. Each: SIGTERM to every member (a
    /// proxy removes its device and flushes its captures), up to 3 s, then `cgroup.kill` for
    /// the rest (or, on kernels without it, freeze, SIGKILL each member, thaw); waits until they
    /// are gone and removes the cgroups in every hierarchy. Returns how many processes there were.
    @discardableResult
    public static func removeAll(lab: String) -> Int {
        var count = 0
        if let supervisor = supervisor(lab: lab) { count += end([supervisor]) }
        count += end(all(lab: lab))
        if let probe = supervisor(lab: lab) {
            for mount in Set([probe.membershipMount] + probe.layout.legacy.values) {
                rmdir(labDirectory(lab, root: mount))
                rmdir("\(mount)/netlab")  // fails while another lab has cgroups there, as it should
            }
        }
        return count
    }

    private static func end(_ groups: [NodeCgroup]) -> Int {
        let members = groups.flatMap(\.processes)
        for pid in members where pid > 1 && pid != getpid() { kill(pid, SIGTERM) }
        for _ in 0..<60 where groups.contains(where: { !$0.processes.isEmpty }) { usleep(50_000) }
        for group in groups where !group.processes.isEmpty { group.killAll() }
        for group in groups {
            for _ in 0..<200 where !group.processes.isEmpty { usleep(10_000) }
            // Also the v1 directories of limits and accounting, which held the same processes.
            for directory in group.allDirectories { rmdir(directory) }
        }
        // Out of the cgroup is not yet gone: reap what was our own child, and wait (a bounded
        // while) for the rest to finish dying.
        for pid in members {
            for _ in 0..<200 where ProcessLiveness.isRunning(pid) { usleep(10_000) }
        }
        return members.count
    }

    /// The node's directory in every hierarchy, whether it exists or not.
    private var allDirectories: [String] {
        Set([membershipMount] + layout.legacy.values).map(directory(in:))
    }

    private func killAll() {
        if writeSmallFile("\(path)/cgroup.kill", "1") { return }
        let freezer = layout.unified != nil ? "\(path)/cgroup.freeze" : layout.legacy["freezer"].map { "\(directory(in: $0))/freezer.state" }
        let frozen = layout.unified != nil ? "1" : "FROZEN"
        if let freezer { writeSmallFile(freezer, frozen) }
        for pid in processes where pid > 1 && pid != getpid() { kill(pid, SIGKILL) }
        if let freezer { writeSmallFile(freezer, layout.unified != nil ? "0" : "THAWED") }
    }
}

/// What a node's cgroup reports: for `netlab status`.
public struct CgroupUsage: Codable, Sendable, Equatable {
    public var processes: Int
    public var cpuSeconds: Double?
    public var memoryBytes: UInt64?
    /// nil: unlimited.
    public var memoryLimit: UInt64?
    /// Processes the kernel's OOM killer ended in the node.
    public var oomKills: UInt64?

    public init(processes: Int) { self.processes = processes }
}

/// A cgroup file the kernel would not take (a limit it cannot set, a controller it lacks).
public struct CgroupError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public var description: String { "cgroup \(path): \(reason)" }
}
