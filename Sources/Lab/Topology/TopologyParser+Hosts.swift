import ConfigFile
import Packet

/// The multi-host keys: `[hosts.NAME]`, `[stitch]`, a node's `host` and a link's `vni`.
extension TopologyParser {
    mutating func parseHosts(_ root: ConfigTable) -> [LabHost] {
        guard let table = table(root, "hosts") else { return [] }
        var hosts: [LabHost] = []
        for name in table.keys.sorted() {
            let path = ["hosts", name]
            guard let hostTable = table[name]?.table else {
                fail(path, "a host is a table ([hosts.\(name)]) with an `address`")
                continue
            }
            checkKeys(hostTable, allowed: ["address"])
            if !Self.isValidNodeName(name) { fail(path, "'\(name)' is not a host name: use lowercase letters, digits, '-' and '_', up to 32") }
            guard let text = string(hostTable, "address") else {
                fail(path, "host \(name) needs an `address`: its underlay address, where its stitched links' VXLAN ends")
                continue
            }
            guard let address = IPAddress(text) else {
                fail(path + ["address"], "'\(text)' is not an IP address")
                continue
            }
            if let other = hosts.first(where: { $0.address == address }) {
                fail(path + ["address"], "\(address) is also host \(other.name)'s address")
            }
            hosts.append(LabHost(name: name, address: address))
        }
        if hosts.isEmpty { fail(["hosts"], "[hosts] names no host") }
        return hosts
    }

    mutating func parseStitch(_ root: ConfigTable) -> StitchSettings {
        var settings = StitchSettings()
        guard let table = table(root, "stitch") else { return settings }
        checkKeys(table, allowed: ["port", "kind", "underlay_mtu"])
        settings.port = UInt16(int(table, "port", range: 1...65535) ?? 4789)
        settings.underlayMTU = int(table, "underlay_mtu", range: 1280...65535) ?? 1500
        if let text = string(table, "kind") {
            switch StitchSettings.Kind(rawValue: text) {
            case .vxlan?: settings.kind = .vxlan
            case .proxy?: settings.kind = .proxy
            case nil:
                fail(["stitch", "kind"], "kind is \"vxlan\" (the kernel's, default) or \"proxy\", not '\(text)'")
            }
        }
        return settings
    }

    /// Which links cross hosts, with their VNIs; checks nodes' hosts, VNI clashes and MTUs.
    mutating func stitches(nodes: [Node], links: [Link], hosts: [LabHost], settings: StitchSettings) -> [Stitch] {
        let byName = Dictionary(hosts.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for node in nodes {
            let path = ["nodes", node.name]
            switch (node.host, hosts.isEmpty) {
            case (nil, false):
                fail(path, "node \(node.name) needs a `host` (one of \(hosts.map(\.name).joined(separator: ", "))): the lab has [hosts]")
            case let (host?, true):
                fail(path + ["host"], "host '\(host)' is not declared: add [hosts.\(host)] with its address")
            case let (host?, false) where byName[host] == nil:
                fail(path + ["host"], "unknown host '\(host)' (the lab's hosts: \(hosts.map(\.name).joined(separator: ", ")))")
            default:
                break
            }
        }
        let hostOf = Dictionary(nodes.map { ($0.name, $0.host) }, uniquingKeysWith: { a, _ in a })
        var stitches: [Stitch] = []
        var taken: [UInt32: Int] = [:]
        for (index, link) in links.enumerated() {
            if let vni = link.vni {
                if let other = taken[vni] { fail(["links", "\(index)", "vni"], "VNI \(vni) is also link \(other + 1)'s") }
                taken[vni] = index
            }
        }
        for (index, link) in links.enumerated() {
            let path = ["links", "\(index)"]
            guard let hostA = hostOf[link.a.node] ?? nil, let hostB = hostOf[link.b.node] ?? nil,
                  let a = byName[hostA], let b = byName[hostB], hostA != hostB
            else {
                if link.vni != nil { fail(path + ["vni"], "vni is for a link between two hosts; both ends of this one are on one") }
                continue
            }
            var vni = link.vni ?? Stitch.derivedVNI(link)
            if link.vni == nil {
                while taken[vni] != nil { vni = vni + 1 < Stitch.derivedBase + Stitch.derivedRange ? vni + 1 : Stitch.derivedBase }
                taken[vni] = index
            }
            if a.address.isIPv6 != b.address.isIPv6 {
                fail(path + ["endpoints"], "hosts \(a.name) and \(b.name) have addresses of different families")
            }
            let largest = settings.linkMTU(ipv6: a.address.isIPv6)
            var mtu = largest
            for end in [link.a, link.b] {
                guard let node = nodes.first(where: { $0.name == end.node }), let interface = node.interface(named: end.interface),
                      let declared = interface.mtu else { continue }
                if declared > largest {
                    fail(["nodes", end.node, "interfaces", end.interface, "mtu"],
                         "\(end) is stitched over VXLAN between \(a.name) and \(b.name): its MTU is at most \(largest) (underlay \(settings.underlayMTU) less \(StitchSettings.overhead(ipv6: a.address.isIPv6)))")
                }
                mtu = min(mtu, declared)
            }
            if settings.kind == .proxy {
                // A proxy forwards IP packets: an end that is a bridge port would need Ethernet.
                for end in [link.a, link.b] {
                    guard let node = nodes.first(where: { $0.name == end.node }) else { continue }
                    for bridge in node.interfaces {
                        guard case let .bridge(ports, _) = bridge.kind, ports.contains(end.interface) else { continue }
                        fail(path + ["endpoints"], "\(end) is a port of bridge \(bridge.name), and a proxy stitch carries IP, not Ethernet: use [stitch] kind = \"vxlan\"")
                    }
                }
                let port = Int(settings.port) + stitches.count
                if port > 65535 { fail(["stitch", "port"], "proxy stitches take a port each from \(settings.port): \(stitches.count + 1) do not fit below 65536") }
            }
            stitches.append(Stitch(link: link, vni: vni, hosts: (a, b), mtu: mtu))
        }
        return stitches
    }
}
