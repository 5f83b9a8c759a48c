import Foundation
import Packet
import Testing

/// `LayerStack` against `LayerWalker`: the same layers (kind, bytes, pseudo-header context and
/// every detail a view carries) and the same error, on crafted, random and mutated frames.
@Suite("Layer stack")
struct LayerStackTests {
    /// Everything a layer view holds, as offsets from the start of the frame.
    struct Signature: Equatable, CustomStringConvertible {
        var kind: LayerKind
        var start: Int
        var count: Int
        var detail = 0
        var context: [Int] = []

        init(_ layer: Layer, in frame: UnsafeRawBufferPointer) {
            func offset(_ bytes: UnsafeRawBufferPointer) -> Int {
                guard let base = frame.baseAddress, let start = bytes.baseAddress else { return 0 }
                return start - base
            }
            func describe(_ c: IPContext) -> [Int] {
                [offset(c.addresses), c.addresses.count, c.upperLayerLength, c.isFragment ? 1 : 0]
            }
            kind = layer.kind
            let bytes: UnsafeRawBufferPointer
            switch layer {
            case let .ethernet(h): bytes = h.bytes
            case let .vlan(h): bytes = h.bytes; detail = Int(h.tpid)
            case let .sll(h): bytes = h.bytes; detail = h.version
            case let .arp(h): bytes = h.bytes
            case let .ipv4(h): bytes = h.bytes
            case let .ipv6(h): bytes = h.bytes
            case let .ipv6Extension(h): bytes = h.bytes; detail = Int(h.headerType)
            case let .icmp(h, c): bytes = h.bytes; context = describe(c)
            case let .icmpv6(h, c): bytes = h.bytes; context = describe(c)
            case let .udp(h, c): bytes = h.bytes; context = describe(c)
            case let .tcp(h, c): bytes = h.bytes; context = describe(c)
            case let .vxlan(h): bytes = h.bytes
            case let .payload(p): bytes = p
            }
            start = offset(bytes)
            count = bytes.count
        }

        var description: String { "\(kind)@\(start)+\(count) \(detail) \(context)" }
    }

    static func walker(_ frame: UnsafeRawBufferPointer, _ linkType: LinkType) -> ([Signature], PacketError?) {
        var walker = LayerWalker(frame, linkType: linkType)
        var layers: [Signature] = []
        do throws(PacketError) {
            while let layer = try walker.next() { layers.append(Signature(layer, in: frame)) }
            return (layers, nil)
        } catch {
            return (layers, error)
        }
    }

    static func stack(_ frame: UnsafeRawBufferPointer, _ linkType: LinkType) -> ([Signature], PacketError?) {
        LayerStack.walk(frame, linkType: linkType) { layers in
            (layers.map { Signature($0, in: frame) }, layers.error)
        }
    }

