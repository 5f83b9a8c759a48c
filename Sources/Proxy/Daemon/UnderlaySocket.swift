import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// The proxy's UDP socket on the underlay: bound to `[underlay] listen`, non-blocking,
/// receiving in batches with recvmmsg into buffers made once.
public final class UnderlaySocket {
    public let descriptor: Int32
    public let isIPv6: Bool
    private let batch: Int
    private let slotSize: Int
    private let buffers: UnsafeMutableRawBufferPointer
    private let vectors: UnsafeMutablePointer<iovec>
    private let lengths: UnsafeMutablePointer<UInt32>
    private let addresses: UnsafeMutablePointer<sockaddr_storage>

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(listen: SocketEndpoint, batch: Int = 64, slotSize: Int = 65_536) throws(Failure) {
        let batch = min(batch, 64)
        isIPv6 = listen.address.isIPv6
        let fd = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_storage()
        let length = Self.fill(&address, listen)
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "bind \(listen): \(reason) (is the address on an interface of this namespace, and the port free?)")
        }
        descriptor = fd
        self.batch = batch
        self.slotSize = slotSize
        buffers = .allocate(byteCount: batch * slotSize, alignment: 64)
        vectors = .allocate(capacity: batch)
        lengths = .allocate(capacity: batch)
        addresses = .allocate(capacity: batch)
    }

    deinit {
        close(descriptor)
        buffers.deallocate()
        vectors.deallocate()
        lengths.deallocate()
        addresses.deallocate()
    }

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

    /// Receives up to a batch of datagrams; calls `body` with each payload and its sender's
    /// address; returns how many.
    public func receive(_ body: (UnsafeRawBufferPointer, IPAddress) -> Void) -> Int {
        for i in 0..<batch {
            vectors[i] = iovec(iov_base: buffers.baseAddress.map { $0 + i * slotSize }, iov_len: slotSize)
        }
        let n = cshim_recvmmsg(descriptor, vectors, addresses, lengths, UInt32(batch))
        guard n > 0 else { return 0 }
        for i in 0..<Int(n) {
            let payload = UnsafeRawBufferPointer(rebasing: buffers[(i * slotSize)..<(i * slotSize + Int(lengths[i]))])
            let raw = UnsafeRawBufferPointer(start: addresses + i, count: MemoryLayout<sockaddr_storage>.size)
            let family = raw.load(as: sa_family_t.self)
            let source: IPAddress = family == sa_family_t(AF_INET6)
                ? .v6(IPv6Address(raw, at: 8))
                : .v4(IPv4Address(raw, at: 4))
            body(payload, source)
        }
        return Int(n)
    }

    /// Sends one datagram to `endpoint`.
    @discardableResult
    public func send(_ payload: UnsafeRawBufferPointer, to endpoint: SocketEndpoint) -> Bool {
        var address = sockaddr_storage()
        let length = Self.fill(&address, endpoint)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, payload.baseAddress, payload.count, 0, $0, length) }
        }
        return sent == payload.count
    }
}
