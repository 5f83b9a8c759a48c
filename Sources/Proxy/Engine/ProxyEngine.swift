import Packet

/// The proxy's forwarding decisions, without I/O: what to do with a datagram from the underlay
/// and with a packet from the TUN device. One engine belongs to one worker; buffers are the
/// caller's, and nothing is allocated per packet.
///
/// Wire compatibility with Linux vxlan devices: the proxy owns a MAC per VNI, answers ARP and
/// neighbour solicitations for its TUN addresses, resolves the MAC of each inner destination
/// with ARP/NDP and keeps it in a neighbour cache (`NeighborTable`), and finishes inner
/// checksums a kernel peer left partial (CHECKSUM_PARTIAL over veth) before the TUN device
/// sees the packet.
final class ProxyEngine {
    /// What to do with a datagram received on the underlay socket.
    enum Ingress: Equatable, Sendable {
        /// Write the inner packet at `start..<start+length` of the datagram (checksums finished
        /// there, in place) to the TUN device; it came from peer `peer`.
        case deliver(peer: Int, start: Int, length: Int)
        /// Send `length` bytes of the reply buffer (VXLAN header and frame) to peer `peer`.
        case reply(peer: Int, length: Int)
        /// A neighbour discovery answer (ARP reply, advertisement): it may have taught the
        /// proxy a neighbour's MAC, and there is nothing to forward.
        case absorbed
        case drop(DropReason)
    }

    /// What to do with a packet read from the TUN device.
    enum Egress: Equatable, Sendable {
        /// Send the VXLAN payload at `start..<start+length` of the slot to peer `peer`, at
        /// `endpoint`. The caller picks the outer UDP source port from the inner flow's hash
        /// (RFC 7348 section 5): it has the flow key already.
        case send(peer: Int, endpoint: SocketEndpoint, start: Int, length: Int)
        /// Write the ICMP message in the reply buffer back to the TUN device.
        case tooBig(length: Int)
        /// Send the ARP/NDP request in the reply buffer to peer `peer`, and hold the packet
        /// until the answer comes.
        case resolve(peer: Int, length: Int)
        /// Hold the packet: a request for its destination went out less than a second ago.
        case wait
        case drop(DropReason)
    }

    private(set) var configuration: ProxyConfiguration
    /// The largest inner packet each peer's path carries (its underlay path MTU less the
    /// VXLAN overhead), by peer index.
    private(set) var pathMTUs: [Int]
    private let defaultMTU: Int
    private var neighbors: NeighborCache
    private var tunSources: [IPAddress]
    /// The directed broadcast addresses of the device's IPv4 subnets.
    private var broadcasts: [IPAddress]
    private var responders: [NeighborResponder]
    /// The listen address's part of the proxy's MACs, hashed once: egress writes a source MAC
    /// into every packet, and hashing the address's text there allocated per packet.
    private var macSalt: UInt64
    /// The batch's time (monotonic nanoseconds), for neighbour ageing.
    private var now: UInt64 = 0
    /// Neighbours in use whose entries grew old: a request each is owed (`takeRequests`).
    private var owed: [(peer: Int, address: IPAddress)] = []
    private static let owedLimit = 16

    init(configuration: ProxyConfiguration, mtu: Int, neighbors: NeighborTable = NeighborTable()) {
        self.configuration = configuration
        defaultMTU = mtu
        pathMTUs = Array(repeating: mtu, count: configuration.peers.count)
        self.neighbors = NeighborCache(table: neighbors)
        tunSources = configuration.tun.addresses.map(\.address)
        broadcasts = Self.broadcasts(configuration)
        macSalt = Self.macSalt(listen: configuration.listen)
        responders = []
        owed.reserveCapacity(Self.owedLimit)
        responders = configuration.peers.map { responder(for: $0) }
    }

