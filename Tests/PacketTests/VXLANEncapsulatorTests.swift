import Packet
import Testing

@Suite("VXLAN encapsulation")
struct VXLANEncapsulatorTests {
    static let inner = Array(TestFrames.vxlanTCP[50...])  // an Ethernet/IPv4/TCP frame

    static func encapsulateAndWalk(_ encap: VXLANEncapsulator, identification: UInt16 = 0) throws -> [UInt8] {
        let headroom = 96
        var buffer = [UInt8](repeating: 0xAA, count: headroom) + inner
        var start = 0
        var length = 0
        try buffer.withUnsafeMutableBytes { raw in
            (start, length) = try encap.encapsulate(in: raw, innerOffset: headroom, innerLength: inner.count,
                                                    sourcePort: 50_000, identification: identification)
        }
        let range = (start: start, length: length)
        #expect(range.start == headroom - encap.headerLength)
        #expect(range.length == encap.headerLength + inner.count)
        #expect(Array(buffer[headroom...]) == inner, "the inner frame is untouched")
        return Array(buffer[range.start..<(range.start + range.length)])
    }

    @Test("IPv4 underlay with Ethernet: walks back to the inner TCP, every checksum valid")
    func ipv4() throws {
        let encap = try VXLANEncapsulator(
            vni: 4242, underlay: .ipv4(source: IPv4Address("192.0.2.1")!, destination: IPv4Address("192.0.2.2")!),
            ethernet: (source: MACAddress("02:00:00:00:00:01")!, destination: MACAddress("02:00:00:00:00:02")!))
        #expect(encap.headerLength == 50)
        for id: UInt16 in [0, 1, 0xFFFF] {
            let packet = try Self.encapsulateAndWalk(encap, identification: id)
            try packet.withUnsafeBytes { raw in
                var walker = LayerWalker(raw)
                var kinds: [LayerKind] = []
                while let layer = try walker.next() {
                    kinds.append(layer.kind)
                    switch layer {
                    case let .ipv4(ip) where kinds.count == 2:
                        #expect(ip.isChecksumValid)
                        #expect(ip.dontFragment)
                        #expect(ip.identification == id)
                        #expect(ip.totalLength == packet.count - 14)
                    case let .udp(udp, context) where kinds.count == 3:
                        #expect(udp.sourcePort == 50_000 && udp.destinationPort == 4789)
                        #expect(udp.checksumStatus(in: context) == nil)  // zero: absent over IPv4
                    case let .vxlan(vxlan):
                        #expect(vxlan.vni == 4242 && vxlan.flags == 8)
                    case let .tcp(tcp, context):
                        #expect(tcp.checksumStatus(in: context) == true)
                    default: break
                    }
                }
                #expect(kinds == [.ethernet, .ipv4, .udp, .vxlan, .ethernet, .ipv4, .tcp, .payload])
            }
        }
    }

    @Test("IPv6 underlay without Ethernet computes the UDP checksum")
    func ipv6() throws {
        let encap = try VXLANEncapsulator(
            vni: 7, underlay: .ipv6(source: IPv6Address("2001:db8::1")!, destination: IPv6Address("2001:db8::2")!))
        #expect(encap.headerLength == 56)
        let packet = try Self.encapsulateAndWalk(encap)
        try packet.withUnsafeBytes { raw in
            var walker = LayerWalker(raw, linkType: .raw)
            _ = try walker.next()
            guard case let .udp(udp, context)? = try walker.next() else {
                Issue.record("no UDP layer")
                return
            }
            #expect(udp.checksumStatus(in: context) == true)
            #expect(udp.length == packet.count - 40)
        }
    }

    @Test("too little headroom or a 25-bit VNI is an error, not a trap")
    func errors() throws {
        #expect(throws: PacketError(.vxlan, .valueOutOfRange(1 << 24))) {
            try VXLANEncapsulator(vni: 1 << 24, underlay: .ipv4(source: .init(rawValue: 1), destination: .init(rawValue: 2)))
        }
        let encap = try VXLANEncapsulator(vni: 1, underlay: .ipv4(source: .init(rawValue: 1), destination: .init(rawValue: 2)))
        var small = [UInt8](repeating: 0, count: 40)
        small.withUnsafeMutableBytes { raw in
            _ = #expect(throws: PacketError.self) {
                try encap.encapsulate(in: raw, innerOffset: 10, innerLength: 30, sourcePort: 1)
            }
        }
    }

    @Test("source ports stay in 49152-65535 and spread")
    func sourcePorts() {
        var seen = Set<UInt16>()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let port = VXLANEncapsulator.sourcePort(forFlowHash: UInt32.random(in: 0...UInt32.max, using: &generator))
            #expect(port >= 49152)
            seen.insert(port)
        }
        #expect(seen.count > 5000)
        #expect(VXLANEncapsulator.sourcePort(forFlowHash: .max) == 65535)
    }
}
