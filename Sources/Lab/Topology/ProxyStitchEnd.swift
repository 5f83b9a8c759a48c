import Packet

/// One end of a link stitched between two hosts by netlab proxies (`[stitch] kind = "proxy"`):
/// a TUN device in the node, served by a proxy that runs in the host's own network, where the
/// underlay is, and speaks VXLAN to the proxy of the other end.
///
/// The proxy is an IP forwarder, so the link carries IP: the link's subnets, and what the node
/// routes through the far end (a route `via` one of its addresses, or out of this interface).
/// Each stitched link has its own UDP port, the stitch port plus its index among the lab's
/// stitched links, the same on every host: one proxy per link end, each on its own socket.
public struct ProxyStitchEnd: Sendable, Equatable {
    public var vni: UInt32
    /// This host's underlay address, and the other end's host's.
    public var local: IPAddress
    public var remote: IPAddress
    public var port: UInt16
    /// Inner destinations sent to the far end.
    public var routes: [IPPrefix]

    public init(vni: UInt32, local: IPAddress, remote: IPAddress, port: UInt16, routes: [IPPrefix]) {
        self.vni = vni
        self.local = local
        self.remote = remote
        self.port = port
        self.routes = routes
    }

    /// TUN queues the lab makes the device with, and the proxy asks for: the kernel refuses
    /// an attach whose queue count (one or several) differs from the device's.
    public static let queues = 2

    /// The proxy's configuration (docs/proxy.md keys): its device `interface` in namespace
    /// `namespace` with the lab's addresses and MTU, the routes left to the lab.
    public func configuration(namespace: String, interface: String, addresses: [IPPrefix], mtu: Int) -> String {
        func endpoint(_ address: IPAddress) -> String { address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)" }
        let quoted = { (items: [String]) in "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        return """
            # Written by netlab up: the proxy of the stitched link end \(namespace) \(interface).
            [tun]
            name = "\(interface)"
            namespace = "\(namespace)"
            addresses = \(quoted(addresses.map(\.description)))
            mtu = \(mtu)
            queues = \(Self.queues)
            add_routes = false
            [underlay]
            listen = "\(endpoint(local))"
            [[peers]]
            endpoint = "\(endpoint(remote))"
            vni = \(vni)
            routes = \(quoted(routes.map(\.description)))

            """
    }
}
