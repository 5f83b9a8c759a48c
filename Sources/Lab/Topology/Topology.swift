import Foundation
import ConfigFile
import Netlink
import Packet
import Proxy

/// Problems in a topology file (the shared configuration error types).
public typealias TopologyError = ConfigError
public typealias TopologyErrors = ConfigErrors

/// A lab as a topology file describes it, validated: nodes (network namespaces), their
/// interfaces, the veth links between them, routes, sysctls and commands.
public struct Topology: Sendable, Equatable {
    /// What the lab's namespaces, state and cgroups are named after: the file's `name`, or for
    /// one host's share of a multi-host lab, `NAME@HOST`.
    public var name: String
    /// The file's `name`.
    public var lab: String
    /// The host whose share this is (nil: the whole lab, on one machine).
    public var host: String?
    /// The file it came from.
    public var file: String
    /// Sorted by name.
    public var nodes: [Node]
    public var links: [Link]
    /// `[[checks]]`, in file order.
    public var checks: [Check] = []
    /// `[hosts.NAME]`, sorted by name; empty for a lab on one machine.
    public var hosts: [LabHost] = []
    public var stitch = StitchSettings()
    /// Links between hosts, with their VNIs (empty unless `hosts`).
    public var stitches: [Stitch] = []
    /// In a host's share: the other hosts' nodes, whose names every node resolves too.
    public var remoteNodes: [Node] = []

    public init(name: String, file: String, nodes: [Node], links: [Link]) {
        self.name = name
        self.lab = name
        self.file = file
        self.nodes = nodes
        self.links = links
    }

    /// A locally administered unicast MAC derived from `key` (FNV-1a).
    static func stableMAC(_ key: String) -> MACAddress? {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 1_099_511_628_211
        }
        let bytes = (0..<5).map { String(format: "%02x", UInt8(truncatingIfNeeded: hash >> (8 * UInt64($0)))) }
        return MACAddress((["02"] + bytes).joined(separator: ":"))
    }

    /// Whether the lab uses a feature some kernels lack (dummy links, 802.1Q, bridge VLAN
    /// filtering, netem, tbf): only then is the kernel probed (`KernelSupport`), which makes and
    /// deletes a scratch namespace, and whose teardown the kernel does in the background while
    /// the lab is being built.
    public var needsKernelProbe: Bool {
        nodes.contains { node in
            node.interfaces.contains { interface in
                switch interface.kind {
                case .dummy, .vlan: return true
                case let .bridge(_, filtering): return filtering || interface.impairment != nil
                default: return interface.impairment != nil
                }
            }
        }
    }

    /// The host with that name.
    public func host(named name: String) -> LabHost? { hosts.first { $0.name == name } }

    /// What `host` builds: its nodes (a stitched link's end becomes a vxlan device towards the
    /// other host), the links between them, and the checks that run in them; named
    /// `LAB@HOST`, so that two hosts' shares on one machine never collide.
    public func share(for host: String) -> Topology {
        var share = Topology(name: "\(lab)@\(host)", file: file, nodes: [], links: [])
        share.lab = lab
        share.host = host
        share.hosts = hosts
        share.stitch = stitch
        share.stitches = stitches.filter { $0.hosts.a.name == host || $0.hosts.b.name == host }
        share.remoteNodes = nodes.filter { $0.host != host }
        let local = Set(nodes.filter { $0.host == host }.map(\.name))
        share.links = links.filter { local.contains($0.a.node) && local.contains($0.b.node) }
        share.checks = checks.filter { local.contains($0.node) }
        share.nodes = nodes.filter { local.contains($0.name) }.map { node in
            var node = node
            for index in node.interfaces.indices {
                guard case let .veth(peerNode, _) = node.interfaces[index].kind, !local.contains(peerNode),
                      let stitch = share.stitches.first(where: { $0.link.a == Endpoint(node: node.name, interface: node.interfaces[index].name)
                                                                 || $0.link.b == Endpoint(node: node.name, interface: node.interfaces[index].name) })
                else { continue }
                let mineIsA = stitch.link.a.node == node.name
                let mine = mineIsA ? stitch.hosts.a : stitch.hosts.b
                let theirs = mineIsA ? stitch.hosts.b : stitch.hosts.a
                node.interfaces[index].mtu = node.interfaces[index].mtu ?? stitch.mtu
                switch self.stitch.kind {
                case .vxlan:
                    let vxlan = LinkRequest.VXLAN(vni: stitch.vni, remote: theirs.address, local: mine.address, port: self.stitch.port)
                    node.interfaces[index].kind = .stitch(vxlan)
                    // The same MAC every time it is made: a share taken down and brought back keeps
                    // its neighbours' ARP entries for it valid on the other hosts.
                    node.interfaces[index].mac = node.interfaces[index].mac ?? Self.stableMAC("\(lab)/\(node.name)/\(node.interfaces[index].name)")
                case .proxy:
                    let number = stitches.firstIndex(of: stitch) ?? 0
                    let far = mineIsA ? stitch.link.b : stitch.link.a
                    node.interfaces[index].kind = .proxyStitch(ProxyStitchEnd(
                        vni: stitch.vni, local: mine.address, remote: theirs.address, port: self.stitch.port &+ UInt16(truncatingIfNeeded: number),
                        routes: proxyStitchRoutes(node: node, interface: node.interfaces[index], far: far)))
                }
            }
            return node
        }
        return share
    }
    /// What a proxy stitch end sends to the far end: the link's subnets (both ends'), and the
    /// destinations of the node's routes through the far end (via one of its addresses, or out
    /// of this interface).
    func proxyStitchRoutes(node: Node, interface: Interface, far: Endpoint) -> [IPPrefix] {
        let farAddresses = self.node(named: far.node)?.interface(named: far.interface)?.addresses ?? []
        var routes = (interface.addresses + farAddresses).map(\.network)
        for route in node.routes {
            let viaFar = route.gateway.map { gateway in farAddresses.contains { $0.address == gateway } } ?? false
            guard viaFar || route.device == interface.name else { continue }
            let family = route.isIPv6 ? "::/0" : "0.0.0.0/0"
            if let destination = route.destination?.network ?? IPPrefix(family) { routes.append(destination) }
        }
        var unique: [IPPrefix] = []
        for route in routes where !unique.contains(route) { unique.append(route) }
        return unique
    }

    /// The namespace of a node: `LAB.NODE`. The dot cannot appear in lab or node names, so
    /// one lab's prefix never matches another lab's namespaces.
    public static func namespaceName(lab: String, node: String) -> String { "\(lab).\(node)" }

    public func namespace(of node: Node) -> NetworkNamespace {
        NetworkNamespace(Self.namespaceName(lab: name, node: node.name))
    }

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }
}

