import Packet
import Proxy
import Testing

@Suite("Flow table")
struct FlowTableTests {
    static func udpPacket(source: String, destination: String, sourcePort: UInt16, destinationPort: UInt16) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: 28)
        packet.withUnsafeMutableBytes { raw in
            _ = try? IPv4Header.write(into: raw, source: IPv4Address(source)!, destination: IPv4Address(destination)!,
                                      protocolNumber: IPProtocol.udp, totalLength: 28)
            _ = try? UDPHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: raw[20...]), sourcePort: sourcePort,
                                     destinationPort: destinationPort, payloadLength: 0)
        }
        return packet
    }

    static func key(_ port: UInt16) -> FlowKey {
        udpPacket(source: "10.0.0.1", destination: "10.0.0.2", sourcePort: port, destinationPort: 53)
            .withUnsafeBytes { FlowKey(packet: $0)! }
    }

    @Test("keys read addresses, protocol and ports; the hash is stable and spreads")
    func keys() {
        let key = Self.key(40000)
        #expect(key.sourcePort == 40000 && key.destinationPort == 53 && key.protocolNumber == 17 && !key.isIPv6)
        #expect(key.sourceLow == UInt64(IPv4Address("10.0.0.1")!.rawValue))
        #expect(key.stableHash == Self.key(40000).stableHash)
        let ports = Set((0..<1000).map { VXLANEncapsulator.sourcePort(forFlowHash: Self.key(UInt16(20000 + $0)).stableHash) })
        #expect(ports.count > 950)
        #expect(FlowKey(packet: UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
    }

    @Test("packets and bytes per flow, first and last seen, idle expiry, top flows")
    func counting() {
        let table = FlowTable(capacity: 64)
        for i in 0..<10 { table.record(Self.key(1), bytes: 100, now: UInt64(i) * 1_000) }
        table.record(Self.key(2), bytes: 5000, now: 50_000)
        let first = table.entry(for: Self.key(1))
        #expect(first?.packets == 10 && first?.bytes == 1000 && first?.firstSeen == 0 && first?.lastSeen == 9_000)
        #expect(table.top(1).first?.key == Self.key(2))
        #expect(table.expire(now: 60_000, idle: 20_000) == 1)
        #expect(table.entry(for: Self.key(1)) == nil)
        #expect(table.entry(for: Self.key(2))?.bytes == 5000)
        #expect(table.count == 1)
    }

    @Test("a full table counts new flows as untracked and keeps every flow it has findable")
    func full() {
        let table = FlowTable(capacity: 16)
        for port in 0..<100 { table.record(Self.key(UInt16(port)), bytes: 1, now: UInt64(port)) }
        #expect(table.count == 12)
        #expect(table.untracked == 88)
        #expect(table.expire(now: 100, idle: 95) > 0)
        for entry in table.top(100) { #expect(table.entry(for: entry.key) != nil) }
    }
}
