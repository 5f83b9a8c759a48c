/// Why the proxy dropped a packet: every drop is counted under one of these, never silent.
public enum DropReason: String, CaseIterable, Sendable {
    /// A datagram from an endpoint that is not a configured peer.
    case unknownPeer = "unknown_peer"
    /// A datagram from a peer with a VNI that peer does not carry.
    case wrongVNI = "wrong_vni"
    /// A VXLAN header without the I flag, a header or frame cut short, or an inner packet whose
    /// own lengths or IPv4 header checksum do not hold.
    case malformed
    /// An inner frame that is neither IP nor neighbour discovery the proxy answers.
    case unsupportedFrame = "unsupported_frame"
    /// A frame for another host on the peer's segment: unicast to a MAC that is not the
    /// proxy's, or an ARP request for an address the proxy does not answer for.
    case otherHost = "other_host"
    /// An inner packet to a destination no peer's routes hold.
    case noRoute = "no_route"
    /// An inner packet over the MTU that may not get an ICMP answer (no DF, or an ICMP error).
    case tooBig = "too_big"
    /// An inner packet waiting for the peer's MAC address (an ARP/NDP request was sent).
    case unresolved
}
