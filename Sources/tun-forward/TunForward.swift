import Foundation
import Netlink
import Packet
import Tun

/// `tun-forward NS_A NS_B [--queues N] [--offload] [--split [--gro]]`
///
/// The forwarder of bench/tun.sh and the Tun tests: a TUN device `tunfw` in each namespace
/// (10.99.0.1/24 in A, 10.99.0.2/24 in B), and one thread per queue and direction copying
/// packets across. With --offload the devices get virtio-net offloads and GSO super-packets
/// pass through whole (their virtio header with them); with --split as well, each
/// super-packet is cut into MTU-sized segments first, and with --gro those segments are
/// coalesced again before the write, as a tunnel does with segments it receives. Prints "ready" once traffic can flow;
/// SIGINT or SIGTERM stops it, removes both devices and prints the counters.
@main
enum TunForward {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        func flag(_ name: String) -> Bool {
            guard let i = arguments.firstIndex(of: name) else { return false }
            arguments.remove(at: i)
            return true
        }
        var queues = 1
        if let i = arguments.firstIndex(of: "--queues"), i + 1 < arguments.count {
            queues = Int(arguments[i + 1]) ?? 1
            arguments.removeSubrange(i...(i + 1))
        }
        let offload = flag("--offload")
        let split = flag("--split")
        let gro = flag("--gro")
        guard arguments.count == 2 else {
            FileHandle.standardError.write(Data("usage: tun-forward NS_A NS_B [--queues N] [--offload] [--split]\n".utf8))
            exit(2)
        }
        do {
            try run(a: NetworkNamespace(arguments[0]), b: NetworkNamespace(arguments[1]), queues: queues,
                    offload: offload, split: split, gro: gro)
        } catch {
            FileHandle.standardError.write(Data("tun-forward: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run(a: NetworkNamespace, b: NetworkNamespace, queues: Int, offload: Bool, split: Bool, gro: Bool) throws {
        let configuration = TunDevice.Configuration(name: "tunfw", queues: queues, offloads: offload ? .standard : [])
        let deviceA = try make(in: a, configuration, address: "10.99.0.1/24")
        let deviceB = try make(in: b, configuration, address: "10.99.0.2/24")
        let counters = Counters()
        var pollers: [TunPoller] = []
        var threads: [Thread] = []
        for q in 0..<deviceA.queues.count {
            for (source, destination) in [(deviceA.queues[q], deviceB.queues[q]), (deviceB.queues[q], deviceA.queues[q])] {
                let poller = try TunPoller([source])
                pollers.append(poller)
                let job = Direction(source: source, destination: destination, poller: poller, split: split, gro: gro,
                                    counters: counters)
                let thread = Thread { job.run() }
                thread.start()
                threads.append(thread)
            }
        }
        let stopper = Stopper(pollers)
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { stopper.stop() }
            source.resume()
            return source
        }
        print("ready: offloads \(deviceA.offloads), \(deviceA.queues.count) queue(s)")
        fflush(nil)
        // The signal sources must outlive the wait: released early, SIGINT would stay ignored.
        withExtendedLifetime(sources) {
            while threads.contains(where: { !$0.isFinished }) { usleep(50_000) }
        }
        deviceA.close()
        deviceB.close()
        print("packets \(counters.packets) super-packets \(counters.superPackets) segments \(counters.segments)")
    }

    static func make(in ns: NetworkNamespace, _ configuration: TunDevice.Configuration, address: String) throws -> TunDevice {
        try ns.run {
            let device = try TunDevice(configuration)
            let socket = try RouteSocket()
            try? NetworkNamespace.writeSysctl("net.ipv6.conf.\(device.name).disable_ipv6", "1")
            try socket.change(device.name, up: true, mtu: 1500)
            if let prefix = IPPrefix(address) { try socket.addAddress(prefix, to: device.name) }
            return UncheckedBox(device)
        }.value
    }
}

/// Carries a non-Sendable value out of a namespace thread that has finished with it.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Stops every direction's poller from the signal handler's queue.
final class Stopper: @unchecked Sendable {
    let pollers: [TunPoller]
    init(_ pollers: [TunPoller]) { self.pollers = pollers }
    func stop() { for poller in pollers { poller.stop() } }
}

/// Totals across directions, printed at exit.
final class Counters: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var packets = 0
    private(set) var superPackets = 0
    private(set) var segments = 0

    func add(packets: Int, superPackets: Int, segments: Int) {
        lock.lock()
        self.packets += packets
        self.superPackets += superPackets
        self.segments += segments
        lock.unlock()
    }
}

/// One direction of one queue pair, on its own thread; buffers are made once.
struct Direction: @unchecked Sendable {
    let source: TunQueue
    let destination: TunQueue
    let poller: TunPoller
    let split: Bool
    let gro: Bool
    let counters: Counters

    func run() {
        var coalescer = TCPCoalescer()
        let batch = PacketBatch(capacity: 64)
        let segmentSize = 1600
        let segments = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * segmentSize, alignment: 64)
        let lengths = UnsafeMutableBufferPointer<Int>.allocate(capacity: 64)
        defer {
            segments.deallocate()
            lengths.deallocate()
        }
        var packets = 0
        var superPackets = 0
        var pieces = 0
        while !poller.isStopped {
            _ = poller.wait(milliseconds: 500)
            guard let n = try? source.read(into: batch), n > 0 else { continue }
            for i in 0..<n {
                packets += 1
                let header = batch.virtioHeader(i)
                if header.gsoType != .none { superPackets += 1 }
                if split, header.gsoType != .none || header.needsChecksum,
                   let count = try? GSOSplitter.split(batch.packet(i), header: header, into: segments,
                                                       slotSize: segmentSize, lengths: lengths)
                {
                    for s in 0..<count {
                        let bytes = UnsafeRawBufferPointer(rebasing: segments[(s * segmentSize)..<(s * segmentSize + lengths[s])])
                        if gro {
                            if !coalescer.append(bytes) {
                                coalescer.finish { packet, header in try? destination.write(packet, virtio: header) }
                                _ = coalescer.append(bytes)
                            }
                        } else {
                            try? destination.write(bytes, virtio: VirtioNetHeader())
                        }
                    }
                    pieces += count
                } else {
                    coalescer.finish { packet, header in try? destination.write(packet, virtio: header) }
                    try? destination.write(batch.packet(i), virtio: header)
                }
            }
            // The end of a batch ends every run: nothing waits for the next wake-up.
            coalescer.finish { packet, header in try? destination.write(packet, virtio: header) }
        }
        counters.add(packets: packets, superPackets: superPackets, segments: pieces)
    }
}
