import Packet

/// The proxy's forwarding decisions, without I/O: what to do with a datagram from the underlay
/// and with a packet from the TUN device. One engine belongs to one worker; buffers are the
/// caller's, and nothing is allocated per packet.
///
/// Wire compatibility with Linux vxlan devices: the proxy owns a MAC per VNI, answers ARP and
/// neighbour solicitations for its TUN addresses, learns each peer's inner MAC from the frames
/// it sends, resolves it with ARP/NDP when unknown, and finishes inner checksums a kernel peer
/// left partial (CHECKSUM_PARTIAL over veth) before the TUN device sees the packet.
public final class ProxyEngine {
    /// What to do with a datagram received on the underlay socket.
    public enum Ingress: Equatable, Sendable {
        /// Write the inner packet at `start..<start+length` of the datagram (checksums finished
        /// there, in place) to the TUN device; it came from peer `peer`.
        case deliver(peer: Int, start: Int, length: Int)
        /// Send `length` bytes of the reply buffer (VXLAN header and frame) to peer `peer`.
        case reply(peer: Int, length: Int)
        /// A neighbour discovery answer (ARP reply, advertisement): it taught the proxy the
        /// peer's MAC, and there is nothing to forward.
        case absorbed
        case drop(DropReason)
    }

    /// What to do with a packet read from the TUN device.
    public enum Egress: Equatable, Sendable {
        /// Send the VXLAN payload at `start..<start+length` of the slot to peer `peer`, from
        /// the outer UDP source port `flowHash` picks (RFC 7348 section 5).
        case send(peer: Int, start: Int, length: Int, flowHash: UInt32)
        /// Write the ICMP message in the reply buffer back to the TUN device.
        case tooBig(length: Int)
        /// Send the ARP/NDP request in the reply buffer to peer `peer`; the packet is dropped.
        case resolve(peer: Int, length: Int)
        case drop(DropReason)
    }

    public private(set) var configuration: ProxyConfiguration
    public let mtu: Int
    private var peerMACs: [MACAddress?]
    /// Where the workers share what each learned; `peerMACs` is this engine's copy.
    private let neighbors: PeerMACTable
    private var neighborGeneration = -1
    private var peerKeys: [String]
    private let tunSources: [IPAddress]
    private var responders: [NeighborResponder]
    /// The listen address's part of the proxy's MACs, hashed once: egress writes a source MAC
    /// into every packet, and hashing the address's text there allocated per packet.
    private var macSalt: UInt64

    public init(configuration: ProxyConfiguration, mtu: Int, neighbors: PeerMACTable = PeerMACTable()) {
        self.configuration = configuration
        self.mtu = mtu
        self.neighbors = neighbors
        peerKeys = configuration.peers.map(Self.key)
        peerMACs = Array(repeating: nil, count: configuration.peers.count)
        tunSources = configuration.tun.addresses.map(\.address)
        macSalt = Self.macSalt(listen: configuration.listen)
        responders = []
        responders = configuration.peers.map { responder(for: $0) }
    }

    private func responder(for peer: ProxyConfiguration.Peer) -> NeighborResponder {
        let hosts = configuration.tun.addresses.compactMap { IPPrefix(address: $0.address, length: $0.isIPv6 ? 128 : 32) }
        return NeighborResponder(mac: mac(vni: peer.vni), answersFor: hosts,
                                 routesAllBut: peer.routes + configuration.tun.addresses.map(\.network))
    }

    /// A peer's identity across reloads: endpoint and VNI.
    static func key(_ peer: ProxyConfiguration.Peer) -> String { "\(peer.endpoint) vni \(peer.vni)" }

    /// Takes new peers and routes (SIGHUP): a peer kept with the same endpoint and VNI keeps
    /// the MAC address learned for it, so its flows go on without a new resolution.
    public func reconfigure(_ new: ProxyConfiguration) {
        configuration = new
        macSalt = Self.macSalt(listen: new.listen)
        peerKeys = new.peers.map(Self.key)
        peerMACs = neighbors.lookup(peerKeys)
        neighborGeneration = neighbors.generation
        responders = new.peers.map { responder(for: $0) }
    }

    /// Takes what other workers learned; call once per batch.
    @inline(__always)
    public func refreshNeighbors() {
        let generation = neighbors.generation
        guard generation != neighborGeneration else { return }
        neighborGeneration = generation
        peerMACs = neighbors.lookup(peerKeys)
    }

