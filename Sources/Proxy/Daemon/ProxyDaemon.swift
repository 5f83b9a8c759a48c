import Netlink
import Packet
import Tun
#if canImport(Glibc)
import Glibc
#endif

/// Runs a proxy: makes and configures the TUN device, binds the underlay socket, and moves
/// packets both ways through a `ProxyEngine` until told to stop, then removes the device.
///
/// This first version runs one worker on the calling thread (which must be in the namespace the
/// proxy serves) and polls both descriptors; TUN offloads, more queues, batching on send,
/// metrics and the control socket come next (issue 5).
public final class ProxyDaemon {
    /// Packets and drops, by direction and reason.
    public struct Counters: Sendable, Equatable {
        public var fromTun = 0
        public var toTun = 0
        public var toUnderlay = 0
        public var fromUnderlay = 0
        public var drops: [DropReason: Int] = [:]
    }

    public let configuration: ProxyConfiguration
    public private(set) var counters = Counters()
    private let engine: ProxyEngine
    private let device: TunDevice
    private let underlay: UnderlaySocket

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(configuration: ProxyConfiguration) throws(Failure) {
        self.configuration = configuration
        let mtu = configuration.effectiveMTU(underlayMTU: 1500)
        do {
            device = try TunDevice(.init(name: configuration.tun.name))
            let socket = try RouteSocket()
            try? NetworkNamespace.writeSysctl("net.ipv6.conf.\(device.name).accept_dad", "0")
            try socket.change(device.name, up: true, mtu: mtu)
            for address in configuration.tun.addresses { try socket.addAddress(address, to: device.name) }
        } catch {
            throw Failure(description: "tun \(configuration.tun.name): \(error)")
        }
        do {
            underlay = try UnderlaySocket(listen: configuration.listen)
        } catch {
            throw Failure(description: "underlay: \(error)")
        }
        engine = ProxyEngine(configuration: configuration, mtu: mtu)
    }

    /// Forwards until `shouldStop` returns true (checked at least every 200 ms), then closes
    /// the TUN device, which removes it.
    public func run(until shouldStop: () -> Bool) {
        let batch = PacketBatch(capacity: 64, headroom: 96, maximumPacketSize: 65_535)
        let tunBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 64)
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 64)
        defer {
            tunBuffer.deallocate()
            reply.deallocate()
            device.close()
        }
        let queue = device.queues[0]
        var fds = [pollfd(fd: queue.descriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: underlay.descriptor, events: Int16(POLLIN), revents: 0)]
        while !shouldStop() {
            guard poll(&fds, 2, 200) > 0 else { continue }
            if fds[0].revents != 0 { fromTun(queue, batch, reply) }
            if fds[1].revents != 0 { fromUnderlay(queue, tunBuffer, reply) }
        }
    }

    private func fromTun(_ queue: TunQueue, _ batch: PacketBatch, _ reply: UnsafeMutableRawBufferPointer) {
        guard let n = try? queue.read(into: batch), n > 0 else { return }
        for i in 0..<n {
            counters.fromTun += 1
            let slot = batch.slot(i)
            switch engine.egress(slot: slot, packetOffset: batch.headroom, length: batch.length(i), reply: reply) {
            case let .send(peer, start, length, _):
                if underlay.send(UnsafeRawBufferPointer(rebasing: slot[start..<(start + length)]),
                                 to: configuration.peers[peer].endpoint) { counters.toUnderlay += 1 }
            case let .tooBig(length):
                try? queue.write(UnsafeRawBufferPointer(rebasing: reply[..<length]))
                counters.drops[.tooBig, default: 0] += 1
            case let .resolve(peer, length):
                underlay.send(UnsafeRawBufferPointer(rebasing: reply[..<length]), to: configuration.peers[peer].endpoint)
                counters.drops[.unresolved, default: 0] += 1
            case let .drop(reason):
                counters.drops[reason, default: 0] += 1
            }
        }
    }

    private func fromUnderlay(_ queue: TunQueue, _ tun: UnsafeMutableRawBufferPointer, _ reply: UnsafeMutableRawBufferPointer) {
        _ = underlay.receive { payload, source in
            counters.fromUnderlay += 1
            switch engine.ingress(payload, from: source, tun: tun, reply: reply) {
            case let .deliver(length):
                try? queue.write(UnsafeRawBufferPointer(rebasing: tun[..<length]))
                counters.toTun += 1
            case let .reply(peer, length):
                underlay.send(UnsafeRawBufferPointer(rebasing: reply[..<length]), to: configuration.peers[peer].endpoint)
            case let .drop(reason):
                counters.drops[reason, default: 0] += 1
            }
        }
    }
}
