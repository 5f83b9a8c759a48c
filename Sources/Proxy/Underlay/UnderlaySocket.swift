import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// A UDP socket on the underlay.
///
/// The proxy opens two kinds: receivers bound to `[underlay] listen`, one per worker with
/// SO_REUSEPORT (the kernel spreads the peers' flows over the workers) and UDP GRO on; and
/// senders bound to the listen address with an ephemeral port, a pool of which gives each inner
/// flow an outer source port of its own (RFC 7348 section 5). Every datagram carries DF.
final class UnderlaySocket: @unchecked Sendable {
    let descriptor: Int32
    let isIPv6: Bool
    /// The bound port (the listen port, or the ephemeral port of a sender).
    let port: UInt16
    /// Whether the kernel accepted UDP_GRO: datagrams may arrive coalesced.
    let hasGRO: Bool

    /// Why a socket could not be opened; the message says what to check.
    struct Failure: Error, CustomStringConvertible, Sendable {
        let description: String
    }

    /// Binds to `endpoint` (port 0: an ephemeral port).
    init(bind endpoint: SocketEndpoint, reusePort: Bool = false, gro: Bool = false) throws(Failure) {
        isIPv6 = endpoint.address.isIPv6
        let fd = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        if reusePort { _ = cshim_set_reuseport(fd) }
        _ = cshim_set_dont_fragment(fd, isIPv6 ? 1 : 0)
        var buffer: Int32 = 4 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_storage()
        let length = Self.fill(&address, endpoint)
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) } }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Failure(description: "bind \(endpoint): \(reason) (is the address on an interface of this namespace, and the port free?)")
        }
        var bound = sockaddr_storage()
        var boundLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &boundLength) } }
        port = withUnsafeBytes(of: &bound) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
        hasGRO = gro && cshim_udp_enable_gro(fd) == 0
        descriptor = fd
    }

    deinit {
        Glibc.close(descriptor)
    }

    /// Writes `endpoint` as a sockaddr_in or sockaddr_in6; returns its length.
    static func fill(_ storage: inout sockaddr_storage, _ endpoint: SocketEndpoint) -> socklen_t {
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            switch endpoint.address {
            case let .v4(a):
                raw.storeBytes(of: sa_family_t(AF_INET), toByteOffset: 0, as: sa_family_t.self)
                raw.storeBytes(of: endpoint.port.bigEndian, toByteOffset: 2, as: UInt16.self)
                raw.storeBytes(of: a.rawValue.bigEndian, toByteOffset: 4, as: UInt32.self)
                return socklen_t(MemoryLayout<sockaddr_in>.size)
            case let .v6(a):
                raw.storeBytes(of: sa_family_t(AF_INET6), toByteOffset: 0, as: sa_family_t.self)
                raw.storeBytes(of: endpoint.port.bigEndian, toByteOffset: 2, as: UInt16.self)
                raw.storeBytes(of: a.high.bigEndian, toByteOffset: 8, as: UInt64.self)
                raw.storeBytes(of: a.low.bigEndian, toByteOffset: 16, as: UInt64.self)
                return socklen_t(MemoryLayout<sockaddr_in6>.size)
            }
        }
    }

    /// The address and port in a sockaddr_in or sockaddr_in6.
    static func endpoint(of storage: UnsafeRawBufferPointer) -> SocketEndpoint {
        let port = UInt16(bigEndian: storage.load(fromByteOffset: 2, as: UInt16.self))
        let address: IPAddress = storage.load(as: sa_family_t.self) == sa_family_t(AF_INET6)
            ? .v6(IPv6Address(storage, at: 8))
            : .v4(IPv4Address(storage, at: 4))
        return SocketEndpoint(address: address, port: port)
    }

    /// Sends one datagram now (replies to ARP and neighbour solicitations: rare, not batched).
    @discardableResult
    func send(_ payload: UnsafeRawBufferPointer, to endpoint: SocketEndpoint) -> Bool {
        var address = sockaddr_storage()
        let length = Self.fill(&address, endpoint)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, payload.baseAddress, payload.count, 0, $0, length) }
        }
        return sent == payload.count
    }
}
