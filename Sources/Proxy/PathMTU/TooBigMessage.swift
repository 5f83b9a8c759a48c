import Packet

/// The ICMP message a tunnel owes the sender of an inner packet too large for the underlay:
/// "fragmentation needed" (ICMP 3/4, RFC 1191) for IPv4 with DF, "packet too big" (ICMPv6 2,
/// RFC 8201) for IPv6, so that path MTU discovery shrinks the flow instead of losing it.
enum TooBigMessage {
    /// Writes the message about `packet` (a raw IP packet over `mtu`) back to the packet's
    /// sender into `out`; returns its length, or nil when none is due: IPv4 without DF (it may
    /// be fragmented), a later fragment, or an ICMP error (never answered with another).
    ///
    /// It comes from the proxy's TUN address of that family, as from a router, except when the
    /// sender *is* that address (the proxy's own host): the kernel drops an IPv4 packet whose
    /// source is one of its own addresses as a martian, so the message then comes from the
    /// packet's destination, which is routed through the tunnel.
    static func write(for packet: UnsafeRawBufferPointer, mtu: Int, sources: [IPAddress],
                             into out: UnsafeMutableRawBufferPointer) -> Int? {
        var walker = LayerWalker(packet, linkType: .raw)
        switch try? walker.next() {
        case let .ipv4(ip)?:
            guard ip.dontFragment, ip.fragmentOffset == 0 else { return nil }
            var source = ip.destination
            if case let .v4(own)? = sources.first(where: { !$0.isIPv6 && $0 != .v4(ip.source) }) { source = own }
            if ip.protocolNumber == IPProtocol.icmp, let type = packet.dropFirst(ip.headerLength).first,
               ![0, 8, 13, 14].contains(type)
            { return nil }  // only echo and timestamp queries/replies are not errors
            // RFC 1812 4.3.2.3: quote as much as fits in 576 bytes.
            let quoted = min(packet.count, 576 - 28)
            let length = 28 + quoted
            guard out.count >= length else { return nil }
            UnsafeMutableRawBufferPointer(rebasing: out[28..<length]).copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[..<quoted]))
            do {
                try ICMPHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: out[20..<length]),
                                     type: ICMPHeader.MessageType.destinationUnreachable,
                                     code: ICMPHeader.MessageType.fragmentationNeededCode,
                                     restOfHeader: UInt32(min(mtu, 0xFFFF)), bodyLength: quoted)
                try IPv4Header.write(into: out, source: source, destination: ip.source, protocolNumber: IPProtocol.icmp,
                                     totalLength: length, ttl: 64, dontFragment: false)
            } catch {
                return nil
            }
            return length
        case let .ipv6(ip)?:
            var source = ip.destination
            if case let .v6(own)? = sources.first(where: { $0.isIPv6 && $0 != .v6(ip.source) }) { source = own }
            if case let .icmpv6(icmp, _)?? = try? walker.next(), icmp.type < 128 { return nil }
            // RFC 4443 2.4(c): as much of the packet as fits in the minimum MTU, 1280 bytes.
            let quoted = min(packet.count, 1280 - 48)
            let length = 48 + quoted
            guard out.count >= length else { return nil }
            UnsafeMutableRawBufferPointer(rebasing: out[48..<length]).copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[..<quoted]))
            do {
                try IPv6Header.write(into: out, source: source, destination: ip.source, nextHeader: IPProtocol.icmpv6,
                                     payloadLength: length - 40, hopLimit: 64)
                let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: out[8..<40]), upperLayerLength: length - 40,
                                        isFragment: false)
                try ICMPv6Header.write(into: UnsafeMutableRawBufferPointer(rebasing: out[40..<length]),
                                       type: ICMPv6Header.MessageType.packetTooBig, code: 0, restOfHeader: UInt32(mtu),
                                       bodyLength: quoted, context: context)
            } catch {
                return nil
            }
            return length
        default:
            return nil
        }
    }
}
