/// Every header of a frame, found in one pass: the fast way to read a whole stack at once.
///
/// It follows the same rules as `LayerWalker` (EtherTypes, VLAN tags, IP protocols, IPv6
/// extension headers, VXLAN by UDP destination port) and gives the same layers and the same
/// error; the tests hold the two to that on random and mutated frames. Where the walker decodes
/// one header per call, the stack walks the frame in one straight-line function and keeps kinds
/// and offsets in a small buffer on the caller's stack: about twice as fast, and still no
/// allocation. It holds up to `capacity` layers; a deeper frame ends with `.tooManyLayers`.
///
/// ```swift
/// LayerStack.walk(frame, linkType: .ethernet) { layers in
///     for layer in layers { ... }
///     if let error = layers.error { ... }   // what stopped the walk early
/// }
/// ```
///
/// Like the buffer of `withUnsafeBytes`, a stack is valid only inside the closure.
public struct LayerStack: RandomAccessCollection {
    /// The most layers one frame may have: a VXLAN frame with VLAN tags and IPv6 extension
    /// headers on both levels stays well below it.
    public static let capacity = 16

    /// The frame the layers are views into.
    public let packet: UnsafeRawBufferPointer
    @usableFromInline let records: UnsafeMutableBufferPointer<LayerRecord>
    @usableFromInline var recorded = 0
    @usableFromInline var failure: PacketError?

    @inlinable public var endIndex: Int { recorded }
    /// The error that ended the walk before the end of the frame, if one did.
    @inlinable public var error: PacketError? { failure }

    @inlinable public var startIndex: Int { 0 }

    @inlinable
    init(packet: UnsafeRawBufferPointer, records: UnsafeMutableBufferPointer<LayerRecord>) {
        self.packet = packet
        self.records = records
    }

    /// Walks `packet`, whose first header is given by `linkType`, and calls `body` with its layers.
    @inlinable
    public static func walk<Result, Failure: Error>(
        _ packet: UnsafeRawBufferPointer, linkType: LinkType = .ethernet, vxlanPort: UInt16 = VXLANHeader.defaultPort,
        _ body: (LayerStack) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withUnsafeTemporaryAllocation(of: LayerRecord.self, capacity: capacity) { buffer throws(Failure) in
            var stack = LayerStack(packet: packet, records: buffer)
            stack.fill(linkType: linkType, vxlanPort: vxlanPort)
            return try body(stack)
        }
    }

    /// The kind of layer `index`, without building its view.
    @inlinable
    public func kind(at index: Int) -> LayerKind {
        precondition(index >= 0 && index < endIndex, "layer index out of range")
        return records[index].kind
    }

    @inlinable
    public subscript(index: Int) -> Layer {
        precondition(index >= 0 && index < endIndex, "layer index out of range")
        let record = records[index]
        let start = Int(record.start)
        let bytes = packet.unchecked(start, count: Int(record.end) &- start)
        switch record.kind {
        case .ethernet: return .ethernet(EthernetHeader(validated: bytes))
        case .vlan: return .vlan(VLANTag(validated: bytes, tpid: record.detail))
        case .sll: return .sll(LinuxSLLHeader(validated: bytes, version: Int(record.detail)))
        case .arp: return .arp(ARPPacket(validated: bytes))
        case .ipv4: return .ipv4(IPv4Header(validated: bytes))
        case .ipv6: return .ipv6(IPv6Header(validated: bytes))
        case .ipv6Extension:
            return .ipv6Extension(IPv6ExtensionHeader(validated: bytes, type: UInt8(truncatingIfNeeded: record.detail)))
        case .icmp: return .icmp(ICMPHeader(validated: bytes), context(of: record))
        case .icmpv6: return .icmpv6(ICMPv6Header(validated: bytes), context(of: record))
        case .udp: return .udp(UDPHeader(validated: bytes), context(of: record))
        case .tcp: return .tcp(TCPHeader(validated: bytes), context(of: record))
        case .vxlan: return .vxlan(VXLANHeader(validated: bytes))
        case .payload: return .payload(bytes)
        }
    }

