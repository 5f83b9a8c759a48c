import Packet

/// The frames the benchmarks walk, built once with the library's own builders.
struct BenchFrames: Sendable {
    /// Ethernet/IPv4/UDP/VXLAN/Ethernet/IPv4/TCP with 12 bytes of data (112 bytes).
    let small: [UInt8]
    /// The same stack grown to 1500 bytes in all, with an outer UDP checksum.
    let large: [UInt8]
    let encapsulator: VXLANEncapsulator
    let innerLength: Int

    init() {
        let macA = MACAddress(rawValue: 0x0200_0000_0001)
        let macB = MACAddress(rawValue: 0x0200_0000_0002)
        encapsulator = try! VXLANEncapsulator(
            vni: 42, underlay: .ipv4(source: IPv4Address(192, 0, 2, 1), destination: IPv4Address(192, 0, 2, 2)),
            ethernet: (source: macA, destination: macB))
        let checksummed = try! VXLANEncapsulator(
            vni: 42, underlay: .ipv4(source: IPv4Address(192, 0, 2, 1), destination: IPv4Address(192, 0, 2, 2)),
            ethernet: (source: macA, destination: macB), udpChecksum: true)
        func build(dataLength: Int, encapsulator: VXLANEncapsulator) -> (frame: [UInt8], inner: Int) {
            let innerLength = 14 + 20 + 20 + dataLength
            var buffer = BenchFrames.randomBytes(count: 50 + innerLength)
            buffer.withUnsafeMutableBytes { raw in
                let inner = UnsafeMutableRawBufferPointer(rebasing: raw[50...])
                _ = try! EthernetHeader.write(into: inner, destination: macB, source: macA, etherType: EtherType.ipv4)
                let ip = UnsafeMutableRawBufferPointer(rebasing: inner[14...])
                _ = try! IPv4Header.write(into: ip, source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2),
                                          protocolNumber: IPProtocol.tcp, totalLength: 40 + dataLength)
                let tcp = UnsafeMutableRawBufferPointer(rebasing: ip[20...])
                let header: [UInt8] = [0x9C, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 1, 0, 0, 0, 0, 0]
                for (i, byte) in header.enumerated() { tcp[i] = byte }
                let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: ip[12..<20]),
                                        upperLayerLength: 20 + dataLength, isFragment: false)
                try! TCPHeader.fillChecksum(in: tcp, segmentLength: 20 + dataLength, context: context)
                _ = try! encapsulator.encapsulate(in: raw, innerOffset: 50, innerLength: innerLength, sourcePort: 50_000)
            }
            return (buffer, innerLength)
        }
        let smallBuild = build(dataLength: 12, encapsulator: encapsulator)
        small = smallBuild.frame
        innerLength = smallBuild.inner
        // The outer UDP checksum is set here so that verification sums the whole packet twice.
        large = build(dataLength: 1500 - 14 - 50 - 40, encapsulator: checksummed).frame
    }

    /// Deterministic pseudo-random bytes: real payloads, not a constant fill that makes every
    /// data-dependent branch predictable and flatters the measurement.
    static func randomBytes(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// Walks and verifies IPv4 header, UDP, and TCP checksums; returns how many were valid.
    @inline(never)
    static func walkAndVerify(_ raw: UnsafeRawBufferPointer) -> Int {
        var walker = LayerWalker(raw)
        var valid = 0
        while let layer = try? walker.next() { valid &+= verified(layer) }
        return valid
    }

    /// The same with the one-pass walk.
    @inline(never)
    static func stackAndVerify(_ raw: UnsafeRawBufferPointer) -> Int {
        LayerStack.walk(raw) { layers in layers.reduce(0) { $0 &+ verified($1) } }
    }

    /// 1 when `layer` carries a checksum and it is right.
    @inline(__always)
    static func verified(_ layer: Layer) -> Int {
        switch layer {
        case let .ipv4(ip): ip.isChecksumValid ? 1 : 0
        case let .udp(udp, context): udp.checksumStatus(in: context) == true ? 1 : 0
        case let .tcp(tcp, context): tcp.checksumStatus(in: context) == true ? 1 : 0
        default: 0
        }
    }

    /// Touches a layer's kind so the walk cannot be optimised away (no hashing: `hashValue`
    /// costs more than the walk itself).
    @inline(__always)
    static func weight(_ layer: Layer) -> Int {
        switch layer {
        case .payload: 2
        case .tcp, .udp: 1
        default: 0
        }
    }
}
