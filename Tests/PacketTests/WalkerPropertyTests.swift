import Packet
import Testing

/// A bounded property test over random and mutated frames: whatever the bytes, the walk ends,
/// never traps, and every accessor and checksum of every yielded layer reads in bounds.
/// (scripts/fuzz.sh runs the same walk under libFuzzer with AddressSanitizer.)
@Suite("Walker properties")
struct WalkerPropertyTests {
    static func touchEverything(_ bytes: [UInt8], linkType: LinkType) -> Int {
        bytes.withUnsafeBytes { raw in
            var walker = LayerWalker(raw, linkType: linkType)
            var layers = 0
            var sink = 0
            while let layer = try? walker.next() {
                layers += 1
                #expect(layers < 2000, "the walk must end")
                switch layer {
                case let .ethernet(h): sink &+= Int(h.etherType) &+ Int(truncatingIfNeeded: h.source.rawValue)
                case let .vlan(h): sink &+= Int(h.vlanID)
                case let .sll(h): sink &+= Int(h.protocolType)
                case let .arp(h):
                    sink &+= h.senderHardwareAddressBytes.count &+ h.targetProtocolAddressBytes.count
                    if h.isEthernetIPv4 { sink &+= Int(h.targetIP.rawValue) }
                case let .ipv4(h): sink &+= (h.isChecksumValid ? 1 : 0) &+ h.options.count &+ h.payload.count
                case let .ipv6(h): sink &+= Int(h.flowLabel) &+ Int(truncatingIfNeeded: h.source.low)
                case let .ipv6Extension(h): sink &+= h.body.count &+ h.fragmentOffset
                case let .icmp(h, c): sink &+= h.checksumStatus(in: c) == true ? 1 : 0
                case let .icmpv6(h, c): sink &+= h.checksumStatus(in: c) == true ? 1 : 0
                case let .udp(h, c): sink &+= (h.checksumStatus(in: c) == true ? 1 : 0) &+ h.payload.count
                case let .tcp(h, c):
                    sink &+= h.checksumStatus(in: c) == true ? 1 : 0
                    for option in h.options {
                        if case let .sack(blocks) = option { sink &+= blocks.count }
                    }
                case let .vxlan(h): sink &+= Int(h.vni)
                case let .payload(p): sink &+= p.count
                }
            }
            return sink
        }
    }

    @Test("random frames of every link type")
    func randomFrames() {
        var generator = SystemRandomNumberGenerator()
        for linkType in [LinkType.ethernet, .raw, .linuxSLL, .linuxSLL2] {
            for _ in 0..<3000 {
                let length = Int.random(in: 0...200, using: &generator)
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                _ = Self.touchEverything(bytes, linkType: linkType)
            }
        }
    }

    @Test("mutations of a valid 7-layer frame: byte flips, cuts and lengths set to extremes")
    func mutatedFrames() {
        var generator = SystemRandomNumberGenerator()
        let seed = TestFrames.vxlanTCP
        for _ in 0..<20_000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = [0x00, 0xFF, 0x45, 0x60, 0x12, 0xB5, UInt8.random(in: 0...255, using: &generator)]
                    .randomElement(using: &generator)!
            }
            if Bool.random(using: &generator) {
                bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator))
            }
            _ = Self.touchEverything(bytes, linkType: .ethernet)
        }
    }
}
