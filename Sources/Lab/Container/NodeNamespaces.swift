import CShim
import Foundation
import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// The namespaces of a lab node beside its network namespace: UTS (its own hostname) always,
/// and a mount and a PID namespace where `isolation` asks. They are kept as bind mounts of
/// their nsfs files under /run/netlab/LAB/ns (NODE.uts, NODE.mnt, NODE.pid), as iproute2 keeps
/// network namespaces under /run/netns: every process netlab later starts in the node joins
/// the same ones, and `down` ends them by unmounting the files.
///
/// A PID namespace lives only while its first process, its init, does: netlab's (`netlab
/// node-init`), which mounts the node's /proc and reaps the orphans of the node. Killing it
/// kills everything in the node, which is what `down` wants.
public struct NodeNamespaces: Sendable, Equatable {
    public let lab: String
    public let node: String

    public init(lab: String, node: String) {
        self.lab = lab
        self.node = node
    }

    public static func directory(lab: String) -> String { "\(LabState.logDirectory(lab: lab))/ns" }
    public var uts: String { "\(Self.directory(lab: lab))/\(node).uts" }
    public var mnt: String { "\(Self.directory(lab: lab))/\(node).mnt" }
    public var pid: String { "\(Self.directory(lab: lab))/\(node).pid" }
    /// iproute2's per-namespace /etc: `ip netns exec LAB.NODE` binds each file here over /etc.
    public var etc: String { "/etc/netns/\(Topology.namespaceName(lab: lab, node: node))" }

    /// Mounts a small tmpfs of its own at /run/netlab/LAB/ns, private: the kernel binds a mount
    /// namespace's file only onto a mount that does not propagate (a copy elsewhere could form a
    /// loop), and /run may be on disk, where making 500 files took a tenth of a second.
    public static func prepareDirectory(lab: String) throws {
        let path = directory(lab: lab)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard !isMountPoint(path) else { return }
        guard mount("netlab-ns", path, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "size=1m,mode=0755") == 0,
              mount("none", path, nil, UInt(MS_PRIVATE), nil) == 0
        else {
            throw NetlinkError.system("mount a tmpfs at \(path)", errno)
        }
    }

    /// The lab's base mount namespace, which every node's mount namespaces are copied from: the
    /// machine's mounts (following them, as slaves) without any namespace file, neither the
    /// machine's /run/netns nor netlab's. A copy of the machine's own took 4 ms in a 500-node lab
    /// (a thousand namespace mounts copied, then detached); of this one, a tenth of that. Inside
    /// a node, `ip netns` therefore lists nothing.
    public static func baseMountNamespace(lab: String) -> String { "\(directory(lab: lab))/_base.mnt" }

