#if canImport(Glibc)
import Glibc
#endif

/// Where this machine's cgroup controllers are: the v2 hierarchy (with the controllers its root
/// offers) and the v1 hierarchies, one per controller (or a few mounted together).
///
/// Machines differ: a current distribution mounts v2 alone with every controller; an older or
/// containerised one (this project's CI among them) mounts cpu, memory and pids as v1
/// hierarchies beside a v2 one that has none of them. A controller is bound to one hierarchy at
/// a time, so netlab uses each where it is: v2 where it has it, v1 otherwise.
public struct CgroupLayout: Sendable, Equatable {
    /// The v2 hierarchy's mount point, nil where there is none.
    public var unified: String?
    /// The controllers the v2 hierarchy's root offers ("cpu", "memory", "pids", ...).
    public var unifiedControllers: Set<String>
    /// v1 hierarchies' mount points by controller.
    public var legacy: [String: String]

    /// The running machine's layout, read once.
    public static let current = CgroupLayout.discover()

    /// Where `controller` is, nil when the machine has it nowhere.
    public func place(of controller: String) -> Place? {
        if unified != nil, unifiedControllers.contains(controller) { return .unified }
        if let mount = legacy[controller] { return .legacy(mount) }
        return nil
    }

    public enum Place: Sendable, Equatable {
        case unified
        case legacy(String)
    }

    /// Reads /proc/self/mountinfo: `cgroup2` mounts and `cgroup` mounts with their controllers
    /// in the super options (`rw,memory`).
    static func discover() -> CgroupLayout {
        var layout = CgroupLayout(unified: nil, unifiedControllers: [], legacy: [:])
        guard let text = readSmallFile("/proc/self/mountinfo") else { return layout }
        for line in text.split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1).map { $0.split(separator: " ") }
            guard halves.count == 2, halves[0].count >= 5, halves[1].count >= 3 else { continue }
            let mountPoint = String(halves[0][4])
            switch halves[1][0] {
            case "cgroup2" where layout.unified == nil:
                layout.unified = mountPoint
                let controllers = readSmallFile(mountPoint + "/cgroup.controllers") ?? ""
                layout.unifiedControllers = Set(controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            case "cgroup":
                for option in halves[1][2].split(separator: ",") where ["cpu", "cpuacct", "memory", "pids", "freezer"].contains(option) {
                    if layout.legacy[String(option)] == nil { layout.legacy[String(option)] = mountPoint }
                }
            default:
                break
            }
        }
        return layout
    }
}

/// A small kernel file (/proc, /sys) read whole, nil when it cannot be.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n < 0, errno == EINTR { continue }
        guard n > 0 else { break }
        bytes += chunk[..<n]
        if bytes.count > 16 << 20 { break }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Writes `value` to a kernel file (a cgroup's control file); false when the kernel refused it.
@discardableResult
func writeSmallFile(_ path: String, _ value: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return value.withCString { write(fd, $0, strlen($0)) } == value.utf8.count
}
