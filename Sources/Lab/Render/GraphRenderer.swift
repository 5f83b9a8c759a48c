/// The topology as Graphviz DOT: nodes as boxes listing their interfaces and addresses, veth
/// links as edges, the other interface kinds inside their node, and each node's proxy as its
/// TUN device with a dotted tunnel to every peer (another proxy, a kernel vxlan, or an outside
/// endpoint).
public enum GraphRenderer {
    public static func dot(_ topology: Topology) -> String {
        var lines = [
            "graph \"\(escape(topology.name))\" {",
            "  graph [label=\"\(escape(topology.name))\", labelloc=t, fontname=\"Helvetica\", rankdir=LR];",
            "  node [shape=record, fontname=\"Helvetica\", fontsize=10];",
            "  edge [fontname=\"Helvetica\", fontsize=9];",
        ]
        for node in topology.nodes {
            var fields = ["<_node> \(escape(node.name))"]
            for interface in node.interfaces where interface.kind != .existing {
                var label = "\(interface.name) (\(interface.kindName))"
                if !interface.addresses.isEmpty {
                    label += "\\n" + interface.addresses.map(\.description).joined(separator: "\\n")
                }
                fields.append("<\(portID(interface.name))> \(escape(label))")
            }
            if let proxy = node.proxy {
                var label = "\(proxy.tun.name) (proxy \(proxy.listen))"
                if !proxy.tun.addresses.isEmpty {
                    label += "\\n" + proxy.tun.addresses.map(\.description).joined(separator: "\\n")
                }
                fields.append("<\(portID(proxy.tun.name))> \(escape(label))")
            }
            // Without braces, a record's fields stack vertically under rankdir=LR.
            lines.append("  \"\(escape(node.name))\" [label=\"\(fields.joined(separator: "|"))\"];")
        }
        for link in topology.links {
            lines.append("  \"\(escape(link.a.node))\":\(portID(link.a.interface)) -- \"\(escape(link.b.node))\":\(portID(link.b.interface)) [label=\"veth\"];")
        }
        for node in topology.nodes {
            for interface in node.interfaces {
                switch interface.kind {
                case let .bridge(ports, _):
                    for port in ports {
                        lines.append("  \"\(escape(node.name))\":\(portID(port)) -- \"\(escape(node.name))\":\(portID(interface.name)) [style=dashed, label=\"port\"];")
                    }
                case let .vxlan(config):
                    guard let remote = config.remote else { break }
                    // The far VTEP: a vxlan in the node that owns the remote address, or an
                    // outside endpoint. Each tunnel is drawn once.
                    let peer = topology.nodes.first { other in
                        other.interfaces.contains { $0.addresses.contains { $0.address == remote } }
                    }
                    let peerVXLAN = peer?.interfaces.first { candidate in
                        if case let .vxlan(c) = candidate.kind { return c.vni == config.vni }
                        return false
                    }
                    if let proxy = peer?.proxy, proxy.listen.address == remote, proxy.peers.contains(where: { $0.vni == config.vni }) {
                        break  // a proxy's tunnel: drawn from the proxy's side
                    } else if let peer, let peerVXLAN {
                        if node.name < peer.name {
                            lines.append("  \"\(escape(node.name))\":\(portID(interface.name)) -- \"\(escape(peer.name))\":\(portID(peerVXLAN.name)) [style=dotted, label=\"vxlan vni \(config.vni)\"];")
                        }
                    } else {
                        lines.append("  \"vtep \(remote)\" [shape=ellipse];")
                        lines.append("  \"\(escape(node.name))\":\(portID(interface.name)) -- \"vtep \(remote)\" [style=dotted, label=\"vni \(config.vni)\"];")
                    }
                default:
                    break
                }
            }
        }
        lines += proxyTunnels(topology)
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A dotted edge from each proxy's TUN device to each of its peers: the peer node's proxy
    /// (drawn once per pair) or kernel vxlan of the same VNI, else the endpoint on its own.
    private static func proxyTunnels(_ topology: Topology) -> [String] {
        var lines: [String] = []
        for node in topology.nodes {
            guard let proxy = node.proxy else { continue }
            for peer in proxy.peers {
                let address = peer.endpoint.address
                let owner = topology.nodes.first { other in
                    other.proxy?.listen == peer.endpoint
                        || other.interfaces.contains { $0.addresses.contains { $0.address == address } }
                }
                let label = "vni \(peer.vni) (proxy)"
                if let owner, let remote = owner.proxy, remote.listen == peer.endpoint {
                    if node.name < owner.name || !remote.peers.contains(where: { $0.endpoint == proxy.listen }) {
                        lines.append("  \"\(escape(node.name))\":\(portID(proxy.tun.name)) -- \"\(escape(owner.name))\":\(portID(remote.tun.name)) [style=dotted, label=\"\(label)\"];")
                    }
                } else if let owner, let vxlan = owner.interfaces.first(where: { candidate in
                    if case let .vxlan(c) = candidate.kind { return c.vni == peer.vni }
                    return false
                }) {
                    lines.append("  \"\(escape(node.name))\":\(portID(proxy.tun.name)) -- \"\(escape(owner.name))\":\(portID(vxlan.name)) [style=dotted, label=\"\(label)\"];")
                } else {
                    lines.append("  \"vtep \(peer.endpoint)\" [shape=ellipse];")
                    lines.append("  \"\(escape(node.name))\":\(portID(proxy.tun.name)) -- \"vtep \(peer.endpoint)\" [style=dotted, label=\"\(label)\"];")
                }
            }
        }
        return lines
    }

    private static func portID(_ name: String) -> String {
        "p_" + String(name.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    private static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            if "\"{}|<>".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