    /// Makes the lab's base mount namespace (after `prepareDirectory`).
    static func createBaseMountNamespace(lab: String) throws {
        let fd = try FreshThread.run { () throws -> Int32 in
            guard cshim_unshare(CSHIM_CLONE_NEWNS) == 0 else { throw NetlinkError.system("unshare a mount namespace", errno) }
            guard mount("none", "/", nil, UInt(MS_SLAVE | MS_REC), nil) == 0 else { throw NetlinkError.system("make / a slave mount", errno) }
            // Whole subtrees at once: one by one, each unmount waits for an RCU grace period.
            for point in namespaceDirectories().reversed() { umount2(point, Int32(MNT_DETACH)) }
            let fd = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw NetlinkError.system("open the mount namespace", errno) }
            return fd
        }
        defer { close(fd) }
        try bind("/proc/self/fd/\(fd)", to: baseMountNamespace(lab: lab))
    }

    /// Moves the calling thread (one that shares no filesystem state) into the lab's base mount
    /// namespace; false when the lab has none (made by an older netlab).
    private func enterBase() throws -> Bool {
        let path = Self.baseMountNamespace(lab: lab)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard cshim_setns(fd, CSHIM_CLONE_NEWNS) == 0 else { throw NetlinkError.system("enter \(path)", errno) }
        return true
    }

    /// The node's namespaces beside `network`, named `hostname`; returns the PID of its init
    /// when `isolation` has a PID namespace. `initCommand` is that init (netlab node-init).
    func create(in network: NetworkNamespace, hostname: String, isolation: Set<Isolation>, files: [FileMount],
                cgroup: NodeCgroup?, initCommand: [String], initLog: String) throws -> Int32? {
        let mountIsolated = isolation.contains(.mount) || isolation.contains(.pid)
        let etc = self.etc
        let cgroupFiles = try CgroupFiles(cgroup)
        defer { cgroupFiles.close() }
        let stdio = try NamespaceProcess.StandardStreams(log: initLog)
        defer { stdio.close() }
        let made = try network.run { () throws -> (uts: Int32, mnt: Int32, initPID: Int32?) in
            var flags = CSHIM_CLONE_NEWUTS
            var fromBase = false
            if mountIsolated {
                flags |= CSHIM_CLONE_NEWNS
                guard cshim_unshare(CSHIM_CLONE_FS) == 0 else { throw NetlinkError.system("unshare CLONE_FS", errno) }
                fromBase = try enterBase()
            }
            guard cshim_unshare(flags) == 0 else { throw NetlinkError.system("unshare the namespaces of node \(node)", errno) }
            guard sethostname(hostname, hostname.utf8.count) == 0 else { throw NetlinkError.system("set the hostname \(hostname)", errno) }
            if mountIsolated {
                try Self.setUpMounts(etc: etc, files: files, fromBase: fromBase)
            }
            var initPID: Int32?
            if isolation.contains(.pid) {
                guard cshim_unshare(CSHIM_CLONE_NEWPID) == 0 else { throw NetlinkError.system("unshare the PID namespace of node \(node)", errno) }
                initPID = try NamespaceProcess.spawnOnThisThread(initCommand, stdio: stdio, cgroup: cgroupFiles)
            }
            let uts = open("/proc/thread-self/ns/uts", O_RDONLY | O_CLOEXEC)
            let mnt = mountIsolated ? open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC) : -1
            return (uts, mnt, initPID)
        }
        defer {
            close(made.uts)
            if made.mnt >= 0 { close(made.mnt) }
        }
        try Self.bind("/proc/self/fd/\(made.uts)", to: uts)
        if made.mnt >= 0 { try Self.bind("/proc/self/fd/\(made.mnt)", to: mnt) }
        if let initPID = made.initPID { try Self.bind("/proc/\(initPID)/ns/pid", to: pid) }
        return made.initPID
    }

    /// Gives the calling thread (a fresh one, inside the node's new network namespace) a UTS
    /// namespace named `hostname`; returns a descriptor of it for `bindUTS`.
    static func unshareUTS(hostname: String) throws -> Int32 {
        guard cshim_unshare(CSHIM_CLONE_NEWUTS) == 0 else { throw NetlinkError.system("unshare a UTS namespace", errno) }
        guard sethostname(hostname, hostname.utf8.count) == 0 else { throw NetlinkError.system("set the hostname \(hostname)", errno) }
        let fd = open("/proc/thread-self/ns/uts", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetlinkError.system("open the UTS namespace", errno) }
        return fd
    }

    /// Keeps the UTS namespace `descriptor` refers to as the node's.
    func bindUTS(_ descriptor: Int32) throws {
        try Self.bind("/proc/self/fd/\(descriptor)", to: uts)
    }

    private static func bind(_ source: String, to target: String) throws {
        let fd = open(target, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
        guard fd >= 0 else { throw NetlinkError.system("create \(target)", errno) }
        close(fd)
        guard mount(source, target, "none", UInt(MS_BIND), nil) == 0 else {
            let code = errno
            unlink(target)
            throw NetlinkError.system("bind \(target)", code)
        }
    }

    /// Whether `path` is held by a bind mount now (its device differs from its directory's).
    static func isMounted(_ path: String) -> Bool {
        var file = stat()
        var directory = stat()
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        return stat(path, &file) == 0 && stat(parent.isEmpty ? "/" : parent, &directory) == 0 && file.st_dev != directory.st_dev
    }

    static func isMountPoint(_ path: String) -> Bool {
        let mounts = readSmallFile("/proc/self/mountinfo") ?? ""
        return mounts.split(separator: "\n").contains { $0.split(separator: " ").dropFirst(4).first == Substring(path) }
    }

    /// Joins the node's namespaces on the calling thread, which is a fresh one already in the
    /// node's network namespace (`NodeEnvironment.run`). A node without a mount namespace of
    /// its own gets a private one per process, as `ip netns exec` makes: /sys showing the
    /// node's interfaces and the node's /etc/netns files over /etc.
    func enter() throws {
        // setns into a mount namespace needs a thread that shares no filesystem state.
        guard cshim_unshare(CSHIM_CLONE_FS) == 0 else { throw NetlinkError.system("unshare CLONE_FS", errno) }
        // Every file is opened before the first setns: inside the node's mount namespace these
        // paths are not there.
        var opened: [(fd: Int32, type: Int32, path: String)] = []
        defer { for entry in opened { close(entry.fd) } }
        let ownMount = access(mnt, F_OK) == 0
        let mountNamespace = ownMount ? mnt : Self.baseMountNamespace(lab: lab)
        for (path, type) in [(uts, CSHIM_CLONE_NEWUTS), (pid, CSHIM_CLONE_NEWPID), (mountNamespace, CSHIM_CLONE_NEWNS)] where access(path, F_OK) == 0 {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw NetlinkError.system("open \(path)", errno) }
            opened.append((fd, Int32(type), path))
        }
        for entry in opened {
            guard cshim_setns(entry.fd, entry.type) == 0 else {
                let code = errno
                if entry.type == CSHIM_CLONE_NEWPID { throw NetlinkError("enter node \(node)", reason: "its PID namespace is gone (its init ended); run netlab down and up") }
                throw NetlinkError.system("enter \(entry.path)", code)
            }
        }
        if !ownMount {
            // In the lab's base mount namespace now, if it has one (a lab of an older netlab has not).
            let fromBase = opened.contains { $0.type == CSHIM_CLONE_NEWNS }
            guard cshim_unshare(CSHIM_CLONE_NEWNS) == 0 else { throw NetlinkError.system("unshare a mount namespace", errno) }
            try Self.setUpMounts(etc: etc, files: [], fromBase: fromBase)
        }
    }

    /// In a new mount namespace (the calling thread's): mounts follow the machine's one way
    /// (slave, as `ip netns exec` has it), no copy of netlab's namespace files is kept (it would
    /// keep that namespace alive after its `down`), /sys shows the node's network, and the
    /// node's /etc/netns files and `files` are bound in. A copy of the lab's base mount
    /// namespace (`fromBase`) is a slave already and holds no namespace file.
    static func setUpMounts(etc: String, files: [FileMount], fromBase: Bool) throws {
        if !fromBase {
            guard mount("none", "/", nil, UInt(MS_SLAVE | MS_REC), nil) == 0 else { throw NetlinkError.system("make / a slave mount", errno) }
            for point in namespaceDirectories().reversed() { umount2(point, Int32(MNT_DETACH)) }
        }
        if umount2("/sys", Int32(MNT_DETACH)) == 0 {
            mount("sysfs", "/sys", "sysfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), nil)
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: etc) {
            for entry in entries.sorted() where access("/etc/\(entry)", F_OK) == 0 {
                guard mount("\(etc)/\(entry)", "/etc/\(entry)", "none", UInt(MS_BIND), nil) == 0 else {
                    throw NetlinkError.system("bind \(etc)/\(entry) over /etc/\(entry)", errno)
                }
            }
        }
        for file in files {
            guard mount(file.source, file.target, "none", UInt(MS_BIND | MS_REC), nil) == 0 else {
                throw NetlinkError.system("bind \(file.source) over \(file.target) (the target must exist)", errno)
            }
        }
    }

    /// The mount points of every lab's namespace directory (/run/netlab/LAB/ns), and of the
    /// machine's network namespaces (/run/netns, a shared mount iproute2 makes), in the calling
    /// thread's mount namespace, read from mountinfo (its fifth field) byte by byte: it is read
    /// for every process started in a node, and a large lab makes it a thousand lines long.
    static func namespaceDirectories() -> [String] {
        guard let text = readSmallFile("/proc/thread-self/mountinfo") else { return [] }
        let prefix = Array("/run/netlab/".utf8)
        let suffix = Array("/ns".utf8)
        var found: [String] = []
        for line in text.utf8.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 5, omittingEmptySubsequences: false)
            guard fields.count > 4 else { continue }
            let point = fields[4]
            if (point.starts(with: prefix) && point.reversed().starts(with: suffix.reversed())) || point.elementsEqual("/run/netns".utf8) {
                found.append(String(decoding: point, as: UTF8.self))
            }
        }
        return found
    }

    /// Unmounts every namespace file of the lab and the directory's own mount; the namespaces
    /// end once nothing else holds them (down has ended the processes by then).
    static func removeAll(lab: String) {
        let path = directory(lab: lab)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            umount2("\(path)/\(entry)", Int32(MNT_DETACH))
            unlink("\(path)/\(entry)")
        }
        while isMountPoint(path) {
            guard umount2(path, Int32(MNT_DETACH)) == 0 else { break }
        }
        rmdir(path)
    }
}

