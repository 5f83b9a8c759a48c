/// The topology as Graphviz DOT: nodes as boxes listing their interfaces and addresses, veth
/// links as edges, and the other interface kinds inside their node.
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
                    if let peer, let peerVXLAN {
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
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
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
