import Foundation
import Netlink
import Packet
import Testing
import Tun

/// With offloads on, a TCP transfer through a TUN device arrives as GSO super-packets, which the
/// queue cuts into valid segments as it reads and merges again as they are written; the stream
/// reassembles to the bytes sent. The caller sees plain packets only.
@Suite("TUN offloads", .serialized)
struct TunOffloadTests {
    final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var segments = 0
        var badSegments: [String] = []
        var largest = 0
        func record(segments count: Int, largest size: Int, bad: [String]) {
            lock.lock()
            segments += count
            largest = max(largest, size)
            badSegments += bad
            lock.unlock()
        }
    }

    /// Checks one segment: IPv4 header checksum, TCP checksum, size.
    static func problems(_ segment: UnsafeRawBufferPointer) -> [String] {
        var walker = LayerWalker(segment, linkType: .raw)
        var found: [String] = []
        while let layer = try? walker.next() {
            switch layer {
            case let .ipv4(ip) where !ip.isChecksumValid: found.append("bad IPv4 checksum")
            case let .tcp(tcp, context) where tcp.checksumStatus(in: context) != true: found.append("bad TCP checksum")
            default: break
            }
        }
        if segment.count > 1500 { found.append("segment of \(segment.count) bytes") }
        return found
    }

    @Test("a TCP transfer is read as valid segments cut from super-packets, merged again on write, and reassembles")
    func tcpTransfer() throws {
        let prefix = "tno\(getpid())"
        let a = try NetworkNamespace.create("\(prefix)a")
        defer { try? a.delete() }
        let b = try NetworkNamespace.create("\(prefix)b")
        defer { try? b.delete() }
        func make(_ ns: NetworkNamespace, _ address: String) throws -> TunDevice {
            try ns.run {
                let device = try TunDevice(.init(name: "tun0", offloads: .standard))
                try NetworkNamespace.writeSysctl("net.ipv6.conf.tun0.disable_ipv6", "1")
                let socket = try RouteSocket()
                try socket.change("lo", up: true)
                try socket.addAddress(IPPrefix(address)!, to: "tun0")
                try socket.change("tun0", up: true, mtu: 1500)
                return Box(device)
            }.value
        }
        let deviceA = try make(a, "10.96.0.1/24")
        defer { deviceA.close() }
        let deviceB = try make(b, "10.96.0.2/24")
        defer { deviceB.close() }
        #expect(deviceA.offloads.contains([.checksum, .tso4]))

        let tally = Tally()
        let forward = try TunPoller([deviceA.queues[0]])
        let backward = try TunPoller([deviceB.queues[0]])
        let boxA = Box(deviceA)
        let boxB = Box(deviceB)
        // A to B: segments as the queue cuts them, merged again on B's queue as they are written.
        let forwardThread = Thread {
            let batch = PacketBatch(capacity: 32)
            while !forward.isStopped {
                _ = forward.wait(milliseconds: 200)
                guard let n = try? boxA.value.queues[0].read(into: batch), n > 0 else { continue }
                var bad: [String] = []
                var largest = 0
                for i in 0..<n {
                    bad += Self.problems(batch.packet(i))
                    largest = max(largest, batch.length(i))
                    try? boxB.value.queues[0].enqueue(batch.packet(i))
                }
                try? boxB.value.queues[0].flush()
                tally.record(segments: n, largest: largest, bad: bad)
            }
        }
        // B to A (the ACKs): super-packets, if any, passed through whole.
        let backwardThread = Thread {
            let batch = PacketBatch(capacity: 32)
            while !backward.isStopped {
                _ = backward.wait(milliseconds: 200)
                guard (try? boxB.value.queues[0].readSuperPackets(into: batch)) != nil else { continue }
                try? boxA.value.queues[0].write(batch)
            }
        }
        forwardThread.start()
        backwardThread.start()
        defer {
            forward.stop()
            backward.stop()
            while !forwardThread.isFinished || !backwardThread.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        }

        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["ip", "netns", "exec", b.name, "python3", "-c", """
            import hashlib, socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("10.96.0.2", 6000)); s.listen(1); s.settimeout(20)
            c, _ = s.accept(); h = hashlib.sha256(); n = 0
            while True:
                b = c.recv(65536)
                if not b: break
                h.update(b); n += len(b)
            print(n, h.hexdigest())
            """]
        let output = Pipe()
        server.standardOutput = output
        try server.run()
        Thread.sleep(forTimeInterval: 0.3)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = ["ip", "netns", "exec", a.name, "python3", "-c", """
            import hashlib, socket, time
            data = bytes(range(256)) * (8 << 12)
            for i in range(50):
                try: c = socket.create_connection(("10.96.0.2", 6000), timeout=5); break
                except OSError: time.sleep(0.1)
            c.sendall(data); c.close()
            print(len(data), hashlib.sha256(data).hexdigest())
            """]
        let sent = Pipe()
        client.standardOutput = sent
        try client.run()
        client.waitUntilExit()
        server.waitUntilExit()
        let expected = String(decoding: sent.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let got = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!expected.isEmpty && got == expected, "sent \(expected) got \(got)")
        tally.lock.lock()
        defer { tally.lock.unlock() }
        forward.stop()
        backward.stop()
        while !forwardThread.isFinished || !backwardThread.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        let superPackets = deviceA.queues[0].superPacketsRead
        #expect(superPackets > 0, "no GSO super-packets were read")
        #expect(tally.segments > superPackets, "the queue handed out \(tally.segments) segments for \(superPackets) super-packets")
        #expect(deviceB.queues[0].superPacketsWritten > 0, "no run of segments was merged on the way in")
        #expect(deviceA.queues[0].malformedReads == 0)
        #expect(tally.badSegments.isEmpty, "\(tally.badSegments.prefix(5))")
        #expect(tally.largest <= 1500)
    }
}
