import Packet
import Proxy

/// An engine that has learned its peer's MAC, and the buffers a worker would hand it.
final class ProxyBench {
    let engine: ProxyEngine
    let flows = FlowTable(capacity: 65_536)
    let slot = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 64)
    let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 64)
    let datagram = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 64)
    let datagramLength: Int
    static let headroom = 128
    static let icmpLength = 84
    static let peer = IPAddress("192.0.2.2")!

    init() throws {
        let configuration = try ProxyConfigurationParser.parse("""
            [tun]
            addresses = ["10.10.0.1/24"]
            [underlay]
            listen = "192.0.2.1:4789"
            [[peers]]
            endpoint = "192.0.2.2:4789"
            vni = 42
            routes = ["10.10.0.0/24"]
            """, file: "bench.toml")
        engine = ProxyEngine(configuration: configuration, mtu: 1450)
        // A datagram from the peer: VXLAN, Ethernet, IPv4/TCP with 100 bytes of payload.
        datagram.initializeMemory(as: UInt8.self, repeating: 0x61)
        let inner = 20 + 20 + 100
        datagramLength = VXLANHeader.length + EthernetHeader.length + inner
        try VXLANHeader.write(into: datagram, vni: 42)
        try EthernetHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: datagram[8...]),
                                 destination: ProxyEngine.mac(vni: 42, listen: SocketEndpoint("192.0.2.1:4789")!),
                                 source: MACAddress("02:00:00:00:00:bb")!, etherType: EtherType.ipv4)
        let ip = UnsafeMutableRawBufferPointer(rebasing: datagram[22..<(22 + inner)])
        try IPv4Header.write(into: ip, source: IPv4Address("10.10.0.2")!, destination: IPv4Address("10.10.0.1")!,
                             protocolNumber: IPProtocol.tcp, totalLength: inner)
        let tcp: [UInt8] = [0x9C, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0x01, 0x00, 0, 0, 0, 0]
        for (i, byte) in tcp.enumerated() { ip[20 + i] = byte }
        // Learns the peer's MAC, so that egress sends.
        _ = ingress()
        // An ICMP echo request from the TUN address to the peer's side.
        slot.initializeMemory(as: UInt8.self, repeating: 0x62)
        let packet = UnsafeMutableRawBufferPointer(rebasing: slot[Self.headroom..<(Self.headroom + Self.icmpLength)])
        try IPv4Header.write(into: packet, source: IPv4Address("10.10.0.1")!, destination: IPv4Address("10.10.0.2")!,
                             protocolNumber: IPProtocol.icmp, totalLength: Self.icmpLength)
        packet[20] = 8
    }

    deinit {
        slot.deallocate()
        reply.deallocate()
        datagram.deallocate()
    }

    func egress() -> Int {
        switch engine.egress(slot: slot, packetOffset: Self.headroom, length: Self.icmpLength, reply: reply) {
        case let .send(_, start, length, hash): start &+ length &+ Int(hash)
        default: -1
        }
    }

    func ingress() -> Int {
        let view = UnsafeMutableRawBufferPointer(rebasing: datagram[..<datagramLength])
        switch engine.ingress(view, from: Self.peer, reply: reply) {
        case let .deliver(_, start, length): return start &+ length
        default: return -1
        }
    }

    func record(now: UInt64) -> Int {
        let packet = UnsafeRawBufferPointer(rebasing: slot[Self.headroom..<(Self.headroom + Self.icmpLength)])
        guard let key = FlowKey(packet: packet) else { return -1 }
        flows.record(key, bytes: Self.icmpLength, now: now)
        return flows.count
    }
}
