import CShim
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who may use the control socket: root, the proxy's own user, and members of the `netlab`
/// group when there is one.
///
/// The socket is abstract, so any process in the network namespace can connect to it (for a
/// proxy run by systemd on the host: every local user), and `flows` shows every tunnelled
/// flow's inner addresses and ports. The kernel tells who connected (SO_PEERCRED), before a
/// byte is read.
struct ControlAccess: Sendable, Equatable {
    /// The client's credentials: what SO_PEERCRED reports, and the process's groups.
    struct Client: Sendable, Equatable {
        var pid: Int32
        var uid: UInt32
        var gid: UInt32
        var groups: [UInt32]

        init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32]) {
            self.pid = pid
            self.uid = uid
            self.gid = gid
            self.groups = groups
        }
    }

    /// The one line a refused client gets, and `netlab proxy status` prints.
    static let refusal = "permission denied: run as root or join group netlab"

    let ownUID: UInt32
    /// The `netlab` group's id, nil when the group does not exist.
    let netlabGroup: UInt32?

    init(ownUID: UInt32, netlabGroup: UInt32?) {
        self.ownUID = ownUID
        self.netlabGroup = netlabGroup
    }

    /// The rule for this process: its effective user, and the `netlab` group as it is now.
    static func current() -> ControlAccess {
        ControlAccess(ownUID: geteuid(), netlabGroup: groupID("netlab"))
    }

    func allows(_ client: Client) -> Bool {
        if client.uid == 0 || client.uid == ownUID { return true }
        guard let netlabGroup else { return false }
        return client.gid == netlabGroup || client.groups.contains(netlabGroup)
    }

    /// The credentials of the process at the other end of a connected Unix socket, with its
    /// supplementary groups from /proc (the kernel's SO_PEERCRED carries only the primary one).
    static func client(of descriptor: Int32) -> Client? {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        guard cshim_peer_credentials(descriptor, &pid, &uid, &gid) == 0 else { return nil }
        return Client(pid: pid, uid: uid, gid: gid, groups: groups(of: pid))
    }

    /// The `Groups:` line of /proc/PID/status; empty when the process is gone.
    static func groups(of pid: Int32) -> [UInt32] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/status") else { return [] }
        let text = String(decoding: data.prefix(8192), as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") }) else { return [] }
        return line.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
    }

    private static func groupID(_ name: String) -> UInt32? {
        var group = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getgrnam_r(name, &group, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return group.gr_gid
    }
}
