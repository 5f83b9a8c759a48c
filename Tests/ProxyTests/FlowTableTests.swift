import Packet
@testable import Proxy
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

    @Test("expiry keeps exactly the live flows findable, through probe runs that wrap around the table")
    func expiryAgainstAModel() {
        var generator = SplitMix(seed: 7)
        let table = FlowTable(capacity: 256)
        var model: [FlowKey: UInt64] = [:]
        for round in 0..<200 {
            let now = UInt64(round) * 10
            for _ in 0..<Int(generator.next() % 40) {
                let key = Self.key(UInt16(truncatingIfNeeded: generator.next() % 400))
                let before = table.count
                table.record(key, bytes: 1, now: now)
                if table.count > before || model[key] != nil { model[key] = now }
            }
            let idle = generator.next() % 60
            let removed = table.expire(now: now, idle: idle)
            let stale = model.filter { now &- $0.value > idle }
            #expect(removed == stale.count)
            for key in stale.keys { model[key] = nil }
            #expect(table.count == model.count)
            for (key, lastSeen) in model { #expect(table.entry(for: key)?.lastSeen == lastSeen) }
            #expect(Set(table.top(1000).map(\.key)) == Set(model.keys))
        }
    }

    /// A small deterministic generator, so a failure can be replayed.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ z >> 30) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ z >> 27) &* 0x94D0_49BB_1331_11EB
            return z ^ z >> 31
        }
    }
}
