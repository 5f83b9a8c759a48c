import Packet

/// Answers the neighbour discovery a peer sends before it can address a frame: ARP requests
/// (IPv4) and neighbour solicitations (IPv6) for the proxy's own addresses and for what it
/// routes, with the proxy's MAC for that VNI.
///
/// "What it routes" is proxy ARP as a router does it: every address except those the asking
/// peer's own routes hold (the asker reaches them itself) and the rest of the proxy's overlay
/// subnets (other hosts there answer for themselves). So a kernel vxlan peer resolving
/// 10.200.0.2 gets an answer only if that is the proxy's address, and a proxy resolving a host
/// on the far site's LAN gets one from the proxy in front of it.
///
/// It writes the reply frame into the caller's buffer; nothing is allocated.
struct NeighborResponder: Sendable {
    /// The MAC the proxy uses on this VNI.
    let mac: MACAddress
    /// Addresses and prefixes the proxy always answers for.
    let prefixes: [IPPrefix]
    /// With `routesOthers`, the addresses it does not answer for.
    let excluded: [IPPrefix]
    /// Answer for every address outside `excluded` too (proxy ARP).
    let routesOthers: Bool

    init(mac: MACAddress, answersFor prefixes: [IPPrefix], routesAllBut excluded: [IPPrefix]? = nil) {
        self.mac = mac
        self.prefixes = prefixes
        self.excluded = excluded ?? []
        routesOthers = excluded != nil
    }

    func owns(_ address: IPAddress) -> Bool {
        if prefixes.contains(where: { $0.contains(address) }) { return true }
        guard routesOthers, !address.isMulticastOrUnspecified else { return false }
        return !excluded.contains { $0.isIPv6 == address.isIPv6 && $0.contains(address) }
    }

    /// If `frame` (an inner Ethernet frame) asks for an address the proxy answers for, writes
    /// the reply frame to `out` and returns its length; otherwise nil.
    func reply(to frame: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var walker = LayerWalker(frame)
        guard case let .ethernet(ethernet)?? = try? walker.next() else { return nil }
        switch try? walker.next() {
        case let .arp(arp)?:
            return arpReply(ethernet, arp, into: out)
        case let .ipv6(ip)?:
            guard ip.hopLimit == 255, case let .icmpv6(icmp, context)?? = try? walker.next(),
                  icmp.type == ICMPv6Header.MessageType.neighborSolicitation, icmp.code == 0,
                  icmp.checksumStatus(in: context) == true, icmp.body.count >= 16
            else { return nil }
            return neighborAdvertisement(ethernet, ip, target: IPv6Address(icmp.body, at: 0), into: out)
        default:
            return nil
        }
    }

    private func arpReply(_ ethernet: EthernetHeader, _ arp: ARPPacket, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard arp.isEthernetIPv4, arp.operation == 1, arp.protocolType == EtherType.ipv4,
              owns(.v4(arp.targetIP)), arp.senderIP != arp.targetIP,  // not a gratuitous ARP
              out.count >= 42
        else { return nil }
        do {
            try EthernetHeader.write(into: out, destination: arp.senderMAC, source: mac, etherType: EtherType.arp)
            try ARPPacket.write(into: UnsafeMutableRawBufferPointer(rebasing: out[14...]), operation: 2,
                                senderMAC: mac, senderIP: arp.targetIP, targetMAC: arp.senderMAC, targetIP: arp.senderIP)
        } catch {
            return nil
        }
        return 42
    }

    /// A neighbour solicitation from `source` for `target` (RFC 4861 section 7.2.2: to the
    /// solicited-node multicast address, with the source link-layer option); returns its length.
    func solicitation(for target: IPv6Address, from source: IPv6Address, into out: UnsafeMutableRawBufferPointer) -> Int? {
        let length = 14 + 40 + 8 + 16 + 8
        guard out.count >= length else { return nil }
        let low24 = target.low & 0xFF_FFFF
        let group = IPv6Address(high: 0xFF02_0000_0000_0000, low: 0x0000_0001_FF00_0000 | low24)
        do {
            try EthernetHeader.write(into: out, destination: MACAddress(rawValue: 0x3333_FF00_0000 | low24), source: mac,
                                     etherType: EtherType.ipv6)
            let packet = UnsafeMutableRawBufferPointer(rebasing: out[14..<length])
            try IPv6Header.write(into: packet, source: source, destination: group, nextHeader: IPProtocol.icmpv6,
                                 payloadLength: 32, hopLimit: 255)
            let icmp = UnsafeMutableRawBufferPointer(rebasing: packet[IPv6Header.length...])
            try NeighborDiscoveryBody.write(into: UnsafeMutableRawBufferPointer(rebasing: icmp[ICMPv6Header.length...]), target: target,
                                            option: NeighborDiscoveryBody.OptionType.sourceLinkLayerAddress, mac: mac)
            let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: packet[8..<40]), upperLayerLength: 32,
                                    isFragment: false)
            try ICMPv6Header.write(into: icmp, type: ICMPv6Header.MessageType.neighborSolicitation, code: 0,
                                   restOfHeader: 0, bodyLength: 24, context: context)
        } catch {
            return nil
        }
        return length
    }

    /// RFC 4861 section 7.2.4: solicited (unless the source is unspecified, as in DAD, when the
    /// advertisement goes to all nodes) and override, with the target link-layer option.
    private func neighborAdvertisement(
        _ ethernet: EthernetHeader, _ ip: IPv6Header, target: IPv6Address, into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard owns(.v6(target)) else { return nil }
        let length = 14 + 40 + 8 + 16 + 8
        guard out.count >= length else { return nil }
        let unspecified = ip.source == IPv6Address(high: 0, low: 0)
        let destination = unspecified ? IPv6Address(high: 0xFF02_0000_0000_0000, low: 1) : ip.source
        let destinationMAC = unspecified ? MACAddress(rawValue: 0x3333_0000_0001) : ethernet.source
        do {
            try EthernetHeader.write(into: out, destination: destinationMAC, source: mac, etherType: EtherType.ipv6)
            let packet = UnsafeMutableRawBufferPointer(rebasing: out[14..<length])
            try IPv6Header.write(into: packet, source: target, destination: destination, nextHeader: IPProtocol.icmpv6,
                                 payloadLength: 32, hopLimit: 255)
            let icmp = UnsafeMutableRawBufferPointer(rebasing: packet[IPv6Header.length...])
            try NeighborDiscoveryBody.write(into: UnsafeMutableRawBufferPointer(rebasing: icmp[ICMPv6Header.length...]), target: target,
                                            option: NeighborDiscoveryBody.OptionType.targetLinkLayerAddress, mac: mac)
            let flags = NeighborDiscoveryBody.AdvertisementFlags.override
                | (unspecified ? 0 : NeighborDiscoveryBody.AdvertisementFlags.solicited)
            let context = IPContext(addresses: UnsafeRawBufferPointer(rebasing: packet[8..<40]), upperLayerLength: 32,
                                    isFragment: false)
            try ICMPv6Header.write(into: icmp, type: ICMPv6Header.MessageType.neighborAdvertisement, code: 0,
                                   restOfHeader: flags, bodyLength: 24, context: context)
        } catch {
            return nil
        }
        return length
    }
}