    private func responder(for peer: ProxyConfiguration.Peer) -> NeighborResponder {
        let hosts = configuration.tun.addresses.compactMap { IPPrefix(address: $0.address, length: $0.isIPv6 ? 128 : 32) }
        return NeighborResponder(mac: mac(vni: peer.vni), answersFor: hosts,
                                 routesAllBut: peer.routes + configuration.tun.addresses.map(\.network))
    }

    private static func broadcasts(_ configuration: ProxyConfiguration) -> [IPAddress] {
        configuration.tun.addresses.compactMap { prefix in
            guard case let .v4(a) = prefix.address, prefix.length < 31 else { return nil }
            return .v4(IPv4Address(rawValue: a.rawValue | ~UInt32(0) >> UInt32(prefix.length)))
        }
    }

    /// A peer's identity across reloads: endpoint and VNI.
    static func key(_ peer: ProxyConfiguration.Peer) -> String { "\(peer.endpoint) vni \(peer.vni)" }

    /// Takes new peers and routes (SIGHUP). Learned neighbours stay: the daemon removes those
    /// that no peer routes any more from the shared table. A peer kept with the same endpoint
    /// and VNI keeps its path MTU.
    func reconfigure(_ new: ProxyConfiguration) {
        let old = Dictionary(configuration.peers.enumerated().map { (Self.key($0.element), pathMTUs[$0.offset]) },
                             uniquingKeysWith: { a, _ in a })
        configuration = new
        macSalt = Self.macSalt(listen: new.listen)
        pathMTUs = new.peers.map { old[Self.key($0)] ?? defaultMTU }
        tunSources = new.tun.addresses.map(\.address)
        broadcasts = Self.broadcasts(new)
        responders = new.peers.map { responder(for: $0) }
        owed.removeAll(keepingCapacity: true)
    }

    /// Sets the largest inner packet peer `peer`'s path carries (the path MTU changed).
    func setPathMTU(_ mtu: Int, peer: Int) {
        guard pathMTUs.indices.contains(peer) else { return }
        pathMTUs[peer] = mtu
    }

    /// Starts a batch at `now` (monotonic nanoseconds): takes what other workers learned.
    @inline(__always)
    func beginBatch(now: UInt64) {
        self.now = now
        neighbors.refresh()
    }

    /// The proxy's MAC on a VNI: locally administered and unicast (02), two bytes from a hash
    /// of the underlay listen address, so two proxies on one overlay differ (a kernel bridge
    /// learning both would otherwise see one MAC flap between them), then the 24-bit VNI.
    static func mac(vni: UInt32, listen: SocketEndpoint) -> MACAddress {
        mac(vni: vni, salt: macSalt(listen: listen))
    }

