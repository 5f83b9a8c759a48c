import CShim
#if canImport(Glibc)
import Glibc
#endif

/// A named network namespace, compatible with iproute2: it lives as a bind mount at
/// `/run/netns/NAME`, so `ip netns list` sees it and `ip netns exec NAME` enters it.
public struct NetworkNamespace: Hashable, Sendable, CustomStringConvertible {
    public static let directory = "/run/netns"

    public let name: String

    public init(_ name: String) {
        self.name = name
    }

    public var path: String { "\(Self.directory)/\(name)" }
    public var description: String { name }

    /// True when `/run/netns/NAME` exists.
    public var exists: Bool { access(path, F_OK) == 0 }

    /// Names of every namespace under /run/netns.
    public static func all() -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Creates the namespace (like `ip netns add`); an existing one is an error.
    ///
    /// `prepare` runs inside the new namespace before it is mounted under its name: what it
    /// does (netlab's ownership mark) is there before anyone can see the namespace, so a kill
    /// at any moment never leaves a named namespace without it.
    @discardableResult
    public static func create(_ name: String, prepare: (@Sendable () throws -> Void)? = nil) throws(NetlinkError) -> NetworkNamespace {
        let ns = NetworkNamespace(name)
        try prepareDirectory()
        let fd = open(ns.path, O_RDONLY | O_CREAT | O_EXCL, 0)
        guard fd >= 0 else { throw .system("create namespace \(name)", errno) }
        close(fd)
        let path = ns.path
        do {
            try FreshThread.run {
                guard cshim_unshare(CSHIM_CLONE_NEWNET) == 0 else {
                    throw NetlinkError.system("unshare for namespace \(name)", errno)
                }
                try prepare?()
                // /proc/self/ns/net is the main thread's namespace; this thread's is under task/.
                let source = "/proc/self/task/\(cshim_gettid())/ns/net"
                guard mount(source, path, "none", UInt(MS_BIND), nil) == 0 else {
                    throw NetlinkError.system("bind namespace \(name)", errno)
                }
            }
        } catch let error as NetlinkError {
            unlink(path)
            throw error
        } catch {
            unlink(path)
            throw NetlinkError("create namespace \(name)", reason: "\(error)")
        }
        return ns
    }

    /// Which namespace the name stands for: the nsfs device and inode its bind mount shows, the
    /// same for every path and process that refers to it, and new for a new namespace under
    /// an old name.
    public struct Identity: Codable, Hashable, Sendable, CustomStringConvertible {
        public var device: UInt64
        public var inode: UInt64

        public init(device: UInt64, inode: UInt64) {
            self.device = device
            self.inode = inode
        }

        public var description: String { "net:[\(inode)] on device \(device)" }
    }

    /// True when the name holds a namespace (an nsfs mount), false for the empty file that
    /// `create` (or `ip netns add`) makes first and mounts over.
    public var isMounted: Bool {
        // A mount shows another device than the directory it sits in (nsfs, not tmpfs).
        var file = stat()
        var directory = stat()
        return stat(path, &file) == 0 && stat(Self.directory, &directory) == 0 && file.st_dev != directory.st_dev
    }

    /// The namespace's identity, or nil when the name is not mounted.
    public var identity: Identity? {
        var info = stat()
        guard isMounted, stat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Deletes the namespace (like `ip netns del`): its links go with it once nothing holds it.
    public func delete() throws(NetlinkError) {
        _ = umount2(path, Int32(MNT_DETACH))
        guard unlink(path) == 0 || errno == ENOENT else { throw .system("delete namespace \(name)", errno) }
    }

    /// The processes whose network namespace this is (like `ip netns pids`): found by the
    /// namespace's inode in /proc/PID/ns/net. A process left inside keeps a deleted namespace,
    /// and every link in it, alive and out of sight.
    public func processes() -> [Int32] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        let target = "net:[\(info.st_ino)]"
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var found: [Int32] = []
        var link = [CChar](repeating: 0, count: 64)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name), pid != getpid() else { continue }
            let n = readlink("/proc/\(pid)/ns/net", &link, link.count - 1)
            guard n > 0 else { continue }
            if String(decoding: link[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == target { found.append(pid) }
        }
        return found
    }

    /// Runs `body` on a fresh thread inside this namespace.
    public func run<T>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let path = self.path
        let name = self.name
        return try FreshThread.run {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw NetlinkError.system("open namespace \(name)", errno) }
            defer { close(fd) }
            guard cshim_setns(fd, CSHIM_CLONE_NEWNET) == 0 else {
                throw NetlinkError.system("enter namespace \(name)", errno)
            }
            return try body()
        }
    }

    /// Opens the namespace file (for moving links into it); the caller closes the descriptor.
    public func openDescriptor() throws(NetlinkError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open namespace \(name)", errno) }
        return fd
    }

    /// Makes /run/netns a shared mount point, as iproute2 does, so namespaces made here are
    /// visible to other mount namespaces.
    private static func prepareDirectory() throws(NetlinkError) {
        mkdir("/run", 0o755)
        mkdir(directory, 0o755)
        if mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil) != 0 {
            guard errno == EINVAL else { throw .system("share \(directory)", errno) }
            guard mount(directory, directory, "none", UInt(MS_BIND | MS_REC), nil) == 0 else {
                throw .system("bind \(directory)", errno)
            }
            _ = mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil)
        }
    }

    /// Writes a sysctl inside the current thread's namespace (`net.ipv4.ip_forward` = `1`).
    public static func writeSysctl(_ key: String, _ value: String) throws(NetlinkError) {
        // As sysctl(8) does: dots separate levels, and a slash stands for a dot inside a name
        // (net.ipv4.conf.eth0/100.forwarding).
        let path = "/proc/sys/" + String(key.map { $0 == "." ? "/" : $0 == "/" ? "." : $0 })
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("sysctl \(key)", errno) }
        defer { close(fd) }
        let text = value + "\n"
        let written = text.withCString { write(fd, $0, strlen($0)) }
        guard written >= 0 else { throw .system("sysctl \(key)=\(value)", errno) }
    }
}
