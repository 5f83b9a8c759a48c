/// A GSO super-packet (a TCP or UDP packet larger than the MTU, as a TUN device with offloads
/// hands it over) and the plan for cutting it: read once from the packet and its virtio
/// header, then each segment written where its caller wants it, with correct IP and transport
/// headers and checksums.
///
/// Writing segment by segment lets a caller put each one behind headers of its own (a tunnel's
/// outer headers) or spread them over the slots it has room in; `GSOSplitter` cuts them all
/// into an array of slots.
public struct SuperPacket {
    /// The super-packet: IP header first, no virtio header.
    public let bytes: UnsafeRawBufferPointer
    /// The virtio header it came with.
    public let header: VirtioNetHeader
    /// IP plus TCP/UDP header bytes, repeated in front of every segment.
    public let headersLength: Int
    /// Payload bytes per segment (the last may carry fewer).
    public let segmentSize: Int
    public let segmentCount: Int
    private let shape: IPPacketShape
    private let baseSequence: UInt32
    private let flags: TCPHeader.Flags

    /// Reads the plan; throws when `header` describes no segmentation (use the packet as it
    /// is) or the packet is no TCP/UDP packet over IPv4/IPv6 it could apply to.
    public init(_ packet: UnsafeRawBufferPointer, header: VirtioNetHeader) throws(GSOSplitter.Failure) {
        guard header.gsoType != .none, header.gsoSize > 0 else { throw .malformed("no segmentation") }
        guard let shape = IPPacketShape(packet) else { throw .malformed("not IP") }
        guard shape.isTCP || shape.isUDP else { throw .malformed("GSO of protocol \(shape.protocolNumber)") }
        guard let headers = shape.headersLength else { throw .malformed("short transport header") }
        bytes = packet
        self.header = header
        self.shape = shape
        headersLength = headers
        segmentSize = Int(header.gsoSize)
        segmentCount = max(1, (packet.count - headers + segmentSize - 1) / segmentSize)
        let tcp = shape.tcp
        baseSequence = tcp?.sequenceNumber ?? 0
        flags = tcp?.flags ?? []
    }

    /// The size of the largest segment: what is held against an MTU.
    public var largestSegment: Int { headersLength + min(segmentSize, bytes.count - headersLength) }

    /// The bytes of segment `i` once written.
    public func segmentLength(_ i: Int) -> Int {
        headersLength + min(segmentSize, bytes.count - headersLength - i * segmentSize)
    }

    /// Writes segment `i` at the start of `out`; returns its length.
    ///
    /// The headers are copied and fixed first; the payload is then copied and summed in one
    /// pass into the transport checksum (this is most of a tunnel's user-space work per byte).
    public func writeSegment(_ i: Int, into out: UnsafeMutableRawBufferPointer) throws(GSOSplitter.Failure) -> Int {
        guard i >= 0, i < segmentCount else { throw .noRoom }
        let start = headersLength + i * segmentSize
        let length = segmentLength(i)
        guard length <= out.count else { throw .noRoom }
        let segment = UnsafeMutableRawBufferPointer(rebasing: out[..<length])
        segment.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[..<headersLength]))
        let ip = shape.ipHeaderLength
        let upper = length - ip
        if shape.isIPv6 {
            try? IPv6Header.setPayloadLength(upper, in: segment)
        } else {
            try? IPv4Header.rewrite(in: segment, totalLength: length,
                                    identification: shape.identification &+ UInt16(truncatingIfNeeded: i))
        }
        let transport = UnsafeMutableRawBufferPointer(rebasing: segment[ip...])
        let addresses = shape.isIPv6 ? IPPacketShape.Field.v6Source..<IPPacketShape.Field.v6HeaderLength
                                     : IPPacketShape.Field.v4Source..<(IPPacketShape.Field.v4Destination + 4)
        let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: segment[addresses]),
                                upperLayerLength: upper, isFragment: false)
        let checksumField: Int
        if shape.isTCP {
            var segmentFlags = flags
            if i != segmentCount - 1 { segmentFlags.subtract([.fin, .psh]) }  // only on the last
            if i != 0 { segmentFlags.remove(.cwr) }                           // only on the first
            TCPHeader.rewrite(in: transport, sequenceNumber: baseSequence &+ UInt32(truncatingIfNeeded: i * segmentSize),
                              flags: segmentFlags)
            checksumField = TCPHeader.checksumOffset
        } else {
            UDPHeader.setLength(upper, in: transport)
            checksumField = UDPHeader.checksumOffset
        }
        transport.setU16(0, at: checksumField)
        var sum = context.pseudoHeaderSum(protocolNumber: shape.protocolNumber, length: upper)
        sum.add(UnsafeRawBufferPointer(rebasing: transport[..<(headersLength - ip)]))
        // The transport header's length is a multiple of 4, so the payload starts on an even
        // offset of the summed data, as `addCopying` assumes.
        sum.addCopying(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length - headersLength)]),
                       to: UnsafeMutableRawBufferPointer(rebasing: segment[headersLength...]))
        let value = sum.value
        // A UDP checksum that comes out 0 is sent as all ones (RFC 768): 0 means "none".
        transport.setU16(shape.isUDP && value == 0 ? 0xFFFF : value, at: checksumField)
        return length
    }
}
