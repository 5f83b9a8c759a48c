import CNetlink
#if canImport(Glibc)
import Glibc
#endif

/// A failed netlink, namespace or device operation: what was being done and the kernel's reason.
public struct NetlinkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being done, e.g. `add veth eth0`.
    public let operation: String
    /// The kernel's or libnl's reason, e.g. `Object exists`.
    public let reason: String
    /// The errno, when the failure came with one (negative libnl codes are mapped).
    public let errno: Int32?

    public init(_ operation: String, reason: String, errno: Int32? = nil) {
        self.operation = operation
        self.reason = reason
        self.errno = errno
    }

    /// From a negative libnl return code.
    static func libnl(_ operation: String, _ code: Int32) -> NetlinkError {
        let reason = nl_geterror(code).map { String(cString: $0) } ?? "netlink error \(code)"
        return NetlinkError(operation, reason: reason)
    }

    /// From a system call's errno.
    static func system(_ operation: String, _ errno: Int32) -> NetlinkError {
        NetlinkError(operation, reason: String(cString: strerror(errno)), errno: errno)
    }

    public var description: String { "\(operation): \(reason)" }
}
