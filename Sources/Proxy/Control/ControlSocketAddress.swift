#if canImport(Glibc)
import Glibc
#endif

/// The proxy's control socket address: an abstract Unix socket named after the TUN device.
///
/// Abstract names belong to the network namespace, like the TUN device itself, so two proxies
/// in two lab nodes may both call their device vx0 and never meet, and nothing is left in the
/// file system after a crash.
enum ControlSocketAddress {
    static func name(tun: String) -> String { "netlab-proxy.\(tun)" }

    /// Calls `body` with the sockaddr_un for `name` and its length.
    static func with<R>(_ name: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8.prefix(100))
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            path[0] = 0
            for (i, b) in bytes.enumerated() { path[i + 1] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + bytes.count)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }
}
