/// Writes the outer headers of a VXLAN packet (RFC 7348) in front of an inner Ethernet frame,
/// in the headroom of the caller's buffer, without touching the inner bytes.
///
/// The headers are laid out once, at init, in a template; each packet then costs one copy of
/// at most 70 bytes and a few field patches. The IPv4 header checksum is precomputed with a
/// zero length and patched with the RFC 1624 update, so no packet is summed again.
///
/// ```swift
/// let encap = try VXLANEncapsulator(vni: 42, underlay: .ipv4(source: a, destination: b),
///                                   ethernet: (source: macA, destination: macB))
/// // inner frame at buffer[headroom ..< headroom + n], headroom >= encap.headerLength
/// let frame = try encap.encapsulate(in: buffer, innerOffset: headroom, innerLength: n, sourcePort: port)
/// ```
public struct VXLANEncapsulator: Sendable {
    /// The outer network.
    public enum Underlay: Sendable, Equatable {
        case ipv4(source: IPv4Address, destination: IPv4Address)
        case ipv6(source: IPv6Address, destination: IPv6Address)
    }

    public let vni: UInt32
    public let underlay: Underlay
    public let destinationPort: UInt16
    /// Whether an outer Ethernet header is written (not needed for a raw IP socket).
    public let includesEthernet: Bool
    /// Whether the outer UDP checksum is computed (over IPv6, RFC 6935 allows zero for tunnels;
    /// Linux computes it unless `udp6zerocsumtx` is set).
    public let udpChecksum: Bool
    /// Bytes written in front of the inner frame.
    public let headerLength: Int

    /// The template, up to 14 + 40 + 8 + 8 = 70 bytes.
    private var template: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0)
    private let ipOffset: Int
    private let udpOffset: Int
    private let zeroLengthIPChecksum: UInt16

    public init(
        vni: UInt32, underlay: Underlay, destinationPort: UInt16 = VXLANHeader.defaultPort,
        ethernet: (source: MACAddress, destination: MACAddress)? = nil, udpChecksum: Bool? = nil,
        ttl: UInt8 = 64
    ) throws(PacketError) {
        guard vni <= VXLANHeader.maximumVNI else { throw PacketError(.vxlan, .valueOutOfRange(Int(vni))) }
        self.vni = vni
        self.underlay = underlay
        self.destinationPort = destinationPort
        self.includesEthernet = ethernet != nil
        let isV6: Bool
        if case .ipv6 = underlay { isV6 = true } else { isV6 = false }
        self.udpChecksum = udpChecksum ?? isV6
        ipOffset = ethernet == nil ? 0 : EthernetHeader.length
        udpOffset = ipOffset + (isV6 ? IPv6Header.length : IPv4Header.minimumLength)
        headerLength = udpOffset + UDPHeader.length + VXLANHeader.length
        let (ipOffset, udpOffset) = (self.ipOffset, self.udpOffset)
        var checksum: UInt16 = 0
        var failure: PacketError?
        withUnsafeMutableBytes(of: &template) { t in
            do throws(PacketError) {
                if let ethernet {
                    try EthernetHeader.write(into: t, destination: ethernet.destination, source: ethernet.source,
                                             etherType: isV6 ? EtherType.ipv6 : EtherType.ipv4)
                }
                let ip = UnsafeMutableRawBufferPointer(rebasing: t[ipOffset...])
                switch underlay {
                case let .ipv4(source, destination):
                    // Written with the smallest legal length, then set to 0 with an update, so
                    // that each packet's real length is one more update away.
                    try IPv4Header.write(into: ip, source: source, destination: destination,
                                         protocolNumber: IPProtocol.udp, totalLength: IPv4Header.minimumLength,
                                         ttl: ttl, dontFragment: true)
                    checksum = InternetChecksum.update(ip.loadBigEndianU16(at: 10), old: UInt16(IPv4Header.minimumLength), new: 0)
                    ip.setU16(0, at: 2)
                    ip.setU16(checksum, at: 10)
                case let .ipv6(source, destination):
                    try IPv6Header.write(into: ip, source: source, destination: destination, nextHeader: IPProtocol.udp,
                                         payloadLength: 0, hopLimit: ttl)
                }
                let udp = UnsafeMutableRawBufferPointer(rebasing: t[udpOffset...])
                try UDPHeader.write(into: udp, sourcePort: 0, destinationPort: destinationPort, payloadLength: 0)
                try VXLANHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: t[(udpOffset + UDPHeader.length)...]), vni: vni)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        zeroLengthIPChecksum = checksum
    }

    /// Writes the outer headers into `buffer[innerOffset - headerLength ..< innerOffset]`, in
    /// front of the `innerLength`-byte inner frame at `innerOffset`; returns where the
    /// encapsulated packet starts and its length.
    public func encapsulate(
        in buffer: UnsafeMutableRawBufferPointer, innerOffset: Int, innerLength: Int, sourcePort: UInt16,
        identification: UInt16 = 0
    ) throws(PacketError) -> (start: Int, length: Int) {
        let start = innerOffset - headerLength
        guard start >= 0, innerLength >= 0, innerOffset + innerLength <= buffer.count else {
            throw PacketError(.vxlan, .noRoom(needed: headerLength + innerLength, available: buffer.count))
        }
        let udpLength = UDPHeader.length + VXLANHeader.length + innerLength
        guard udpLength + IPv6Header.length <= 0xFFFF else { throw PacketError(.udp, .valueOutOfRange(udpLength)) }
        let out = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(innerOffset + innerLength)])
        withUnsafeBytes(of: template) { t in
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: t[..<headerLength]))
        }
        let ip = UnsafeMutableRawBufferPointer(rebasing: out[ipOffset...])
        switch underlay {
        case .ipv4:
            let total = UInt16(IPv4Header.minimumLength + udpLength)
            var checksum = InternetChecksum.update(zeroLengthIPChecksum, old: 0, new: total)
            if identification != 0 {
                checksum = InternetChecksum.update(checksum, old: 0, new: identification)
                ip.setU16(identification, at: 4)
            }
            ip.setU16(total, at: 2)
            ip.setU16(checksum, at: 10)
        case .ipv6:
            ip.setU16(UInt16(udpLength), at: 4)
        }
        let udp = UnsafeMutableRawBufferPointer(rebasing: out[udpOffset...])
        udp.setU16(sourcePort, at: 0)
        udp.setU16(UInt16(udpLength), at: 4)
        if udpChecksum {
            let addresses = UnsafeRawBufferPointer(rebasing: ip[addressRange])
            let context = IPContext(addresses: addresses, upperLayerLength: udpLength, isFragment: false)
            var sum = context.pseudoHeaderSum(protocolNumber: IPProtocol.udp, length: udpLength)
            sum.add(UnsafeRawBufferPointer(rebasing: udp[..<udpLength]))
            let value = sum.value
            udp.setU16(value == 0 ? 0xFFFF : value, at: 6)
        }
        return (start, out.count)
    }

    private var addressRange: Range<Int> {
        if case .ipv6 = underlay { return 8..<40 }
        return 12..<20
    }

    /// A UDP source port from a flow hash, in the dynamic range 49152-65535 as RFC 7348
    /// section 5 recommends, so that ECMP in the underlay spreads flows while keeping each in order.
    @inlinable
    public static func sourcePort(forFlowHash hash: UInt32) -> UInt16 {
        49152 &+ UInt16(truncatingIfNeeded: (UInt64(hash) &* 16384) >> 32)
    }
}

extension UnsafeMutableRawBufferPointer {
    func loadBigEndianU16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
}
