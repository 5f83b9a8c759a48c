import Packet
@testable import Proxy
import Testing
import Tun

/// The worker's two paths fed bytes through stand-ins for the TUN queue, the underlay socket
/// and the sender: no namespace, no thread.
@Suite("Proxy worker on bytes")
struct ProxyWorkerTests {
    static let peer = SocketEndpoint("192.0.2.2:4789")!
    static let hostMAC = MACAddress("02:00:00:00:00:0a")!
    static let ours = ProxyEngine.mac(vni: 42, listen: SocketEndpoint("192.0.2.1:4789")!)

    struct Rig {
        let device = FakeDevice()
        let source = FakeSource()
        let sink = FakeSink()
        let worker: ProxyWorker

        init() throws {
            let engine = try ProxyEngineTests.engine()
            // Index 1: the shared neighbour and path housekeeping is worker 0's, and stays out.
            worker = ProxyWorker(index: 1, device: device, source: source, sender: sink, poller: nil, socketBit: 0,
                                 configuration: engine.configuration, mtu: 1450, neighbors: NeighborTable(),
                                 paths: PathMTUMonitor(listen: SocketEndpoint("192.0.2.1:4789")!, peers: [ProxyWorkerTests.peer],
                                                       ceiling: 1500, overhead: 50),
                                 recorder: nil)
        }

        var counters: ProxyCounters { worker.state.withLock { $0.counters } }

        /// The peer answers the ARP request for 10.10.0.2.
        func learnHost(now: UInt64) {
            let arp = ProxyEngineNeighborTests.arp(2, sender: ProxyWorkerTests.hostMAC, senderIP: "10.10.0.2", targetIP: "10.10.0.1")
            let frame = ProxyEngineNeighborTests.frame(from: ProxyWorkerTests.hostMAC, to: ProxyWorkerTests.ours,
                                                       etherType: EtherType.arp, arp)
            source.toReceive.append((frame, ProxyWorkerTests.peer))
            worker.forwardBatch(fromDevice: false, fromUnderlay: true, now: now)
        }
    }