    private static func macSalt(listen: SocketEndpoint) -> UInt64 {
        var hash: UInt32 = 0x811C_9DC5  // FNV-1a: stable across runs, unlike hashValue
        for byte in listen.description.utf8 { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        return UInt64((hash ^ hash >> 16) & 0xFFFF)
    }

    private static func mac(vni: UInt32, salt: UInt64) -> MACAddress {
        MACAddress(rawValue: 0x0200_0000_0000 | salt << 24 | UInt64(vni & 0xFF_FFFF))
    }

    private func mac(vni: UInt32) -> MACAddress { Self.mac(vni: vni, salt: macSalt) }

    /// The peer whose routes hold `address` (longest prefix), or -1.
    @inline(__always)
    private func route(to address: IPAddress) -> Int {
        var peer = -1
        var bestLength = -1
        for (i, candidate) in configuration.peers.enumerated() {
            for route in candidate.routes where route.length > bestLength && route.contains(address) {
                peer = i
                bestLength = route.length
            }
        }
        return peer
    }

    /// Whether a frame from peer `peer` may teach the MAC of `address`: only addresses routed
    /// to that peer, never the proxy's own, never a group address.
    private func mayLearn(_ address: IPAddress, from peer: Int) -> Bool {
        !address.isMulticastOrUnspecified && !tunSources.contains(address) && !broadcasts.contains(address)
            && route(to: address) == peer
    }

    // MARK: Underlay to TUN

    /// Decides for a datagram from the underlay. The datagram is the caller's receive buffer:
    /// an inner packet is delivered where it lies, with a partial checksum finished in place,
    /// so the only copy on the way to the TUN device is the one the kernel makes.
    func ingress(
        _ datagram: UnsafeMutableRawBufferPointer, from source: IPAddress, reply: UnsafeMutableRawBufferPointer
    ) -> Ingress {
        guard let vxlan = try? VXLANHeader(UnsafeRawBufferPointer(datagram)), vxlan.hasValidVNI else { return .drop(.malformed) }
        var known = false
        var peer = -1
        for (i, candidate) in configuration.peers.enumerated() where candidate.endpoint.address == source {
            known = true
            if candidate.vni == vxlan.vni {
                peer = i
                break
            }
        }
        guard known else { return .drop(.unknownPeer) }
        guard peer >= 0 else { return .drop(.wrongVNI) }
        let frame = vxlan.payload
        guard let ethernet = try? EthernetHeader(frame) else { return .drop(.malformed) }
        // Like a NIC out of promiscuous mode: unicast to another MAC is for another host on the
        // peer's segment (a bridge flooding an unknown destination), not for this one.
        let toUs = ethernet.destination == mac(vni: vxlan.vni)
        guard toUs || ethernet.destination.isMulticast else { return .drop(.otherHost) }
        switch ethernet.etherType {
        case EtherType.arp:
            return arp(ethernet, frame: frame, peer: peer, vni: vxlan.vni, toUs: toUs, reply: reply)
        case EtherType.ipv6 where Self.neighborDiscoveryType(ethernet.payload) != nil:
            return neighborDiscovery(ethernet, frame: frame, peer: peer, vni: vxlan.vni, toUs: toUs, reply: reply, in: datagram)
        case EtherType.ipv4, EtherType.ipv6:
            return deliver(ethernet.payload, from: peer, vni: vxlan.vni,
                           sourceMAC: toUs && !ethernet.source.isMulticast ? ethernet.source : nil, in: datagram)
        default:
            return .drop(.unsupportedFrame)
        }
    }

    /// Requests for addresses the proxy answers for get an answer, and teach the asker's MAC
    /// (the kernel does the same); replies addressed to the proxy teach the sender's. A
    /// request for another address is for another host, and teaches nothing.
    private func arp(_ ethernet: EthernetHeader, frame: UnsafeRawBufferPointer, peer: Int, vni: UInt32, toUs: Bool,
                     reply: UnsafeMutableRawBufferPointer) -> Ingress {
        guard let arp = try? ARPPacket(ethernet.payload), arp.isEthernetIPv4, arp.protocolType == EtherType.ipv4 else {
            return .drop(.malformed)
        }
        let sender = IPAddress.v4(arp.senderIP)
        let teaches = !arp.senderMAC.isMulticast && arp.senderMAC != .zero && mayLearn(sender, from: peer)
        switch arp.operation {
        case 1:
            guard reply.count > VXLANHeader.length,
                  let length = responders[peer].reply(to: frame, into: UnsafeMutableRawBufferPointer(rebasing: reply[VXLANHeader.length...])),
                  (try? VXLANHeader.write(into: reply, vni: vni)) != nil
            else { return .drop(.otherHost) }
            if teaches { neighbors.observe(arp.senderMAC, for: NeighborKey(vni: vni, address: sender), evidence: .discovery, now: now) }
            return .reply(peer: peer, length: VXLANHeader.length + length)
        case 2:
            // A gratuitous or broadcast reply changes nothing: anyone behind the peer may send one.
            if toUs, teaches { neighbors.observe(arp.senderMAC, for: NeighborKey(vni: vni, address: sender), evidence: .discovery, now: now) }
            return .absorbed
        default:
            return .drop(.unsupportedFrame)
        }
    }

    /// The ICMPv6 type of a neighbour solicitation or advertisement, else nil.
    private static func neighborDiscoveryType(_ packet: UnsafeRawBufferPointer) -> UInt8? {
        guard let ip = try? IPv6Header(packet), ip.nextHeader == IPProtocol.icmpv6, let type = ip.payload.first,
              type == ICMPv6Header.MessageType.neighborSolicitation || type == ICMPv6Header.MessageType.neighborAdvertisement
        else { return nil }
        return type
    }

    /// Solicitations for the proxy's addresses are answered and teach the asker's MAC;
    /// solicited advertisements addressed to the proxy teach the target's. Other solicitations
    /// go on to the TUN device as before (the kernel there ignores them).
    private func neighborDiscovery(
        _ ethernet: EthernetHeader, frame: UnsafeRawBufferPointer, peer: Int, vni: UInt32, toUs: Bool,
        reply: UnsafeMutableRawBufferPointer, in datagram: UnsafeMutableRawBufferPointer
    ) -> Ingress {
        guard let ip = try? IPv6Header(ethernet.payload), let icmp = try? ICMPv6Header(ip.payload),
              icmp.checksumStatus(in: ip.context) == true, ip.hopLimit == 255, let body = try? NeighborDiscoveryBody(icmp.body)
        else { return .drop(.malformed) }
        let target = body.target
        if icmp.type == ICMPv6Header.MessageType.neighborAdvertisement {
            let solicited = icmp.restOfHeader & NeighborDiscoveryBody.AdvertisementFlags.solicited != 0
            let mac = body.linkLayerAddress(type: NeighborDiscoveryBody.OptionType.targetLinkLayerAddress) ?? ethernet.source
            if toUs, solicited, !mac.isMulticast, mayLearn(.v6(target), from: peer) {
                neighbors.observe(mac, for: NeighborKey(vni: vni, address: .v6(target)), evidence: .discovery, now: now)
            }
            return .absorbed
        }
        guard reply.count > VXLANHeader.length,
              let length = responders[peer].reply(to: frame, into: UnsafeMutableRawBufferPointer(rebasing: reply[VXLANHeader.length...])),
              (try? VXLANHeader.write(into: reply, vni: vni)) != nil
        else {
            return deliver(ethernet.payload, from: peer, vni: vni, sourceMAC: nil, in: datagram)
        }
        let asker = IPAddress.v6(ip.source)
        if let mac = body.linkLayerAddress(type: NeighborDiscoveryBody.OptionType.sourceLinkLayerAddress), !mac.isMulticast,
           mayLearn(asker, from: peer) {
            neighbors.observe(mac, for: NeighborKey(vni: vni, address: asker), evidence: .discovery, now: now)
        }
        return .reply(peer: peer, length: VXLANHeader.length + length)
    }

    /// Finds the inner IP packet (without Ethernet padding) in `payload`, a view into
    /// `buffer`, checks that its lengths hold, and finishes a transport checksum left partial,
    /// in place. With `sourceMAC` (a unicast frame to the proxy), the packet's source confirms
    /// or teaches that neighbour.
    private func deliver(
        _ payload: UnsafeRawBufferPointer, from peer: Int, vni: UInt32, sourceMAC: MACAddress?,
        in buffer: UnsafeMutableRawBufferPointer
    ) -> Ingress {
        var walker = LayerWalker(payload, linkType: .raw)
        guard let ipLayer = try? walker.next() else { return .drop(.malformed) }
        let datagram: UnsafeRawBufferPointer
        let sourceAddress: IPAddress
        switch ipLayer {
        case let .ipv4(ip):
            // The view clips to what arrived; a total length past it is a datagram cut short,
            // which the kernel behind the TUN device would drop without a count.
            guard ip.totalLength <= payload.count, ip.isChecksumValid else { return .drop(.malformed) }
            datagram = ip.bytes
            sourceAddress = .v4(ip.source)
        case let .ipv6(ip):
            guard ip.payloadLength > 0, IPv6Header.length + ip.payloadLength <= payload.count else { return .drop(.malformed) }
            datagram = ip.bytes
            sourceAddress = .v6(ip.source)
        default:
            return .drop(.unsupportedFrame)
        }
        guard let base = buffer.baseAddress, let first = datagram.baseAddress else { return .drop(.malformed) }
        let offset = first - UnsafeRawPointer(base)
        guard offset >= 0, offset + datagram.count <= buffer.count else { return .drop(.malformed) }
        let out = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + datagram.count)])
        var layer: Layer?
        do {
            layer = try walker.next()
            while case let .ipv6Extension(header)? = layer, header.nextHeader != IPProtocol.fragment { layer = try walker.next() }
        } catch {
            return .drop(.malformed)  // a transport or extension header cut short
        }
        switch layer {
        case let .tcp(tcp, context)?:
            if context.isPartialChecksum(tcp.checksum, protocolNumber: IPProtocol.tcp, length: context.upperLayerLength) {
                // The view runs to the datagram's end, so its start is the rest of the length.
                let start = datagram.count - tcp.bytes.count
                try? TCPHeader.fillChecksum(in: UnsafeMutableRawBufferPointer(rebasing: out[start...]),
                                            segmentLength: context.upperLayerLength,
                                            context: Self.context(of: out, like: context))
            }
        case let .udp(udp, context)?:
            if context.isPartialChecksum(udp.checksum, protocolNumber: IPProtocol.udp, length: udp.length) {
                let start = datagram.count - udp.bytes.count
                let segment = UnsafeMutableRawBufferPointer(rebasing: out[start...])
                _ = try? UDPHeader.write(into: segment, sourcePort: udp.sourcePort, destinationPort: udp.destinationPort,
                                         payloadLength: udp.length - UDPHeader.length,
                                         checksumContext: Self.context(of: out, like: context))
            }
        default:
            break
        }
        if let sourceMAC, mayLearn(sourceAddress, from: peer) {
            neighbors.observe(sourceMAC, for: NeighborKey(vni: vni, address: sourceAddress), evidence: .traffic, now: now)
        }
        return .deliver(peer: peer, start: offset, length: datagram.count)
    }

    /// The same pseudo-header context, pointing into the copy.
    private static func context(of copy: UnsafeMutableRawBufferPointer, like context: IPContext) -> IPContext {
        let addresses = context.isIPv6 ? 8..<40 : 12..<20
        return IPContext(addresses: UnsafeRawBufferPointer(rebasing: copy[addresses]),
                         upperLayerLength: context.upperLayerLength, isFragment: context.isFragment)
    }

    // MARK: TUN to underlay

    /// Decides for the inner packet at `slot[packetOffset..<packetOffset+length]`; on `.send`
    /// the VXLAN and inner Ethernet headers are written into the headroom in front of it.
    ///
    /// - Parameter largestSegment: for a GSO super-packet, the size of the largest packet it
    ///   stands for: that, not `length`, is held against the MTU.
    func egress(
        slot: UnsafeMutableRawBufferPointer, packetOffset: Int, length: Int, largestSegment: Int? = nil,
        reply: UnsafeMutableRawBufferPointer
    ) -> Egress {
        let packet = UnsafeRawBufferPointer(rebasing: slot[packetOffset..<(packetOffset + length)])
        guard let shape = IPPacketShape(packet) else { return .drop(.malformed) }
        let destination = shape.destination
        let peer = route(to: destination)
        guard peer >= 0 else { return .drop(.noRoute) }
        let mtu = pathMTUs[peer]
        if largestSegment ?? length > mtu {
            if let n = TooBigMessage.write(for: packet, mtu: mtu, sources: tunSources, into: reply) { return .tooBig(length: n) }
            return .drop(.tooBig)
        }
        let vni = configuration.peers[peer].vni
        let destinationMAC: MACAddress
        if let group = groupMAC(for: destination) {
            destinationMAC = group
        } else {
            switch neighbors.resolve(NeighborKey(vni: vni, address: destination), now: now) {
            case let .known(mac):
                destinationMAC = mac
            case let .confirm(mac):
                destinationMAC = mac
                if owed.count < Self.owedLimit { owed.append((peer: peer, address: destination)) }
            case .request:
                guard let n = resolution(for: destination, peer: peer, into: reply) else { return .drop(.unresolved) }
                return .resolve(peer: peer, length: n)
            case .waiting:
                return .wait
            }
        }
        let headers = VXLANHeader.length + EthernetHeader.length
        guard packetOffset >= headers else { return .drop(.malformed) }
        let start = packetOffset - headers
        do {
            try VXLANHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: slot[start...]), vni: vni)
            try EthernetHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: slot[(start + VXLANHeader.length)...]),
                                     destination: destinationMAC, source: mac(vni: vni),
                                     etherType: destination.isIPv6 ? EtherType.ipv6 : EtherType.ipv4)
        } catch {
            return .drop(.malformed)
        }
        return .send(peer: peer, endpoint: configuration.peers[peer].endpoint, start: start, length: headers + length)
    }

    /// The MAC of a group destination, which is never resolved: IPv4 multicast (RFC 1112 6.4),
    /// IPv6 multicast (RFC 2464 7), and the broadcast addresses.
    private func groupMAC(for destination: IPAddress) -> MACAddress? {
        switch destination {
        case let .v4(a) where a.rawValue >> 28 == 0xE:
            return MACAddress(rawValue: 0x0100_5E00_0000 | UInt64(a.rawValue & 0x7F_FFFF))
        case let .v4(a) where a.rawValue == .max:
            return .broadcast
        case .v4 where broadcasts.contains(destination):
            return .broadcast
        case let .v6(a) where a.high >> 56 == 0xFF:
            return MACAddress(rawValue: 0x3333_0000_0000 | (a.low & 0xFFFF_FFFF))
        default:
            return nil
        }
    }

    /// Writes the requests owed for neighbours in use whose entries grew old, one at a time
    /// into `reply`, and hands each to `send` with its peer; call once per batch. The answers
    /// confirm the entries, as the kernel's probes of a STALE neighbour do.
    func takeRequests(into reply: UnsafeMutableRawBufferPointer, _ send: (_ peer: Int, _ length: Int) -> Void) {
        guard !owed.isEmpty else { return }
        for request in owed where request.peer < configuration.peers.count {
            if let n = resolution(for: request.address, peer: request.peer, into: reply) { send(request.peer, n) }
        }
        owed.removeAll(keepingCapacity: true)
    }

    /// An ARP request (IPv4) or a neighbour solicitation (IPv6) for `destination`, from the
    /// proxy's own address of that family, as a VXLAN payload for peer `peer`.
    private func resolution(for destination: IPAddress, peer: Int, into out: UnsafeMutableRawBufferPointer) -> Int? {
        let vni = configuration.peers[peer].vni
        if case let .v6(target) = destination {
            guard case let .v6(source)? = tunSources.first(where: { $0.isIPv6 }), out.count > VXLANHeader.length,
                  let n = responders[peer].solicitation(for: target, from: source,
                                                        into: UnsafeMutableRawBufferPointer(rebasing: out[VXLANHeader.length...])),
                  (try? VXLANHeader.write(into: out, vni: vni)) != nil
            else { return nil }
            return VXLANHeader.length + n
        }
        guard case let .v4(target) = destination, case let .v4(sender)? = tunSources.first(where: { !$0.isIPv6 }),
              out.count >= VXLANHeader.length + 42
        else { return nil }
        do {
            try VXLANHeader.write(into: out, vni: vni)
            let frame = UnsafeMutableRawBufferPointer(rebasing: out[VXLANHeader.length...])
            try EthernetHeader.write(into: frame, destination: .broadcast, source: mac(vni: vni), etherType: EtherType.arp)
            try ARPPacket.write(into: UnsafeMutableRawBufferPointer(rebasing: frame[14...]), operation: 1,
                                senderMAC: mac(vni: vni), senderIP: sender, targetMAC: .zero, targetIP: target)
        } catch {
            return nil
        }
        return VXLANHeader.length + 42
    }
}
