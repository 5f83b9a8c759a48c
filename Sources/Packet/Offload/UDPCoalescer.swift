/// Merges consecutive UDP datagrams of one flow into a USO super-packet (virtio GSO type
/// UDP_L4) for one write to a TUN device that took the USO offloads; the kernel cuts it back
/// into the datagrams, each delivered on its own. The UDP half of userspace GRO, beside
/// `TCPCoalescer`: a flood of small datagrams costs one write per run instead of one per packet.
///
/// Datagrams qualify when they continue the run exactly: same addresses, ports, TTL/hop limit
/// and TOS/traffic class, IPv4 without options or fragmentation (IPv6 without extension
/// headers), and every datagram but the last of the first one's payload size. A shorter one
/// ends the run; so do 64 datagrams (the kernel's segment limit is larger) or 64 KiB.
public struct UDPCoalescer: ~Copyable {
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes of the current run (0: empty).
    public private(set) var length = 0
    private var segments = 0
    private var ipLength = 0
    private var gsoSize = 0
    private var closed = false
    public static let maximumSegments = 64

    public init(maximumSize: Int = 65_535) {
        buffer = .allocate(byteCount: maximumSize, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    /// Adds a complete IPv4 or IPv6 UDP datagram. Returns false when it cannot join the
    /// current run (or is no plain UDP datagram): flush (`finish`) and write it some other way.
    public mutating func append(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard let ip = Self.ipLength(packet) else { return false }
        let payload = packet.count - ip - 8
        if length == 0 {
            guard packet.count <= buffer.count, payload > 0 else { return false }
            UnsafeMutableRawBufferPointer(rebasing: buffer[..<packet.count]).copyMemory(from: packet)
            length = packet.count
            segments = 1
            ipLength = ip
            gsoSize = payload
            closed = false
            return true
        }
        guard !closed, ip == ipLength, payload > 0, payload <= gsoSize, length + payload <= buffer.count,
              segments < Self.maximumSegments, Self.sameFlow(UnsafeRawBufferPointer(buffer), packet, ipLength: ip)
        else { return false }
        UnsafeMutableRawBufferPointer(rebasing: buffer[length..<(length + payload)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[(ip + 8)...]))
        length += payload
        segments += 1
        closed = payload < gsoSize
        return true
    }

    /// The run as one packet and the virtio header to write it with; empties the coalescer.
    /// A run of one datagram is returned unchanged with an empty header.
    public mutating func finish(_ emit: (UnsafeRawBufferPointer, VirtioNetHeader) -> Void) {
        guard length > 0 else { return }
        defer {
            length = 0
            segments = 0
        }
        let packet = UnsafeMutableRawBufferPointer(rebasing: buffer[..<length])
        guard segments > 1 else {
            emit(UnsafeRawBufferPointer(packet), VirtioNetHeader())
            return
        }
        // The UDP length covers the whole run too; the kernel swaps in each datagram's as it cuts.
        packet.setU16(UInt16(length - ipLength), at: ipLength + 4)
        SuperPacketHeaders.finish(packet, ipLength: ipLength, protocolNumber: IPProtocol.udp, checksumOffset: 6)
        let header = VirtioNetHeader(
            flags: VirtioNetHeader.needsChecksum, gsoType: .udpL4, headerLength: UInt16(ipLength + 8),
            gsoSize: UInt16(gsoSize), checksumStart: UInt16(ipLength), checksumOffset: 6)
        emit(UnsafeRawBufferPointer(packet), header)
    }

    /// The IP header length of a plain, whole UDP datagram, or nil.
    private static func ipLength(_ p: UnsafeRawBufferPointer) -> Int? {
        guard p.count >= 28 else { return nil }
        switch p[0] >> 4 {
        case 4:
            guard p[0] & 0x0F == 5, p[9] == IPProtocol.udp, p.u16(6) & 0x3FFF == 0, Int(p.u16(2)) == p.count,
                  Int(p.u16(20 + 4)) == p.count - 20
            else { return nil }
            return 20
        case 6:
            guard p.count >= 48, p[6] == IPProtocol.udp, Int(p.u16(4)) + 40 == p.count, Int(p.u16(44)) == p.count - 40
            else { return nil }
            return 40
        default:
            return nil
        }
    }

    private static func sameFlow(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, ipLength: Int) -> Bool {
        if ipLength == 40 {
            guard a.u32(0) & 0x0FF0_0000 == b.u32(0) & 0x0FF0_0000, a[7] == b[7] else { return false }
            for i in stride(from: 8, to: 40, by: 4) where a.u32(i) != b.u32(i) { return false }
        } else {
            guard a[1] == b[1], a[8] == b[8], a.u32(12) == b.u32(12), a.u32(16) == b.u32(16) else { return false }
        }
        return a.u32(ipLength) == b.u32(ipLength)  // both ports
    }
}
