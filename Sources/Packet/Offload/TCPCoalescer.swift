/// Merges consecutive TCP segments of one flow into a GSO super-packet for one write to a TUN
/// device with offloads (userspace GRO), the reverse of `GSOSplitter`.
///
/// Segments qualify when they continue the run exactly: same addresses, ports, ACK, window,
/// TTL/TOS and TCP options length, contiguous sequence numbers, no SYN/FIN/RST/URG, and every
/// segment but the last of full `gsoSize`. A PSH or a short segment ends the run. The run is
/// built in a buffer owned by the coalescer (one allocation, at init).
public struct TCPCoalescer: ~Copyable {
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes of the current run (0: empty).
    public private(set) var length = 0
    private var segments = 0
    private var ipLength = 0
    private var headerLength = 0
    private var gsoSize = 0
    private var nextSequence: UInt32 = 0
    private var closed = false

    public init(maximumSize: Int = 65_535) {
        buffer = .allocate(byteCount: maximumSize, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    /// Adds a complete IPv4 or IPv6 TCP segment (checksums valid). Returns false when it
    /// cannot join the current run: flush (`finish`) and add it again.
    public mutating func append(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard let shape = Self.shape(packet) else { return length == 0 ? start(packet, nil) : false }
        if length == 0 { return start(packet, shape) }
        let payload = packet.count - shape.headers
        guard !closed, segments > 0, shape.headers == headerLength, shape.ip == ipLength,
              payload > 0, payload <= gsoSize, length + payload <= buffer.count,
              packet.u32(shape.ip + 4) == nextSequence,
              Self.sameFlow(UnsafeRawBufferPointer(buffer), packet, ipLength: ipLength, headerLength: headerLength)
        else { return false }
        let flags = TCPHeader.Flags(rawValue: packet[shape.ip + 13])
        guard flags.isDisjoint(with: [.fin, .syn, .rst, .urg]) else { return false }
        UnsafeMutableRawBufferPointer(rebasing: buffer[length..<(length + payload)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[shape.headers...]))
        length += payload
        segments += 1
        nextSequence &+= UInt32(payload)
        if flags.contains(.psh) { buffer[ipLength + 13] |= TCPHeader.Flags.psh.rawValue }  // carry PSH to the super-packet
        closed = payload < gsoSize || flags.contains(.psh)
        return true
    }

    /// The run as one packet and the virtio header to write it with; empties the coalescer.
    /// A run of one segment is returned unchanged with an empty header.
    public mutating func finish(_ emit: (UnsafeRawBufferPointer, VirtioNetHeader) -> Void) {
        guard length > 0 else { return }
        defer {
            length = 0
            segments = 0
            closed = false
        }
        let packet = UnsafeMutableRawBufferPointer(rebasing: buffer[..<length])
        guard segments > 1 else {
            emit(UnsafeRawBufferPointer(packet), VirtioNetHeader())
            return
        }
        let isV6 = packet[0] >> 4 == 6
        SuperPacketHeaders.finish(packet, ipLength: ipLength, protocolNumber: IPProtocol.tcp, checksumOffset: 16)
        let header = VirtioNetHeader(
            flags: VirtioNetHeader.needsChecksum, gsoType: isV6 ? .tcpv6 : .tcpv4, headerLength: UInt16(headerLength),
            gsoSize: UInt16(gsoSize), checksumStart: UInt16(ipLength), checksumOffset: 16)
        emit(UnsafeRawBufferPointer(packet), header)
    }

    private mutating func start(_ packet: UnsafeRawBufferPointer, _ shape: (ip: Int, headers: Int)?) -> Bool {
        guard packet.count <= buffer.count else { return false }
        UnsafeMutableRawBufferPointer(rebasing: buffer[..<packet.count]).copyMemory(from: packet)
        length = packet.count
        segments = 1
        guard let shape else {
            closed = true  // not coalescable TCP: a run of its own
            return true
        }
        ipLength = shape.ip
        headerLength = shape.headers
        gsoSize = packet.count - shape.headers
        nextSequence = packet.u32(shape.ip + 4) &+ UInt32(gsoSize)
        let flags = TCPHeader.Flags(rawValue: packet[shape.ip + 13])
        closed = gsoSize == 0 || !flags.isDisjoint(with: [.syn, .fin, .rst, .urg, .psh])  // each ends a run at once
        return true
    }

    /// IP and IP+TCP header lengths of a plain TCP segment (IPv4 without fragmentation, IPv6
    /// without extension headers), or nil.
    private static func shape(_ p: UnsafeRawBufferPointer) -> (ip: Int, headers: Int)? {
        guard p.count >= 40 else { return nil }
        let version = p[0] >> 4
        let ip: Int
        if version == 4 {
            ip = Int(p[0] & 0x0F) * 4
            guard ip >= 20, p[9] == IPProtocol.tcp, p.u16(6) & 0x3FFF == 0, Int(p.u16(2)) == p.count else { return nil }
        } else if version == 6 {
            ip = 40
            guard p.count >= 60, p[6] == IPProtocol.tcp, Int(p.u16(4)) + 40 == p.count else { return nil }
        } else {
            return nil
        }
        guard p.count >= ip + 20 else { return nil }
        let headers = ip + Int(p[ip + 12] >> 4) * 4
        return headers <= p.count && headers >= ip + 20 ? (ip, headers) : nil
    }

    /// Same addresses, ports, ACK, window, TTL/hop limit and TOS/traffic class, and the same
    /// TCP options apart from timestamps' values being allowed to match only.
    private static func sameFlow(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, ipLength: Int, headerLength: Int) -> Bool {
        let isV6 = a[0] >> 4 == 6
        if isV6 {
            guard a.u32(0) == b.u32(0), a[7] == b[7] else { return false }
            for i in stride(from: 8, to: 40, by: 4) where a.u32(i) != b.u32(i) { return false }
        } else {
            guard a[1] == b[1], a[8] == b[8], a.u32(12) == b.u32(12), a.u32(16) == b.u32(16) else { return false }
        }
        let t = ipLength
        guard a.u32(t) == b.u32(t), a.u32(t + 8) == b.u32(t + 8), a.u16(t + 14) == b.u16(t + 14) else { return false }
        for i in (t + 20)..<headerLength where a[i] != b[i] { return false }
        return true
    }
}