/// A node's cgroup as a child joins it: the v2 directory, opened by netlab, which the child is
/// born in (`cshim_spawn`, CLONE_INTO_CGROUP), and the `cgroup.procs` files of its v1
/// hierarchies (limits), handed to the child as descriptors 3, 4, ...: a shell writes its PID
/// to them before it becomes the command, whatever mount namespace it is in by then (a node's
/// own /sys shows no cgroup hierarchy).
struct CgroupFiles: Sendable {
    /// The v2 directory, or -1.
    let unified: Int32
    let legacyProcs: [Int32]

    init(_ cgroup: NodeCgroup?) throws {
        var unified: Int32 = -1
        var legacy: [Int32] = []
        do {
            if let cgroup {
                if let directory = cgroup.unifiedPath {
                    unified = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    guard unified >= 0 else { throw NetlinkError.system("open \(directory)", errno) }
                }
                for file in cgroup.legacyProcsFiles {
                    let fd = open(file, O_WRONLY | O_CLOEXEC)
                    guard fd >= 0 else { throw NetlinkError.system("open \(file)", errno) }
                    legacy.append(fd)
                }
            }
        } catch {
            if unified >= 0 { Glibc.close(unified) }
            legacy.forEach { _ = Glibc.close($0) }
            throw error
        }
        self.unified = unified
        self.legacyProcs = legacy
    }