    /// IPv4/UDP 10.10.0.1 -> 10.10.0.2 with `data` bytes.
    static func udp(data: Int = 32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0x42, count: 28 + data)
        bytes.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.10.0.1")!, destination: IPv4Address("10.10.0.2")!,
                                      protocolNumber: IPProtocol.udp, totalLength: raw.count)
            _ = try? UDPHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: raw[20...]), sourcePort: 40_000,
                                     destinationPort: 5201, payloadLength: data)
        }
        return bytes
    }

    /// An IPv4/TCP super-packet 10.10.0.1 -> 10.10.0.2 as a TUN device with TSO hands it over.
    static func tcpSuperPacket(payload: Int, mss: Int) -> ([UInt8], VirtioNetHeader) {
        var packet = [UInt8](repeating: 0, count: 40 + payload)
        packet.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.10.0.1")!, destination: IPv4Address("10.10.0.2")!,
                                      protocolNumber: IPProtocol.tcp, totalLength: raw.count, identification: 7)
            let tcp = UnsafeMutableRawBufferPointer(rebasing: raw[20...])
            let header: [UInt8] = [0x9C, 0x40, 0x14, 0x51, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 0x50, 0x18, 0x01, 0xF5, 0, 0, 0, 0]
            for (i, b) in header.enumerated() { tcp[i] = b }
            for i in 20..<tcp.count { tcp[i] = UInt8(truncatingIfNeeded: i * 13) }
            let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: raw[12..<20]), upperLayerLength: tcp.count, isFragment: false)
            let partial = context.pseudoHeaderSum(protocolNumber: IPProtocol.tcp, length: tcp.count).folded
            tcp[16] = UInt8(partial >> 8)
            tcp[17] = UInt8(partial & 0xFF)
        }
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: .tcpv4, headerLength: 40,
                                     gsoSize: UInt16(mss), checksumStart: 20, checksumOffset: 16)
        return (packet, header)
    }

    @Test("a packet held for its peer's MAC leaves once the answer comes: counted once, from its flow's source port")
    func heldThenSent() throws {
        let rig = try Rig()
        let packet = Self.udp()
        rig.device.toRead.append((packet, VirtioNetHeader()))
        rig.worker.forwardBatch(fromDevice: true, fromUnderlay: false, now: 1_000)
        #expect(rig.sink.sentNow.count == 1, "an ARP request for 10.10.0.2")
        #expect(rig.sink.queued.isEmpty)
        #expect(rig.counters.tunPacketsIn == 1)

        rig.learnHost(now: 2_000)
        rig.worker.forwardBatch(fromDevice: false, fromUnderlay: false, now: 3_000)
        let sent = try #require(rig.sink.queued.first)
        #expect(rig.sink.queued.count == 1)
        #expect(sent.peer == 0 && sent.segmentSize == 0 && sent.bytes.count == 22 + packet.count)
        #expect(sent.flowHash == packet.withUnsafeBytes { FlowKey(packet: $0)?.stableHash })
        #expect(Array(sent.bytes[22...]) == packet)
        let counters = rig.counters
        #expect(counters.tunPacketsIn == 1, "a held packet is counted when read, not again when sent")
        #expect(counters.peerPacketsOut == [1] && counters.underlayDatagramsOut == 1)
        #expect(counters.drops.allSatisfy { $0 == 0 }, "\(counters.drops)")
    }

    @Test("a TCP super-packet leaves as one run of VXLAN datagrams, a valid segment in each")
    func superPacketRun() throws {
        let rig = try Rig()
        rig.learnHost(now: 1_000)
        let (packet, header) = Self.tcpSuperPacket(payload: 10_000, mss: 1_400)
        rig.device.toRead.append((packet, header))
        rig.worker.forwardBatch(fromDevice: true, fromUnderlay: false, now: 2_000)
        let run = try #require(rig.sink.queued.first)
        #expect(rig.sink.queued.count == 1)
        let stride = 22 + 40 + 1_400
        #expect(run.segmentSize == stride)
        var payload: [UInt8] = []
        var offset = 0
        var segments = 0
        while offset < run.bytes.count {
            let datagram = Array(run.bytes[offset..<min(offset + stride, run.bytes.count)])
            try datagram.withUnsafeBytes { raw in
                #expect(try VXLANHeader(raw).vni == 42)
                let ethernet = try EthernetHeader(UnsafeRawBufferPointer(rebasing: raw[8...]))
                #expect(ethernet.destination == Self.hostMAC && ethernet.source == Self.ours)
                let ip = try IPv4Header(ethernet.payload)
                #expect(ip.isChecksumValid && ip.totalLength <= 1450)
                let tcp = try TCPHeader(ip.payload)
                #expect(tcp.checksumStatus(in: ip.context) == true)
                #expect(tcp.sequenceNumber == 0x1000 + UInt32(payload.count))
                payload += Array(tcp.payload)
            }
            segments += 1
            offset += stride
        }
        #expect(segments == 8)
        #expect(payload == Array(packet[40...]))
        let counters = rig.counters
        #expect(counters.tunPacketsIn == 8 && counters.peerPacketsOut == [8] && counters.underlayDatagramsOut == 8)
    }

    @Test("a datagram from the peer reaches the device once; a malformed one is counted and dropped")
    func ingress() throws {
        let rig = try Rig()
        var inner = Self.udp()
        // From the peer's side: 10.10.0.2 -> 10.10.0.1.
        inner.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address("10.10.0.2")!, destination: IPv4Address("10.10.0.1")!,
                                      protocolNumber: IPProtocol.udp, totalLength: raw.count)
        }
        rig.source.toReceive.append((ProxyEngineTests.vxlan(vni: 42, etherType: EtherType.ipv4, inner), Self.peer))
        rig.source.toReceive.append(([0x08, 0, 0], Self.peer))
        rig.worker.forwardBatch(fromDevice: false, fromUnderlay: true, now: 1_000)
        #expect(rig.device.enqueued == [inner])
        #expect(rig.device.flushes == 1, "runs are written at the end of the batch")
        let counters = rig.counters
        #expect(counters.underlayDatagramsIn == 2 && counters.peerPacketsIn == [1] && counters.tunPacketsOut == 1)
        #expect(counters.drops(.malformed) == 1)
    }
}
