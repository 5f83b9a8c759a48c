#if canImport(Glibc)
import Glibc
#endif

/// Why a TUN/TAP device could not be made, attached, configured, read or written: one line
/// that says what to do.
public enum TunError: Error, Equatable, Sendable, CustomStringConvertible {
    case noDevice
    case notPermitted(name: String)
    case nameTooLong(name: String)
    case busy(name: String)
    case invalid(name: String, detail: String)
    case offloadsNeedTUN(name: String)
    case system(operation: String, errno: Int32)

    static func from(_ errno: Int32, name: String, operation: String) -> TunError {
        switch errno {
        case ENOENT, ENODEV: .noDevice
        case EPERM, EACCES: .notPermitted(name: name)
        case EBUSY: .busy(name: name)
        case EINVAL: .invalid(name: name, detail: "\(operation): \(String(cString: strerror(errno)))")
        default: .system(operation: "\(operation) \(name)", errno: errno)
        }
    }

    public var description: String {
        switch self {
        case .noDevice:
            "/dev/net/tun is missing: load the tun module (modprobe tun) or create it (mknod /dev/net/tun c 10 200)"
        case let .notPermitted(name):
            "\(name): not permitted: run as root or give the program CAP_NET_ADMIN"
        case let .nameTooLong(name):
            "'\(name)' is \(name.utf8.count) bytes: interface names are at most 15"
        case let .busy(name):
            "\(name) is in use: another program holds it, or it is a device of another kind; pick another name"
        case let .invalid(name, detail):
            "\(name): \(detail) (attaching with other flags than the device was made with, e.g. multi-queue or TAP, fails so)"
        case let .offloadsNeedTUN(name):
            "\(name): offloads are for TUN devices (IP packets); make a TAP device without them"
        case let .system(operation, errno):
            "\(operation): \(String(cString: strerror(errno)))"
        }
    }
}