    /// The pseudo-header context of a transport header's record, from the view of its IP header
    /// (for IPv6, less the extension headers between the two, as the walk counted them).
    @inlinable
    func context(of record: LayerRecord) -> IPContext {
        let ip = records[record.ipIndex]
        let ipBytes = packet.unchecked(Int(ip.start), count: Int(ip.end &- ip.start))
        guard record.isIPv6 else { return IPv4Header(validated: ipBytes).context }
        var context = IPv6Header(validated: ipBytes).context
        context.upperLayerLength -= Int(record.start &- ip.start) - IPv6Header.length
        context.isFragment = record.isFragment
        return context
    }

    // MARK: The walk

    /// Walks the frame into `records`; an error ends the walk and is kept in `error`.
    @inlinable
    mutating func fill(linkType: LinkType, vxlanPort: UInt16) {
        var count = 0
        do {
            try Self.scan(packet, into: records, count: &count, linkType: linkType, vxlanPort: vxlanPort)
        } catch {
            failure = error
        }
        recorded = count
    }

    /// One level of encapsulation per turn of the outer loop: link header, VLAN tags, IP (and
    /// IPv6 extension headers), transport; VXLAN starts the next turn with its inner Ethernet.
    ///
    /// A static function over locals, not a method on `self`: the count and the buffer then live
    /// in registers instead of being written back through `self` after every layer.
    @inlinable
    static func scan(
        _ packet: UnsafeRawBufferPointer, into records: UnsafeMutableBufferPointer<LayerRecord>, count: inout Int,
        linkType: LinkType, vxlanPort: UInt16
    ) throws(PacketError) {
        var recorded = 0
        defer { count = recorded }
        func append(_ record: LayerRecord) throws(PacketError) {
            guard recorded < records.count else { throw PacketError(record.kind, .tooManyLayers(records.count)) }
            records.initializeElement(at: recorded, to: record)
            recorded &+= 1
        }
        /// What follows the headers: a payload layer when there are bytes left.
        func appendPayload(from offset: Int, to limit: Int) throws(PacketError) {
            if offset < limit { try append(LayerRecord(.payload, start: offset, end: limit)) }
        }
        func bytes(from offset: Int, to limit: Int) -> UnsafeRawBufferPointer {
            packet.unchecked(offset, count: Swift.max(limit &- offset, 0))
        }

        var offset = 0
        var limit = packet.count
        var type: UInt16
        switch linkType {
        case .ethernet:
            let header = try EthernetHeader(checking: bytes(from: 0, to: limit))
            try append(LayerRecord(.ethernet, start: 0, end: limit))
            offset = EthernetHeader.length
            type = header.etherType
        case .linuxSLL, .linuxSLL2:
            let version = linkType == .linuxSLL2 ? 2 : 1
            let header = try LinuxSLLHeader(checking: bytes(from: 0, to: limit), version: version)
            try append(LayerRecord(.sll, start: 0, end: limit, detail: UInt16(version)))
            offset = header.length
            type = header.protocolType
        case .raw:
            guard limit > 0 else { throw PacketError(.ipv4, .truncated(needed: IPv4Header.minimumLength, available: 0)) }
            switch packet[0] >> 4 {
            case 4: type = EtherType.ipv4
            case 6: type = EtherType.ipv6
            default: return try appendPayload(from: 0, to: limit)
            }
        case .ipv4: type = EtherType.ipv4
        case .ipv6: type = EtherType.ipv6
        }

        while true {
            while EtherType.isVLANTag(type) {
                let tag = try VLANTag(checking: bytes(from: offset, to: limit), tpid: type)
                try append(LayerRecord(.vlan, start: offset, end: Swift.max(offset, limit), detail: type))
                offset &+= VLANTag.length
                type = tag.etherType
            }

            let ipIndex = recorded
            var proto: UInt8
            var upper: Int
            var flags: UInt8
            switch type {
            case EtherType.ipv4:
                let ip = try IPv4Header(checking: bytes(from: offset, to: limit))
                limit = offset &+ ip.bytes.count
                try append(LayerRecord(.ipv4, start: offset, end: limit))
                offset &+= ip.headerLength
                upper = Swift.max(ip.totalLength &- ip.headerLength, 0)
                flags = ip.isFragment ? LayerRecord.isFragment : 0
                proto = ip.protocolNumber
                if ip.fragmentOffset != 0 { return try appendPayload(from: offset, to: limit) }
            case EtherType.ipv6:
                let ip = try IPv6Header(checking: bytes(from: offset, to: limit))
                limit = offset &+ ip.bytes.count
                try append(LayerRecord(.ipv6, start: offset, end: limit))
                offset &+= IPv6Header.length
                upper = ip.payloadLength
                flags = LayerRecord.isIPv6
                proto = ip.nextHeader
                while IPv6ExtensionHeader.isSupported(proto) {
                    let header = try IPv6ExtensionHeader(checking: bytes(from: offset, to: limit), type: proto)
                    try append(LayerRecord(.ipv6Extension, start: offset, end: Swift.max(offset, limit), detail: UInt16(proto)))
                    offset &+= header.length
                    upper &-= header.length
                    proto = header.nextHeader
                    if header.isFragmentHeader {
                        if !header.isAtomicFragment { flags |= LayerRecord.isFragment }
                        if header.fragmentOffset != 0 { return try appendPayload(from: offset, to: limit) }
                    }
                }
            case EtherType.arp:
                _ = try ARPPacket(checking: bytes(from: offset, to: limit))
                return try append(LayerRecord(.arp, start: offset, end: Swift.max(offset, limit)))
            default:
                return try appendPayload(from: offset, to: limit)
            }

            let isIPv6 = flags & LayerRecord.isIPv6 != 0
            let end = Swift.max(offset, limit)
            switch proto {
            case IPProtocol.tcp:
                let tcp = try TCPHeader(checking: bytes(from: offset, to: limit), segmentLength: upper)
                try append(LayerRecord(.tcp, start: offset, end: end, ipIndex: ipIndex, flags: flags))
                return try appendPayload(from: offset &+ tcp.headerLength, to: limit)
            case IPProtocol.udp:
                let udp = try UDPHeader(checking: bytes(from: offset, to: limit))
                try append(LayerRecord(.udp, start: offset, end: end, ipIndex: ipIndex, flags: flags))
                offset &+= UDPHeader.length
                guard udp.destinationPort == vxlanPort else { return try appendPayload(from: offset, to: limit) }
                _ = try VXLANHeader(checking: bytes(from: offset, to: limit))
                try append(LayerRecord(.vxlan, start: offset, end: Swift.max(offset, limit)))
                offset &+= VXLANHeader.length
                let inner = try EthernetHeader(checking: bytes(from: offset, to: limit))
                try append(LayerRecord(.ethernet, start: offset, end: Swift.max(offset, limit)))
                offset &+= EthernetHeader.length
                type = inner.etherType
            case IPProtocol.icmp where !isIPv6:
                _ = try ICMPHeader(checking: bytes(from: offset, to: limit))
                try append(LayerRecord(.icmp, start: offset, end: end, ipIndex: ipIndex, flags: flags))
                return try appendPayload(from: offset &+ ICMPHeader.length, to: limit)
            case IPProtocol.icmpv6 where isIPv6:
                _ = try ICMPv6Header(checking: bytes(from: offset, to: limit))
                try append(LayerRecord(.icmpv6, start: offset, end: end, ipIndex: ipIndex, flags: flags))
                return try appendPayload(from: offset &+ ICMPv6Header.length, to: limit)
            default:
                return try appendPayload(from: offset, to: limit)
            }
        }
    }
}
