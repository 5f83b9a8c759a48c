import Foundation

extension ProxyStatus {
    /// The text of `netlab proxy status`.
    public var table: String {
        var lines = [
            "proxy \(tun): pid \(pid), up \(String(format: "%.0f", uptimeSeconds)) s, \(workers) worker\(workers == 1 ? "" : "s"), mtu \(mtu) (path \(pathMTU)), offloads \(offloads.isEmpty ? "none" : offloads)",
            "listen \(listen), config \(configFile), reloads \(reloads)" + (lastReloadError.map { " (last refused: \($0))" } ?? ""),
            "",
            Self.row(["PEER", "VNI", "PATH MTU", "ROUTES", "PKTS OUT", "BYTES OUT", "PKTS IN", "BYTES IN"]),
        ]
        for p in peers {
            lines.append(Self.row([p.endpoint, "\(p.vni)", "\(p.pathMTU) (\(p.underlayMTU))", p.routes.joined(separator: ","),
                                   "\(p.packetsOut)", "\(p.bytesOut)", "\(p.packetsIn)", "\(p.bytesIn)"]))
        }
        lines.append("")
        lines.append(Self.row(["NEIGHBOR", "VNI", "MAC", "CONFIRMED"]))
        for n in neighbors {
            lines.append(Self.row([n.address, "\(n.vni)", n.mac, String(format: "%.0f s ago", n.ageSeconds)]))
        }
        if neighbors.isEmpty { lines.append("(none cached)") }
        if neighborsRefused > 0 { lines.append("\(neighborsRefused) neighbours refused: the cache was full") }
        lines.append("")
        lines.append("tun: \(tunPacketsIn) packets in (\(tunBytesIn) bytes), \(tunPacketsOut) out (\(tunBytesOut) bytes)")
        lines.append("underlay: \(underlayDatagramsIn) datagrams in, \(underlayDatagramsOut) out")
        let counted = drops.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        lines.append("drops: " + (counted.isEmpty ? "none" : counted.joined(separator: ", "))
                     + (deviceDropped.map { $0 > 0 ? "; the TUN device's queue overflowed \($0) times" : "" } ?? ""))
        lines.append("errors: \(errors); flows: \(activeFlows) active" + (untrackedPackets > 0 ? ", \(untrackedPackets) packets untracked (table full)" : ""))
        return lines.joined(separator: "\n")
    }

    static func row(_ cells: [String]) -> String {
        let widths = [22, 9, 19, 20, 10, 12, 10, 12]
        return zip(cells, widths).map { cell, width in cell.count >= width ? cell + " " : cell.padding(toLength: width, withPad: " ", startingAt: 0) }
            .joined().trimmingCharacters(in: .whitespaces)
    }
}

extension FlowReport {
    /// The text of `netlab proxy flows`.
    public static func table(_ flows: [FlowReport]) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s.padding(toLength: n, withPad: " ", startingAt: 0) }
        var lines = [pad("PROTO", 7) + pad("SOURCE", 42) + pad("DESTINATION", 42) + pad("PACKETS", 10) + pad("BYTES", 13) + pad("AGE", 8) + "IDLE"]
        for f in flows {
            let ports = f.proto == "tcp" || f.proto == "udp"
            let source = f.source.contains(":") && ports ? "[\(f.source)]:\(f.sourcePort)" : ports ? "\(f.source):\(f.sourcePort)" : f.source
            let destination = f.destination.contains(":") && ports ? "[\(f.destination)]:\(f.destinationPort)"
                : ports ? "\(f.destination):\(f.destinationPort)" : f.destination
            lines.append(pad(f.proto, 7) + pad(source, 42) + pad(destination, 42) + pad("\(f.packets)", 10) + pad("\(f.bytes)", 13)
                         + pad(String(format: "%.1fs", f.ageSeconds), 8) + String(format: "%.1fs", f.idleSeconds))
        }
        if flows.isEmpty { lines.append("(no flows)") }
        return lines.joined(separator: "\n")
    }
}
