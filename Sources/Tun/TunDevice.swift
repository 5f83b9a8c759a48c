import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// A TUN (IP) or TAP (Ethernet) device: created or attached by name, with one queue per
/// file descriptor (IFF_MULTI_QUEUE) so that one worker per core reads and writes without locks.
///
/// The device lives in the network namespace of the thread that makes it; its queues work
/// from any thread afterwards. Configure addresses, MTU and link state with the Netlink
/// module's `RouteSocket`. A non-persistent device disappears when its last queue closes.
public final class TunDevice {
    public enum Mode: Sendable { case tun, tap }

    /// What to create or attach.
    public struct Configuration: Sendable {
        /// A name, or a pattern like `tun%d` for the kernel to complete.
        public var name: String
        public var mode: Mode
        /// Number of queues (file descriptors); more than one sets IFF_MULTI_QUEUE.
        public var queues: Int
        /// Offloads to ask for (TUN only); empty turns IFF_VNET_HDR off altogether. Callers see
        /// none of it: the queues cut and merge super-packets themselves.
        public var offloads: TunOffloads
        public var persistent: Bool
        public var owner: uid_t?
        public var group: gid_t?

        public init(name: String = "tun%d", mode: Mode = .tun, queues: Int = 1, offloads: TunOffloads = [],
                    persistent: Bool = false, owner: uid_t? = nil, group: gid_t? = nil) {
            self.name = name
            self.mode = mode
            self.queues = queues
            self.offloads = offloads
            self.persistent = persistent
            self.owner = owner
            self.group = group
        }
    }

    /// The device's name as the kernel gave it.
    public let name: String
    public let mode: Mode
    public let queues: [TunQueue]
    /// The offloads the kernel accepted (a subset of those asked for).
    public let offloads: TunOffloads
    /// True when every packet carries a virtio-net header.
    public let hasVirtioHeader: Bool

    /// Creates the device, or attaches to an existing one of the same name and flags.
    public init(_ configuration: Configuration) throws(TunError) {
        guard configuration.name.utf8.count <= 15 else { throw .nameTooLong(name: configuration.name) }
        // A TAP device's super-packets start with an Ethernet header, which the segmenting and
        // coalescing here (IP packets) do not read.
        guard configuration.mode == .tun || configuration.offloads.isEmpty else {
            throw .offloadsNeedTUN(name: configuration.name)
        }
        let count = max(configuration.queues, 1)
        let vnet = !configuration.offloads.isEmpty
        var name = configuration.name
        var queues: [TunQueue] = []
        var accepted: TunOffloads = []
        for index in 0..<count {
            var buffer = [CChar](repeating: 0, count: 16)
            for (i, byte) in name.utf8.prefix(15).enumerated() { buffer[i] = CChar(bitPattern: byte) }
            let fd = cshim_tun_open(&buffer, configuration.mode == .tap ? 1 : 0, count > 1 ? 1 : 0, vnet ? 1 : 0, 1)
            guard fd >= 0 else { throw TunError.from(-fd, name: name, operation: "TUNSETIFF") }
            name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if index == 0 {
                if vnet { accepted = Self.negotiate(fd: fd, asked: configuration.offloads) }
                var steps: [(String, () -> Int32)] = []
                if configuration.persistent { steps.append(("TUNSETPERSIST", { cshim_tun_set_persist(fd, 1) })) }
                if let owner = configuration.owner { steps.append(("TUNSETOWNER", { cshim_tun_set_owner(fd, Int32(owner)) })) }
                if let group = configuration.group { steps.append(("TUNSETGROUP", { cshim_tun_set_group(fd, Int32(group)) })) }
                for (operation, step) in steps {
                    let rc = step()
                    if rc != 0 {
                        Glibc.close(fd)
                        throw TunError.from(-rc, name: name, operation: operation)
                    }
                }
            } else if vnet {
                _ = cshim_tun_set_offload(fd, accepted.rawValue)
            }
            queues.append(TunQueue(descriptor: fd, index: index, virtioHeader: vnet, offloads: accepted, mode: configuration.mode))
        }
        self.name = name
        self.mode = configuration.mode
        self.queues = queues
        self.offloads = accepted
        self.hasVirtioHeader = vnet
    }

    /// Asks for `asked`, dropping what the kernel refuses: UDP segmentation first (Linux 6.2+),
    /// then ECN, then everything but the checksum.
    private static func negotiate(fd: Int32, asked: TunOffloads) -> TunOffloads {
        var attempts: [TunOffloads] = [asked, asked.subtracting([.uso4, .uso6]),
                                       asked.subtracting([.uso4, .uso6, .tsoECN]), asked.intersection(.checksum), []]
        attempts = attempts.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        for offloads in attempts where cshim_tun_set_offload(fd, offloads.rawValue) == 0 {
            return offloads
        }
        return []
    }

    /// Removes a persistent device (clears TUNSETPERSIST), so it goes when its queues close.
    public func removePersistence() throws(TunError) {
        guard let queue = queues.first else { return }
        let rc = cshim_tun_set_persist(queue.descriptor, 0)
        guard rc == 0 else { throw TunError.from(-rc, name: name, operation: "TUNSETPERSIST 0") }
    }

    /// Closes every queue; a non-persistent device disappears.
    public func close() {
        for queue in queues { queue.close() }
    }
}
