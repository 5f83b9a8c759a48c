import Foundation
import Packet

/// The lab's names as every node resolves them: `/etc/netns/LAB.NODE/hosts`, iproute2's
/// per-namespace /etc, bound over /etc/hosts in the node (and by `ip netns exec LAB.NODE`, which
/// reads the same directory). Each node of the lab is listed with every address of its
/// interfaces, as `NODE`, `NODE.LAB` and its hostname, so `ping web` works in any node.
///
/// Nodes whose files read the same share one (hard links). The first line marks the file as this lab's: `down` removes only a file with the mark, and
/// `up` refuses to overwrite one without it.
public enum HostsFile {
    static func mark(lab: String) -> String { "# netlab lab=\(lab):" }

    public static func path(lab: String, node: String) -> String { NodeNamespaces(lab: lab, node: node).etc + "/hosts" }

    /// The hosts file `node` sees.
    public static func render(_ topology: Topology, for node: Node) -> String {
        header(topology, for: node) + body(topology)
    }

    private static func header(_ topology: Topology, for node: Node) -> String {
        var lines = [
            "\(mark(lab: topology.name)) the lab's names, written by netlab up; removed by netlab down",
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
        ]
        // A node without an address still resolves its own name, as Debian's 127.0.1.1 line does.
        if node.addresses.isEmpty { lines.append("127.0.1.1\t" + names(of: node, in: topology.lab).joined(separator: " ")) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Every node's lines: the same for every node, so made once (a 500-node lab has 500 files).
    private static func body(_ topology: Topology) -> String {
        var text = ""
        for other in topology.nodes + topology.remoteNodes {
            let names = names(of: other, in: topology.lab).joined(separator: " ")
            for address in other.addresses where !address.isIPv6 || !address.description.lowercased().hasPrefix("fe80:") {
                text += "\(address)\t\(names)\n"
            }
        }
        return text
    }

    private static func names(of node: Node, in lab: String) -> [String] {
        var names = [node.name, "\(node.name).\(lab)"]
        if node.hostname != node.name { names.append(node.hostname) }
        return names
    }

    /// Hosts files of the lab's nodes that exist and are not this lab's: `up` stops on them.
    public static func foreign(_ topology: Topology) -> [String] {
        topology.nodes.map { path(lab: topology.name, node: $0.name) }.filter { path in
            guard let text = FileManager.default.contents(atPath: path) else { return false }
            return !String(decoding: text.prefix(200), as: UTF8.self).hasPrefix(mark(lab: topology.name))
        }
    }

    /// Writes every node's file.
    ///
    /// Nodes whose files read the same share one file (hard links): a 500-node lab's names are
    /// 500 × 1000 lines, and writing them 500 times took half a second of `up`.
    public static func writeAll(_ topology: Topology) throws {
        let body = Data(body(topology).utf8)
        mkdir("/etc/netns", 0o755)
        var written: [String: String] = [:]  // header -> the file that has it
        for node in topology.nodes {
            let file = path(lab: topology.name, node: node.name)
            mkdir(String(file.dropLast(6)), 0o755)
            let header = header(topology, for: node)
            if let first = written[header], link(first, file) == 0 { continue }
            var data = Data(header.utf8)
            data.append(body)
            try data.write(to: URL(fileURLWithPath: file))
            written[header] = file
        }
    }

    /// Removes the lab's files (those with its mark) and their directories once empty.
    public static func removeAll(lab: String) {
        let prefix = Topology.namespaceName(lab: lab, node: "")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/etc/netns")) ?? []
        for entry in entries where entry.hasPrefix(prefix) {
            let file = "/etc/netns/\(entry)/hosts"
            if let text = FileManager.default.contents(atPath: file),
               String(decoding: text.prefix(200), as: UTF8.self).hasPrefix(mark(lab: lab)) {
                unlink(file)
            }
            // Only when empty: an `up` killed between making the directory and the file leaves it
            // so; one that holds anything else is not netlab's to remove.
            rmdir("/etc/netns/\(entry)")
        }
        rmdir("/etc/netns")  // only when empty: it may hold others' files, and then stays
    }
}