    func close() {
        if unified >= 0 { Glibc.close(unified) }
        legacyProcs.forEach { _ = Glibc.close($0) }
    }

    /// `arguments` behind a shell that joins the v1 cgroups (descriptors 3...) and closes them;
    /// as they are where there are none.
    func wrap(_ arguments: [String]) -> [String] {
        guard !legacyProcs.isEmpty else { return arguments }
        let fds = (0..<legacyProcs.count).map { $0 + 3 }
        let join = fds.map { "echo $$ >&\($0)" }.joined(separator: " && ")
        let close = fds.map { "\($0)>&-" }.joined(separator: " ")
        return ["/bin/sh", "-c", "\(join) || exit 126; exec \"$@\" \(close)", "netlab-cgroup"] + arguments
    }
}

extension NodeNamespaces {
    /// The hostname in the node's UTS namespace. The calling thread joins that namespace to
    /// ask: call it only on a fresh thread (inside `NetworkNamespace.run`).
    func hostnameFromThisThread() -> String? {
        let fd = open(uts, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard cshim_setns(fd, CSHIM_CLONE_NEWUTS) == 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The namespaces the node has beside net and uts, as their files show.
    var isolation: [Isolation] {
        [(Isolation.mount, mnt), (.pid, pid)].filter { Self.isMounted($0.1) }.map(\.0)
    }
}
