/// Walks a frame from its outermost header to its innermost, one `Layer` at a time.
///
/// It follows EtherTypes, VLAN tags, IP protocols, IPv6 extension headers and VXLAN (by UDP
/// destination port), and stops with a typed error at the first header that is malformed or
/// cut short. It copies nothing and allocates nothing: each layer is a view into `packet`.
///
/// ```swift
/// var walker = LayerWalker(frame, linkType: .ethernet)
/// while let layer = try walker.next() { ... }
/// ```
///
/// Every step consumes at least one byte, so a walk ends on any input.
public struct LayerWalker {
    /// What the bytes at `offset` are expected to be.
    @usableFromInline
    enum Expect: UInt8 {
        case ethernet
        case sll
        case rawIP
        case etherType
        case ipProtocol
        case vxlan
        case payload
        case done
    }

    @usableFromInline let packet: UnsafeRawBufferPointer
    @usableFromInline var offset = 0
    /// The end of the innermost IP datagram seen so far (or of the captured bytes).
    @usableFromInline var limit: Int
    @usableFromInline var expect = Expect.done
    /// The EtherType, IP protocol or SLL version that `expect` refers to.
    @usableFromInline var nextType: UInt16 = 0
    /// The pseudo-header context of the innermost IP header.
    @usableFromInline var context = IPContext(addresses: UnsafeRawBufferPointer(start: nil, count: 0), upperLayerLength: 0, isFragment: false)
    /// Set for a later fragment: what follows the IP headers is payload.
    @usableFromInline var laterFragment = false
    /// The UDP destination port that announces VXLAN.
    public let vxlanPort: UInt16

    /// Starts a walk over `packet`, whose first header is given by `linkType`.
    @inlinable
    public init(_ packet: UnsafeRawBufferPointer, linkType: LinkType = .ethernet, vxlanPort: UInt16 = VXLANHeader.defaultPort) {
        self.packet = packet
        self.limit = packet.count
        self.vxlanPort = vxlanPort
        switch linkType {
        case .ethernet: expect = .ethernet
        case .raw: expect = .rawIP
        case .ipv4: next(.etherType, type: EtherType.ipv4)
        case .ipv6: next(.etherType, type: EtherType.ipv6)
        case .linuxSLL: next(.sll, type: 1)
        case .linuxSLL2: next(.sll, type: 2)
        }
    }

    /// Sets what comes next: a state and the type number it refers to.
    @inlinable
    mutating func next(_ state: Expect, type: UInt16) {
        expect = state
        nextType = type
    }

    /// The bytes from the current position to the current limit.
    @inlinable
    var rest: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: packet[offset..<Swift.max(offset, limit)])
    }

    /// The next layer, nil at the end, or the error that ends the walk.
    @inlinable
    public mutating func next() throws(PacketError) -> Layer? {
        do {
            return try step()
        } catch {
            expect = .done
            throw error
        }
    }

    /// One step; cases that only redirect (a raw IP version nibble, an unknown type) loop
    /// instead of recursing, so the whole step can be inlined into the caller.
    @inlinable
    mutating func step() throws(PacketError) -> Layer? {
        while true {
            if let layer = try stepOnce() { return layer }
            if case .done = expect { return nil }
        }
    }

    /// Decodes at most one header: nil with `expect` changed means "look again".
    @inlinable
    mutating func stepOnce() throws(PacketError) -> Layer? {
        switch expect {
        case .done:
            return nil

        case .ethernet:
            let header = try EthernetHeader(rest)
            offset += EthernetHeader.length
            next(.etherType, type: header.etherType)
            return .ethernet(header)

        case .sll:
            let header = try LinuxSLLHeader(rest, version: Int(nextType))
            offset += header.length
            next(.etherType, type: header.protocolType)
            return .sll(header)

        case .rawIP:
            guard offset < limit else {
                throw PacketError(.ipv4, .truncated(needed: IPv4Header.minimumLength, available: 0))
            }
            switch packet[offset] >> 4 {
            case 4: next(.etherType, type: EtherType.ipv4)
            case 6: next(.etherType, type: EtherType.ipv6)
            default: expect = .payload
            }
            return nil

        case .etherType:
            return try stepEtherType(nextType)

        case .ipProtocol:
            return try stepIPProtocol(UInt8(truncatingIfNeeded: nextType))

        case .vxlan:
            let header = try VXLANHeader(rest)
            offset += VXLANHeader.length
            expect = .ethernet
            return .vxlan(header)

        case .payload:
            expect = .done
            let bytes = rest
            return bytes.isEmpty ? nil : .payload(bytes)
        }
    }

    @inlinable
    mutating func stepEtherType(_ type: UInt16) throws(PacketError) -> Layer? {
        switch type {
        case EtherType.ipv4:
            let header = try IPv4Header(rest)
            limit = offset + header.bytes.count
            offset += header.headerLength
            context = header.context
            laterFragment = header.fragmentOffset != 0
            next(.ipProtocol, type: UInt16(header.protocolNumber))
            return .ipv4(header)
        case EtherType.ipv6:
            let header = try IPv6Header(rest)
            limit = offset + header.bytes.count
            offset += IPv6Header.length
            context = header.context
            laterFragment = false
            next(.ipProtocol, type: UInt16(header.nextHeader))
            return .ipv6(header)
        case EtherType.arp:
            let body = try ARPPacket(rest)
            expect = .done
            return .arp(body)
        case _ where EtherType.isVLANTag(type):
            let tag = try VLANTag(rest, tpid: type)
            offset += VLANTag.length
            next(.etherType, type: tag.etherType)
            return .vlan(tag)
        default:
            expect = .payload
            return nil
        }
    }

    @inlinable
    mutating func stepIPProtocol(_ proto: UInt8) throws(PacketError) -> Layer? {
        if laterFragment {
            expect = .payload
            return nil
        }
        switch proto {
        case IPProtocol.tcp:
            let header = try TCPHeader(rest, segmentLength: context.upperLayerLength)
            offset += header.headerLength
            expect = .payload
            return .tcp(header, context)
        case IPProtocol.udp:
            let header = try UDPHeader(rest)
            offset += UDPHeader.length
            expect = header.destinationPort == vxlanPort ? .vxlan : .payload
            return .udp(header, context)
        case IPProtocol.icmp where !context.isIPv6:
            let header = try ICMPHeader(rest)
            offset += ICMPHeader.length
            expect = .payload
            return .icmp(header, context)
        case IPProtocol.icmpv6 where context.isIPv6:
            let header = try ICMPv6Header(rest)
            offset += ICMPv6Header.length
            expect = .payload
            return .icmpv6(header, context)
        case _ where context.isIPv6 && IPv6ExtensionHeader.isSupported(proto):
            let header = try IPv6ExtensionHeader(rest, type: proto)
            offset += header.length
            context.upperLayerLength -= header.length
            if header.isFragmentHeader {
                context.isFragment = !header.isAtomicFragment
                laterFragment = header.fragmentOffset != 0
            }
            next(.ipProtocol, type: UInt16(header.nextHeader))
            return .ipv6Extension(header)
        default:
            expect = .payload
            return nil
        }
    }
}
