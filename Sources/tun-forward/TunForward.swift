import Foundation
import Netlink
import Packet
import Tun

/// `tun-forward NS_A NS_B [--queues N] [--offload] [--split [--gro]]`
///
/// The forwarder of bench/tun.sh and the Tun tests: a TUN device `tunfw` in each namespace
/// (10.99.0.1/24 in A, 10.99.0.2/24 in B), and one thread per queue and direction copying
/// packets across. With --offload the devices get virtio-net offloads and GSO super-packets
/// pass through whole; with --split as well, the Tun queue cuts each super-packet into
/// MTU-sized segments as it reads, and with --gro the queue merges those segments again as it
/// writes, as a tunnel does with segments it receives. Prints "ready" once traffic can flow;
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
///
/// The three modes are the three ways to use the Tun library: `--offload` alone passes
/// super-packets through whole (`readSuperPackets` and `write(batch)`); `--split` reads plain
/// segments (`read(into:)`, the queue cuts them) and writes each alone; `--gro` as well writes
/// them through `enqueue`/`flush`, which merges each run into one super-packet again.
struct Direction: @unchecked Sendable {
    let source: TunQueue
    let destination: TunQueue
    let poller: TunPoller
    let split: Bool
    let gro: Bool
    let counters: Counters

    func run() {
        let batch = PacketBatch(capacity: 64)
        var packets = 0
        var superPackets = 0
        var segments = 0
        while !poller.isStopped {
            _ = poller.wait(milliseconds: 500)
            if split {
                guard let n = try? source.read(into: batch), n > 0 else { continue }
                segments += n
                if gro {
                    try? destination.write(batch)
                } else {
                    for i in 0..<n { try? destination.write(batch.packet(i)) }
                }
            } else {
                guard let n = try? source.readSuperPackets(into: batch), n > 0 else { continue }
                packets += n
                for i in 0..<n where (try? batch.superPacket(i)) != nil { superPackets += 1 }
                try? destination.write(batch)
            }
        }
        counters.add(packets: packets, superPackets: superPackets, segments: segments)
    }
}