/// One node: a network namespace with its interfaces and configuration.
public struct Node: Sendable, Equatable {
    public var name: String
    /// Applied in order after loopback is up.
    public var sysctls: [(key: String, value: String)]
    /// Sorted by creation order: links first, then bridges, then what sits on a parent.
    public var interfaces: [Interface]
    public var routes: [Route]
    /// Shell commands run inside the node once every link is up.
    public var exec: [String]
    /// Seconds each exec command may run before it is stopped and `up` fails (`exec_timeout`).
    public var execTimeout: Double = 60
    /// `[nodes.N.proxy]`: a VXLAN proxy `netlab up` starts in the node and supervises.
    public var proxy: ProxyConfiguration?
    /// The host it runs on (`host`), in a multi-host lab.
    public var host: String?
    /// The name the node's own UTS namespace gives it (`hostname`; by default the node's name).
    public var hostname: String = ""
    /// Namespaces beyond net and UTS.
    public var isolation: Set<Isolation> = []
    public var limits = ResourceLimits()
    /// Bound into the node's mount namespace (needs `isolation` "mount").
    public var files: [FileMount] = []
    /// In file order.
    public var services: [Service] = []

    public init(name: String, sysctls: [(key: String, value: String)], interfaces: [Interface], routes: [Route],
                exec: [String], execTimeout: Double = 60, proxy: ProxyConfiguration? = nil) {
        self.name = name
        self.sysctls = sysctls
        self.interfaces = interfaces
        self.routes = routes
        self.exec = exec
        self.execTimeout = execTimeout
        self.proxy = proxy
        self.hostname = name
    }

