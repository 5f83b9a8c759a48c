import Decode
import Packet

/// What one fuzz input exercises; shared with the property tests through the same calls.
enum PacketFuzzHarness {
    nonisolated(unsafe) static let out = OutputBuffer(capacity: 1 << 16)

    static func exercise(_ bytes: UnsafeRawBufferPointer) {
        // The first byte picks the link type so the corpus can steer every entry point.
        guard let selector = bytes.first else { return }
        let linkTypes: [LinkType] = [.ethernet, .raw, .linuxSLL, .linuxSLL2, .ipv4, .ipv6]
        let linkType = linkTypes[Int(selector) % linkTypes.count]
        let frame = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
        let packet = FramedPacket(number: 1, seconds: 0, microseconds: 0, originalLength: frame.count,
                                  linkType: linkType, bytes: frame)
        checkStackMatchesWalker(frame, linkType: linkType)
        JSONLinesFormatter().format(packet, into: out)
        TextFormatter().format(packet, into: out)
        out.removeAll()
    }

    /// `LayerStack` must find what `LayerWalker` finds, up to the stack's capacity: a
    /// difference is a finding, so it traps.
    static func checkStackMatchesWalker(_ frame: UnsafeRawBufferPointer, linkType: LinkType) {
        var walker = LayerWalker(frame, linkType: linkType)
        LayerStack.walk(frame, linkType: linkType) { layers in
            for index in layers.indices {
                guard let layer = try? walker.next() else { fatalError("the stack has more layers than the walker") }
                guard layer.kind == layers.kind(at: index) else { fatalError("layer \(index): \(layer.kind) against \(layers.kind(at: index))") }
            }
            if layers.error == nil, (try? walker.next()) != nil { fatalError("the walker has more layers than the stack") }
        }
    }
}