    /// Fails the test (with the frame) when the two walks differ, allowing only for the stack's
    /// capacity: past it the stack stops with `.tooManyLayers` where the walker goes on.
    static func expectSame(_ bytes: [UInt8], linkType: LinkType, sourceLocation: SourceLocation = #_sourceLocation) {
        bytes.withUnsafeBytes { frame in
            let (expected, expectedError) = walker(frame, linkType)
            let (found, error) = stack(frame, linkType)
            if case .tooManyLayers? = error?.fault {
                #expect(found.count == LayerStack.capacity, sourceLocation: sourceLocation)
                #expect(Array(expected.prefix(found.count)) == found, "\(linkType) \(bytes)", sourceLocation: sourceLocation)
                #expect(expected.count > found.count || expectedError != nil, sourceLocation: sourceLocation)
            } else {
                #expect(found == expected, "\(linkType) \(bytes)", sourceLocation: sourceLocation)
                #expect(error == expectedError, "\(linkType) \(bytes)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("the 7-layer VXLAN frame: the walker's layers, with views that read the same fields")
    func vxlanFrame() {
        Self.expectSame(TestFrames.vxlanTCP, linkType: .ethernet)
        TestFrames.vxlanTCP.withUnsafeBytes { frame in
            LayerStack.walk(frame) { layers in
                #expect(layers.map(\.kind) == [.ethernet, .ipv4, .udp, .vxlan, .ethernet, .ipv4, .tcp, .payload])
                #expect(layers.error == nil)
                #expect(layers.kind(at: 3) == .vxlan)
                guard case let .tcp(tcp, context) = layers[6] else {
                    Issue.record("layer 6 is not TCP")
                    return
                }
                #expect(tcp.checksumStatus(in: context) == true)
                if case let .vxlan(vxlan) = layers[3] { #expect(vxlan.vni == 42) }
            }
        }
    }

    @Test("every cut of the VXLAN frame ends with the walker's error")
    func truncations() {
        for length in 0...TestFrames.vxlanTCP.count {
            Self.expectSame(Array(TestFrames.vxlanTCP.prefix(length)), linkType: .ethernet)
            Self.expectSame(Array(TestFrames.vxlanTCP.dropFirst(14).prefix(length)), linkType: .raw)
        }
    }

    @Test("more layers than the capacity end with tooManyLayers after the first 16")
    func capacity() {
        // Ethernet, then 20 VLAN tags, then IPv4/UDP.
        var frame = Array(TestFrames.vxlanTCP.prefix(12))
        for _ in 0..<20 { frame += [0x81, 0x00, 0x00, 0x0A] }
        frame += TestFrames.vxlanTCP.dropFirst(12)
        Self.expectSame(frame, linkType: .ethernet)
        frame.withUnsafeBytes { raw in
            LayerStack.walk(raw) { layers in
                #expect(layers.count == LayerStack.capacity)
                #expect(layers.error == PacketError(.vlan, .tooManyLayers(LayerStack.capacity)))
            }
        }
    }

    @Test("random frames of every link type: the same layers and errors as the walker")
    func randomFrames() {
        var generator = SystemRandomNumberGenerator()
        for linkType in [LinkType.ethernet, .raw, .linuxSLL, .linuxSLL2, .ipv4, .ipv6] {
            for _ in 0..<2000 {
                var bytes = (0..<Int.random(in: 0...160, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                // Steer a third of them past the first header, where random bytes rarely go.
                if bytes.count > 40, Int.random(in: 0..<3, using: &generator) == 0 {
                    switch linkType {
                    case .ethernet: bytes[12] = 0x08; bytes[13] = 0x00; bytes[14] = 0x45
                    case .raw, .ipv4: bytes[0] = 0x45
                    case .ipv6: bytes[0] = 0x60
                    default: break
                    }
                }
                Self.expectSame(bytes, linkType: linkType)
            }
        }
    }

    /// The fuzz seeds (Fuzz/corpus): real captures of ARP, TCP, VXLAN, IPv6 with hop-by-hop
    /// options and SLL/SLL2; the first byte picks the link type, as in PacketFuzzHarness.
    static let seeds: [(LinkType, [UInt8])] = {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/corpus").standardized
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let linkTypes: [LinkType] = [.ethernet, .raw, .linuxSLL, .linuxSLL2, .ipv4, .ipv6]
        return names.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path),
                  let selector = data.first else { return nil }
            return (linkTypes[Int(selector) % linkTypes.count], Array(data.dropFirst()))
        }
    }()

    @Test("the fuzz seeds and mutations of each: the same layers and errors as the walker")
    func seeds() {
        #expect(Self.seeds.count >= 30)
        var generator = SystemRandomNumberGenerator()
        for (linkType, seed) in Self.seeds {
            Self.expectSame(seed, linkType: linkType)
            guard !seed.isEmpty else { continue }
            for _ in 0..<300 {
                var bytes = seed
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                Self.expectSame(bytes, linkType: linkType)
            }
        }
    }

    @Test("mutations of the VXLAN frame: the same layers and errors as the walker")
    func mutatedFrames() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            var bytes = TestFrames.vxlanTCP
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                // Values that turn one protocol into another: IPv4/IPv6 nibbles, VLAN and
                // extension-header numbers, ICMP, lengths at their extremes.
                let choices: [UInt8] = [0x00, 0xFF, 0x45, 0x60, 0x81, 0x86, 0xDD, 0x2C, 0x3A, 0x01, 0x11, 0x06, 0x12, 0xB5]
                bytes[index] = choices.randomElement(using: &generator) ?? 0
            }
            if Bool.random(using: &generator) {
                bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator))
            }
            Self.expectSame(bytes, linkType: .ethernet)
        }
    }
}