    /// The proxy's MAC on a VNI: locally administered and unicast (02), two bytes from a hash
    /// of the underlay listen address, so two proxies on one overlay differ (a kernel bridge
    /// learning both would otherwise see one MAC flap between them), then the 24-bit VNI.
    public static func mac(vni: UInt32, listen: SocketEndpoint) -> MACAddress {
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

    /// The inner MAC learned for peer `i`.
    public func peerMAC(_ i: Int) -> MACAddress? { peerMACs[i] }

    // MARK: Underlay to TUN

    /// Decides for a datagram from the underlay. The datagram is the caller's receive buffer:
    /// an inner packet is delivered where it lies, with a partial checksum finished in place,
    /// so the only copy on the way to the TUN device is the one the kernel makes.
    public func ingress(
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
        if !ethernet.source.isMulticast, peerMACs[peer] != ethernet.source {
            peerMACs[peer] = ethernet.source
            neighbors.learn(ethernet.source, for: peerKeys[peer])
        }
        let isSolicitation = ethernet.etherType == EtherType.ipv6 && Self.isNeighborSolicitation(ethernet.payload)
        switch ethernet.etherType {
        case _ where ethernet.etherType == EtherType.arp || isSolicitation:
            guard reply.count > VXLANHeader.length,
                  let length = responders[peer].reply(to: frame, into: UnsafeMutableRawBufferPointer(rebasing: reply[VXLANHeader.length...]))
            else { return ethernet.etherType == EtherType.arp ? arpWithoutReply(ethernet.payload) : deliver(ethernet.payload, from: peer, in: datagram) }
            _ = try? VXLANHeader.write(into: reply, vni: vxlan.vni)
            return .reply(peer: peer, length: VXLANHeader.length + length)
        case EtherType.ipv4, EtherType.ipv6:
            return deliver(ethernet.payload, from: peer, in: datagram)
        default:
            return .drop(.unsupportedFrame)
        }
    }

    /// ARP replies teach the peer's MAC (already learned above); requests for addresses the
    /// proxy does not answer for are dropped.
    private func arpWithoutReply(_ arp: UnsafeRawBufferPointer) -> Ingress {
        arp.count >= 8 && arp[6] == 0 && arp[7] == 2 ? .absorbed : .drop(.unsupportedFrame)
    }

    private static func isNeighborSolicitation(_ packet: UnsafeRawBufferPointer) -> Bool {
        packet.count >= 48 && packet[6] == IPProtocol.icmpv6 && packet[40] == ICMPv6Header.MessageType.neighborSolicitation
    }

    /// Finds the inner IP packet (without Ethernet padding) in `payload`, a view into
    /// `buffer`, and finishes a transport checksum left partial, in place.
    private func deliver(_ payload: UnsafeRawBufferPointer, from peer: Int, in buffer: UnsafeMutableRawBufferPointer) -> Ingress {
        var walker = LayerWalker(payload, linkType: .raw)
        guard let ipLayer = try? walker.next() else { return .drop(.malformed) }
        let datagram: UnsafeRawBufferPointer
        switch ipLayer {
        case let .ipv4(ip): datagram = ip.bytes
        case let .ipv6(ip): datagram = ip.bytes
        default: return .drop(.unsupportedFrame)
        }
        guard let base = buffer.baseAddress, let first = datagram.baseAddress else { return .drop(.malformed) }
        let offset = first - UnsafeRawPointer(base)
        guard offset >= 0, offset + datagram.count <= buffer.count else { return .drop(.malformed) }
        let out = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + datagram.count)])
        var layer = try? walker.next()
        while case let .ipv6Extension(header)? = layer, header.nextHeader != IPProtocol.fragment { layer = try? walker.next() }
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
    public func egress(
        slot: UnsafeMutableRawBufferPointer, packetOffset: Int, length: Int, largestSegment: Int? = nil,
        reply: UnsafeMutableRawBufferPointer
    ) -> Egress {
        let packet = UnsafeRawBufferPointer(rebasing: slot[packetOffset..<(packetOffset + length)])
        guard let first = packet.first else { return .drop(.malformed) }
        let destination: IPAddress
        switch first >> 4 {
        case 4 where packet.count >= 20: destination = .v4(IPv4Address(packet, at: 16))
        case 6 where packet.count >= 40: destination = .v6(IPv6Address(packet, at: 24))
        default: return .drop(.malformed)
        }
        var peer = -1
        var bestLength = -1
        for (i, candidate) in configuration.peers.enumerated() {
            for route in candidate.routes where route.length > bestLength && route.contains(destination) {
                peer = i
                bestLength = route.length
            }
        }
        guard peer >= 0 else { return .drop(.noRoute) }
        if largestSegment ?? length > mtu {
            if let n = TooBigMessage.write(for: packet, mtu: mtu, sources: tunSources, into: reply) { return .tooBig(length: n) }
            return .drop(.tooBig)
        }
        let vni = configuration.peers[peer].vni
        guard let peerMAC = peerMACs[peer] else {
            guard let n = resolution(for: destination, vni: vni, into: reply) else { return .drop(.unresolved) }
            return .resolve(peer: peer, length: n)
        }
        let headers = VXLANHeader.length + EthernetHeader.length
        guard packetOffset >= headers else { return .drop(.malformed) }
        let start = packetOffset - headers
        do {
            try VXLANHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: slot[start...]), vni: vni)
            try EthernetHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: slot[(start + VXLANHeader.length)...]),
                                     destination: peerMAC, source: mac(vni: vni),
                                     etherType: destination.isIPv6 ? EtherType.ipv6 : EtherType.ipv4)
        } catch {
            return .drop(.malformed)
        }
        let hash = FlowKey(packet: packet)?.stableHash ?? 0
        return .send(peer: peer, start: start, length: headers + length, flowHash: hash)
    }

    /// An ARP request (IPv4) or a neighbour solicitation (IPv6) for `destination`, from the
    /// proxy's own address of that family, as a VXLAN payload.
    private func resolution(for destination: IPAddress, vni: UInt32, into out: UnsafeMutableRawBufferPointer) -> Int? {
        if case let .v6(target) = destination {
            guard case let .v6(source)? = tunSources.first(where: { $0.isIPv6 }), out.count > VXLANHeader.length,
                  let peer = configuration.peers.firstIndex(where: { $0.vni == vni }),
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
