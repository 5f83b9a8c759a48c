import CShim
#if canImport(Glibc)
import Glibc
#endif

/// A TUN or TAP device that outlives the descriptor that made it (TUNSETPERSIST), as a lab
/// node's interface: a program attaches to it later by name.
public enum PersistentTun {
    /// Creates `name` in the calling thread's namespace (run inside `NetworkNamespace.run`).
    /// A program attaching later must ask for the same `multiQueue` (the kernel refuses
    /// otherwise); offloads it may choose for itself.
    public static func create(_ name: String, tap: Bool, multiQueue: Bool = false) throws(NetlinkError) {
        var buffer = [CChar](repeating: 0, count: 16)
        for (i, byte) in name.utf8.prefix(15).enumerated() { buffer[i] = CChar(bitPattern: byte) }
        let fd = cshim_tun_open(&buffer, tap ? 1 : 0, multiQueue ? 1 : 0, 0, 0)
        guard fd >= 0 else { throw Self.error("create \(tap ? "tap" : "tun") \(name)", -fd) }
        defer { close(fd) }
        let rc = cshim_tun_set_persist(fd, 1)
        guard rc == 0 else { throw Self.error("make \(name) persistent", -rc) }
    }

    private static func error(_ operation: String, _ code: Int32) -> NetlinkError {
        let hint: String
        switch code {
        case ENOENT: hint = " (no /dev/net/tun: load the tun module or create the node)"
        case EPERM: hint = " (needs CAP_NET_ADMIN: run as root)"
        case EBUSY: hint = " (the name is in use by another device)"
        default: hint = ""
        }
        return NetlinkError(operation, reason: String(cString: strerror(code)) + hint, errno: code)
    }
}