    public static func == (lhs: Node, rhs: Node) -> Bool {
        lhs.name == rhs.name && lhs.interfaces == rhs.interfaces && lhs.routes == rhs.routes && lhs.exec == rhs.exec && lhs.execTimeout == rhs.execTimeout && lhs.proxy == rhs.proxy
            && lhs.sysctls.map(\.key) == rhs.sysctls.map(\.key) && lhs.sysctls.map(\.value) == rhs.sysctls.map(\.value)
            && lhs.hostname == rhs.hostname && lhs.isolation == rhs.isolation && lhs.limits == rhs.limits
            && lhs.files == rhs.files && lhs.services == rhs.services && lhs.host == rhs.host
    }

    /// Every address of the node's interfaces, in interface order (for the lab's hosts files).
    public var addresses: [IPAddress] { interfaces.flatMap { $0.addresses.map(\.address) } }

    public func interface(named name: String) -> Interface? { interfaces.first { $0.name == name } }
}

/// One interface of a node.
public struct Interface: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// One end of a veth link; the other end is `peerNode:peerInterface`.
        case veth(peerNode: String, peerInterface: String)
        case bridge(ports: [String], vlanFiltering: Bool)
        case macvlan(parent: String, mode: LinkRequest.MacvlanMode)
        case vlan(parent: String, id: UInt16, qinq: Bool)
        case vxlan(LinkRequest.VXLAN)
        /// A link's end on this host whose other end is on another host: a vxlan device made
        /// from netlab's own network namespace (the underlay's) straight into the node.
        case stitch(LinkRequest.VXLAN)
        /// The same end stitched by netlab proxies: a TUN device in the node, served by a proxy
        /// in the host's network (`[stitch] kind = "proxy"`).
        case proxyStitch(ProxyStitchEnd)
        case dummy
        case tun
        case tap
        /// Loopback or another interface that exists already; only configured.
        case existing
    }

    /// VLANs of a port of a VLAN-filtering bridge.
    public struct BridgeVLANs: Sendable, Equatable {
        public var pvid: UInt16?
        public var tagged: [UInt16]
    }

    public var name: String
    public var kind: Kind
    public var addresses: [IPPrefix]
    public var mtu: Int?
    public var mac: MACAddress?
    public var up: Bool
    public var impairment: Impairment?
    public var bridgeVLANs: BridgeVLANs?

    public var kindName: String {
        switch kind {
        case .veth: "veth"
        case .bridge: "bridge"
        case .macvlan: "macvlan"
        case .vlan: "vlan"
        case .vxlan: "vxlan"
        case .stitch: "stitch"
        case .proxyStitch: "proxy stitch"
        case .dummy: "dummy"
        case .tun: "tun"
        case .tap: "tap"
        case .existing: "existing"
        }
    }

    /// The interface this one is created on or attached to, which must exist first.
    /// `NODE:IFACE` names a parent in another node (a macvlan or VLAN handed to a "container").
    var parent: String? {
        switch kind {
        case let .macvlan(parent, _), let .vlan(parent, _, _): parent
        case let .vxlan(config): config.device
        default: nil
        }
    }

    /// The parent's node and interface when the parent is in another node.
    public var foreignParent: Endpoint? {
        guard let parent, let colon = parent.firstIndex(of: ":") else { return nil }
        return Endpoint(node: String(parent[..<colon]), interface: String(parent[parent.index(after: colon)...]))
    }
}

/// A veth link between two nodes' interfaces (stitched over VXLAN when they are on two hosts).
public struct Link: Sendable, Equatable {
    public var a: Endpoint
    public var b: Endpoint
    /// `vni`: the VNI of the stitch, when the two ends are on different hosts.
    public var vni: UInt32?

    public init(a: Endpoint, b: Endpoint, vni: UInt32? = nil) {
        self.a = a
        self.b = b
        self.vni = vni
    }
}

/// `NODE:INTERFACE`
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    public var node: String
    public var interface: String
    public var description: String { "\(node):\(interface)" }
}

/// A route in a node: to a prefix (or default) via a gateway and/or out of a device.
public struct Route: Sendable, Equatable {
    /// nil for a default route.
    public var destination: IPPrefix?
    public var gateway: IPAddress?
    public var device: String?
    public var isIPv6: Bool

    public init(destination: IPPrefix?, gateway: IPAddress?, device: String?, isIPv6: Bool) {
        self.destination = destination
        self.gateway = gateway
        self.device = device
        self.isIPv6 = isIPv6
    }
}
