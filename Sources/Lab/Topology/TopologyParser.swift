import ConfigFile
import Netlink
import Packet
import Proxy

/// Reads and validates a topology file; reports every problem with its line and key.
///
/// The whole file is checked before anything is built: syntax, types, unknown keys, names,
/// links to unknown nodes, duplicate endpoints, interface names over 15 bytes, CIDRs,
/// gateways outside every connected subnet, parents that do not exist, and features the
/// running kernel lacks. Integers are read as `Int` and range-checked here (TOMLKit traps on
/// narrower integer types).
public struct TopologyParser {
    public let file: String
    let text: String
    let kernel: KernelSupport?
    var reader: ConfigReader

    /// - Parameter kernel: when given, features it lacks are errors too.
    public init(text: String, file: String, kernel: KernelSupport? = nil) {
        self.text = text
        self.file = file
        self.kernel = kernel
        self.reader = ConfigReader(text: text, file: file)
    }

    /// The most ports a Linux bridge takes.
    public static let maximumBridgePorts = 1023

    /// Reads `path` from disk and parses it.
    public static func load(path: String, kernel: KernelSupport? = nil) throws(TopologyErrors) -> Topology {
        let text: String
        do {
            text = try FileText.read(path)
        } catch {
            throw TopologyErrors(errors: [TopologyError(file: path, line: 0, key: "", message: error.reason)])
        }
        var parser = TopologyParser(text: text, file: path, kernel: kernel)
        return try parser.parse()
    }

    public mutating func parse() throws(TopologyErrors) -> Topology {
        let root = try ConfigReader.table(text, file: file)
        checkKeys(root, allowed: ["name", "nodes", "links", "checks", "hosts", "stitch"])
        let name = string(root, "name") ?? ""
        if root["name"] == nil {
            fail([], "the lab needs a `name` (letters, digits and '-', up to 32)")
        } else if !Self.isValidLabName(name) {
            fail(["name"], "'\(name)' is not a lab name: use lowercase letters, digits and '-', up to 32")
        }

        var nodes: [Node] = []
        if let nodesTable = table(root, "nodes") {
            for nodeName in nodesTable.keys.sorted() {
                let path = ["nodes", nodeName]
                guard let nodeTable = nodesTable[nodeName]?.table else {
                    fail(path, "a node is a table ([nodes.\(nodeName)])")
                    continue
                }
                if !Self.isValidNodeName(nodeName) {
                    fail(path, "'\(nodeName)' is not a node name: use lowercase letters, digits, '-' and '_', up to 32")
                }
                nodes.append(parseNode(nodeName, nodeTable))
            }
        } else {
            fail([], "the lab needs at least one node ([nodes.NAME])")
        }

        var links: [Link] = []
        if let linksValue = root["links"] {
            if let array = linksValue.array {
                for (index, element) in array.enumerated() {
                    let path = ["links", "\(index)"]
                    guard let linkTable = element.table else {
                        fail(path, "a link is a table: [[links]] endpoints = [\"a:eth0\", \"b:eth0\"]")
                        continue
                    }
                    if let link = parseLink(linkTable) { links.append(link) }
                }
            } else {
                fail(["links"], "links is an array of tables ([[links]])")
            }
        }

        nodes = resolve(nodes: nodes, links: links)
        checkServices(nodes)
        let hosts = parseHosts(root)
        let stitch = parseStitch(root)
        var checks: [Check] = []
        for table in reader.tables(root, "checks") {
            if let check = parseCheck(table, nodes: nodes) { checks.append(check) }
        }
        try reader.check()
        var topology = Topology(name: name, file: file, nodes: nodes, links: links)
        topology.checks = checks
        topology.hosts = hosts
        topology.stitch = stitch
        topology.stitches = stitches(nodes: nodes, links: links, hosts: hosts, settings: stitch)
        try reader.check()
        return topology
    }

    // MARK: Nodes

    mutating func parseNode(_ name: String, _ t: ConfigTable) -> Node {
        let path = t.path
        checkKeys(t, allowed: ["sysctls", "forwarding", "exec", "exec_timeout", "routes", "interfaces", "proxy", "host"] + Self.containerKeys)
        var proxy: ProxyConfiguration?
        if let table = table(t, "proxy") {
            proxy = ProxyConfigurationParser.parse(table, reader: &reader)
        }
        var sysctls: [(key: String, value: String)] = []
        if bool(t, "forwarding") == true {
            sysctls.append(("net.ipv4.ip_forward", "1"))
            sysctls.append(("net.ipv6.conf.all.forwarding", "1"))
        }
        if let table = table(t, "sysctls") {
            for key in table.keys.sorted() {
                guard let value = table[key] else { continue }
                let valuePath = path + ["sysctls", key]
                guard key.split(separator: ".").count >= 2, key.allSatisfy({ $0.isLetter || $0.isNumber || "._/-".contains($0) })
                else {
                    fail(valuePath, "'\(key)' is not a sysctl key (like net.ipv4.ip_forward)")
                    continue
                }
                if let s = value.string { sysctls.append((key, s)) }
                else if let i = value.int { sysctls.append((key, "\(i)")) }
                else if let b = value.bool { sysctls.append((key, b ? "1" : "0")) }
                else { fail(valuePath, "a sysctl value is a string, integer or boolean") }
            }
        }
        let exec = stringArray(t, "exec") ?? []
        var execTimeout = 60.0
        if let text = string(t, "exec_timeout") {
            if let micros = Units.microseconds(text), micros > 0 { execTimeout = Double(micros) / 1_000_000 }
            else { fail(path + ["exec_timeout"], "'\(text)' is not a duration (like 30s or 500ms)") }
        }
        var interfaces: [Interface] = []
        if let table = table(t, "interfaces") {
            for interfaceName in table.keys.sorted() {
                let interfacePath = path + ["interfaces", interfaceName]
                guard let interfaceTable = table[interfaceName]?.table else {
                    fail(interfacePath, "an interface is a table ([nodes.\(name).interfaces.\(interfaceName)])")
                    continue
                }
                checkInterfaceName(interfaceName, interfacePath)
                interfaces.append(parseInterface(interfaceName, interfaceTable))
            }
        }
        var routes: [Route] = []
        if let value = t["routes"] {
            if let array = value.array {
                for (index, element) in array.enumerated() {
                    let routePath = path + ["routes", "\(index)"]
                    guard let routeTable = element.table else {
                        fail(routePath, "a route is a table: { to = \"default\", via = \"10.0.0.1\" }")
                        continue
                    }
                    if let route = parseRoute(routeTable) { routes.append(route) }
                }
            } else {
                fail(path + ["routes"], "routes is an array of tables")
            }
        }
        if let proxy, interfaces.contains(where: { $0.name == proxy.tun.name }) {
            fail(path + ["proxy", "tun", "name"], "\(proxy.tun.name) is also an interface of node \(name)")
        }
        var node = Node(name: name, sysctls: sysctls, interfaces: interfaces, routes: routes, exec: exec, execTimeout: execTimeout, proxy: proxy)
        node.host = string(t, "host")
        parseContainer(into: &node, t)
        return node
    }

    mutating func parseCheck(_ t: ConfigTable, nodes: [Node]) -> Check? {
        let path = t.path
        checkKeys(t, allowed: ["name", "node", "run", "expect", "retries"])
        guard let name = string(t, "name"), let node = string(t, "node"), let run = string(t, "run") else {
            fail(path, "a check needs `name`, `node` and `run`")
            return nil
        }
        if !nodes.contains(where: { $0.name == node }) { fail(path + ["node"], "check '\(name)' runs in unknown node '\(node)'") }
        let expect = int(t, "expect", range: 0...255) ?? 0
        let retries = int(t, "retries", range: 0...600) ?? 0
        return Check(name: name, node: node, run: run, expect: Int32(expect), retries: retries)
    }

    mutating func parseRoute(_ t: ConfigTable) -> Route? {
        let path = t.path
        checkKeys(t, allowed: ["to", "via", "dev"])
        guard let to = string(t, "to") else {
            fail(path, "a route needs `to` (a prefix or \"default\")")
            return nil
        }
        let via = string(t, "via")
        let dev = string(t, "dev")
        var destination: IPPrefix?
        var isIPv6 = false
        if to == "default" || to == "default6" {
            isIPv6 = to == "default6"
        } else if let prefix = IPPrefix(to) {
            destination = prefix
            isIPv6 = prefix.isIPv6
        } else {
            fail(path + ["to"], "'\(to)' is not a prefix (like 10.1.0.0/24), \"default\" or \"default6\"")
            return nil
        }
        var gateway: IPAddress?
        if let via {
            guard let address = IPAddress(via) else {
                fail(path + ["via"], "'\(via)' is not an IP address")
                return nil
            }
            gateway = address
            if destination == nil { isIPv6 = address.isIPv6 }
            if address.isIPv6 != isIPv6 {
                fail(path + ["via"], "gateway \(via) is not of the destination's address family")
            }
        }
        if via == nil && dev == nil { fail(path, "a route needs `via` (a gateway), `dev` (an interface) or both") }
        return Route(destination: destination, gateway: gateway, device: dev, isIPv6: isIPv6)
    }

    // MARK: Interfaces

    mutating func parseInterface(_ name: String, _ t: ConfigTable) -> Interface {
        let path = t.path
        let common = ["kind", "addresses", "mtu", "mac", "up", "impair", "vlans"]
        let kindName = string(t, "kind")
        var kind = Interface.Kind.existing
        switch kindName {
        case nil, "veth":
            checkKeys(t, allowed: common)
            // A veth end is completed by its link (resolve); loopback is configured as it is.
            kind = name == "lo" ? .existing : .veth(peerNode: "", peerInterface: "")
        case "bridge":
            checkKeys(t, allowed: common + ["ports", "vlan_filtering"])
            let filtering = bool(t, "vlan_filtering") ?? false
            if filtering, let kernel, !kernel.bridgeVLANFiltering {
                fail(path + ["vlan_filtering"], "this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)")
            }
            kind = .bridge(ports: stringArray(t, "ports") ?? [], vlanFiltering: filtering)
        case "macvlan":
            checkKeys(t, allowed: common + ["parent", "mode"])
            let modeText = string(t, "mode") ?? "bridge"
            let mode = LinkRequest.MacvlanMode(rawValue: modeText)
            if mode == nil { fail(path + ["mode"], "macvlan mode is one of bridge, private, vepa, passthru; not '\(modeText)'") }
            let parent = string(t, "parent")
            if parent == nil { fail(path, "a macvlan needs a `parent` interface") }
            kind = .macvlan(parent: parent ?? "", mode: mode ?? .bridge)
        case "vlan":
            checkKeys(t, allowed: common + ["parent", "id", "protocol"])
            let parent = string(t, "parent")
            if parent == nil { fail(path, "a vlan needs a `parent` interface") }
            let id = int(t, "id", range: 1...4094)
            if t["id"] == nil { fail(path, "a vlan needs an `id` (1-4094)") }
            let proto = string(t, "protocol") ?? "802.1Q"
            if proto != "802.1Q" && proto != "802.1ad" { fail(path + ["protocol"], "protocol is 802.1Q or 802.1ad") }
            if let kernel, !kernel.vlan { fail(path + ["kind"], "this kernel has no 802.1Q VLAN support (CONFIG_VLAN_8021Q)") }
            kind = .vlan(parent: parent ?? "", id: UInt16(id ?? 1), qinq: proto == "802.1ad")
        case "vxlan":
            checkKeys(t, allowed: common + ["vni", "remote", "group", "local", "port", "device", "learning"])
            let vni = int(t, "vni", range: 0...0xFF_FFFF)
            if t["vni"] == nil { fail(path, "a vxlan needs a `vni` (0-16777215)") }
            var config = LinkRequest.VXLAN(vni: UInt32(vni ?? 0))
            config.port = UInt16(int(t, "port", range: 1...65535) ?? 4789)
            config.device = string(t, "device")
            config.learning = bool(t, "learning") ?? true
            for key in ["remote", "group", "local"] {
                guard let text = string(t, key) else { continue }
                guard let address = IPAddress(text) else {
                    fail(path + [key], "'\(text)' is not an IP address")
                    continue
                }
                if key == "local" { config.local = address } else { config.remote = address }
            }
            if t["remote"] != nil && t["group"] != nil { fail(path, "a vxlan has a `remote` or a `group`, not both") }
            kind = .vxlan(config)
        case "dummy":
            checkKeys(t, allowed: common)
            if let kernel, !kernel.dummy { fail(path + ["kind"], "this kernel has no dummy interfaces (CONFIG_DUMMY)") }
            kind = .dummy
        case "tun", "tap":
            checkKeys(t, allowed: common)
            kind = kindName == "tun" ? .tun : .tap
        case let other?:
            fail(path + ["kind"], "unknown kind '\(other)': use veth (by a link), bridge, macvlan, vlan, vxlan, dummy, tun or tap")
        }

        var addresses: [IPPrefix] = []
        for (index, text) in (stringArray(t, "addresses") ?? []).enumerated() {
            if let prefix = IPPrefix(text), text.contains("/") {
                addresses.append(prefix)
            } else {
                fail(path + ["addresses"], "address \(index + 1) '\(text)' is not a CIDR (like 10.0.0.1/24 or fd00::1/64)")
            }
        }
        var mac: MACAddress?
        if let text = string(t, "mac") {
            mac = MACAddress(text)
            if mac == nil { fail(path + ["mac"], "'\(text)' is not a MAC address (like 02:00:00:00:00:01)") }
            if let mac, mac.isMulticast { fail(path + ["mac"], "\(text) is a multicast address") }
        }
        let mtu = int(t, "mtu", range: 68...65535)
        var impairment: Impairment?
        if let table = table(t, "impair") { impairment = parseImpairment(table) }
        var vlans: Interface.BridgeVLANs?
        if let table = table(t, "vlans") {
            checkKeys(table, allowed: ["pvid", "tagged"])
            let pvid = int(table, "pvid", range: 1...4094).map(UInt16.init)
            let tagged = (intArray(table, "tagged", range: 1...4094) ?? []).map(UInt16.init)
            vlans = .init(pvid: pvid, tagged: tagged)
        }
        return Interface(name: name, kind: kind, addresses: addresses, mtu: mtu, mac: mac,
                         up: bool(t, "up") ?? true, impairment: impairment, bridgeVLANs: vlans)
    }

    mutating func parseImpairment(_ t: ConfigTable) -> Impairment {
        let path = t.path
        checkKeys(t, allowed: ["delay", "jitter", "loss", "rate"])
        var result = Impairment()
        for key in ["delay", "jitter"] {
            guard let text = string(t, key) else { continue }
            guard let micros = Units.microseconds(text) else {
                fail(path + [key], "'\(text)' is not a duration (like 10ms, 500us, 1.5s)")
                continue
            }
            if key == "delay" { result.delay = micros } else { result.jitter = micros }
        }
        if let value = t["loss"] {
            let percent = value.string.flatMap(Units.percent) ?? value.double ?? value.int.map(Double.init)
            if let percent, (0...100).contains(percent) { result.loss = percent }
            else { fail(path + ["loss"], "loss is a percentage from 0 to 100 (like \"1%\" or 0.5)") }
        }
        if let text = string(t, "rate") {
            if let bits = Units.bitsPerSecond(text) { result.rate = bits }
            else { fail(path + ["rate"], "'\(text)' is not a rate (like 10mbit, 1gbit, 500kbit)") }
        }
        if let kernel {
            if (result.delay != nil || result.jitter != nil || result.loss != nil) && !kernel.netem {
                fail(path, "this kernel has no netem (CONFIG_NET_SCH_NETEM): delay, jitter and loss cannot be applied")
            }
            if result.rate != nil && !kernel.tbf { fail(path + ["rate"], "this kernel has no tbf (CONFIG_NET_SCH_TBF)") }
        }
        return result
    }

    // MARK: Links

    mutating func parseLink(_ t: ConfigTable) -> Link? {
        let path = t.path
        checkKeys(t, allowed: ["endpoints", "vni"])
        let vni = int(t, "vni", range: 1...0xFF_FFFF).map(UInt32.init)
        guard let endpoints = stringArray(t, "endpoints") else {
            fail(path, "a link needs `endpoints = [\"NODE:IFACE\", \"NODE:IFACE\"]`")
            return nil
        }
        guard endpoints.count == 2 else {
            fail(path + ["endpoints"], "a link has exactly two endpoints, not \(endpoints.count)")
            return nil
        }
        var parsed: [Endpoint] = []
        for text in endpoints {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                fail(path + ["endpoints"], "'\(text)' is not NODE:INTERFACE")
                return nil
            }
            checkInterfaceName(String(parts[1]), path + ["endpoints"])
            parsed.append(Endpoint(node: String(parts[0]), interface: String(parts[1])))
        }
        if parsed[0] == parsed[1] { fail(path + ["endpoints"], "both ends are \(parsed[0])") }
        return Link(a: parsed[0], b: parsed[1], vni: vni)
    }

    // MARK: Cross-checks

    /// Joins links to interfaces and checks what spans several tables.
    mutating func resolve(nodes: [Node], links: [Link]) -> [Node] {
        var nodes = nodes
        var used: [String: Int] = [:]
        for (index, link) in links.enumerated() {
            let path = ["links", "\(index)", "endpoints"]
            for (end, other) in [(link.a, link.b), (link.b, link.a)] {
                guard let n = nodes.firstIndex(where: { $0.name == end.node }) else {
                    fail(path, "link to unknown node '\(end.node)'")
                    continue
                }
                if let previous = used[end.description] {
                    fail(path, "\(end) is already an endpoint of link \(previous + 1)")
                    continue
                }
                used[end.description] = index
                let kind = Interface.Kind.veth(peerNode: other.node, peerInterface: other.interface)
                if let i = nodes[n].interfaces.firstIndex(where: { $0.name == end.interface }) {
                    if case .veth = nodes[n].interfaces[i].kind {
                        nodes[n].interfaces[i].kind = kind
                    } else {
                        fail(path, "\(end) is declared as a \(nodes[n].interfaces[i].kindName), not a link end")
                    }
                } else {
                    nodes[n].interfaces.append(Interface(name: end.interface, kind: kind, addresses: [], mtu: nil,
                                                         mac: nil, up: true, impairment: nil, bridgeVLANs: nil))
                }
            }
        }
        for n in nodes.indices {
            let node = nodes[n]
            let path = ["nodes", node.name]
            let names = Set(node.interfaces.map(\.name))
            for interface in node.interfaces {
                let interfacePath = path + ["interfaces", interface.name]
                switch interface.kind {
                case let .veth(peerNode, _) where peerNode.isEmpty:
                    fail(interfacePath, "interface has no `kind` and no link: add a [[links]] entry or a kind")
                case let .bridge(ports, _):
                    for port in ports where !names.contains(port) {
                        fail(interfacePath + ["ports"], "bridge port '\(port)' is not an interface of node \(node.name)")
                    }
                    // The kernel numbers a bridge's ports in 10 bits and keeps 0 (BR_MAX_PORTS
                    // 1024): the 1024th port fails with libnl's "Unspecific failure".
                    if ports.count > Self.maximumBridgePorts {
                        fail(interfacePath + ["ports"], "a bridge takes at most \(Self.maximumBridgePorts) ports (the kernel's limit); this one has \(ports.count)")
                    }
                default:
                    break
                }
                if let foreign = interface.foreignParent {
                    let parentNode = nodes.first { $0.name == foreign.node }
                    if parentNode == nil {
                        fail(interfacePath + ["parent"], "parent node '\(foreign.node)' does not exist")
                    } else if parentNode?.interfaces.contains(where: { $0.name == foreign.interface }) != true {
                        fail(interfacePath + ["parent"], "parent interface '\(foreign.interface)' does not exist in node \(foreign.node)")
                    }
                    if case .vxlan = interface.kind {
                        fail(interfacePath + ["device"], "a vxlan's device is in its own node")
                    }
                } else if let parent = interface.parent, !names.contains(parent) {
                    fail(interfacePath, "parent interface '\(parent)' does not exist in node \(node.name)")
                }
            }
            var ports: [String: String] = [:]
            for case let (bridge, .bridge(portNames, _)) in node.interfaces.map({ ($0.name, $0.kind) }) {
                for port in portNames {
                    if let other = ports[port] { fail(path + ["interfaces", bridge, "ports"], "'\(port)' is already a port of \(other)") }
                    ports[port] = bridge
                }
            }
            checkRoutes(node, path)
            nodes[n].interfaces = Self.creationOrder(node.interfaces)
        }
        return nodes
    }

    /// A gateway must sit inside a subnet of one of the node's interfaces (or the route names
    /// its device), or the kernel refuses it with a bare "Network is unreachable".
    ///
    /// A route out of a device with no gateway makes its prefix connected too, as the kernel
    /// sees it: `{ to = "169.254.1.1/32", dev = "eth0" }` then `{ to = "default", via =
    /// "169.254.1.1" }` is how Calico routes a pod that has only a /32.
    mutating func checkRoutes(_ node: Node, _ path: [String]) {
        var subnets = node.interfaces.flatMap { interface in interface.addresses.map { (interface.name, $0) } }
        for route in node.routes where route.gateway == nil {
            if let device = route.device, let prefix = route.destination { subnets.append((device, prefix)) }
        }
        let names = Set(node.interfaces.map(\.name) + ["lo"])
        for (index, route) in node.routes.enumerated() {
            let routePath = path + ["routes", "\(index)"]
            if let device = route.device, !names.contains(device) {
                fail(routePath + ["dev"], "route device '\(device)' is not an interface of node \(node.name)")
            }
            if let gateway = route.gateway {
                let connected = subnets.contains { name, prefix in
                    prefix.contains(gateway) && (route.device == nil || route.device == name)
                }
                if !connected {
                    fail(routePath + ["via"], "gateway \(gateway) is outside every subnet of node \(node.name)'s interfaces")
                }
            }
        }
    }

    /// Links first, then bridges, then interfaces on a parent (parents before children).
    static func creationOrder(_ interfaces: [Interface]) -> [Interface] {
        var ordered: [Interface] = []
        var remaining = interfaces.sorted { rank($0) < rank($1) || (rank($0) == rank($1) && $0.name < $1.name) }
        while !remaining.isEmpty {
            let ready = remaining.firstIndex { i in
                i.parent.map { p in ordered.contains { $0.name == p } || !remaining.contains { $0.name == p } } ?? true
            } ?? 0
            ordered.append(remaining.remove(at: ready))
        }
        return ordered
    }

    private static func rank(_ interface: Interface) -> Int {
        switch interface.kind {
        case .existing: 0
        case .veth, .dummy, .tun, .tap, .stitch, .proxyStitch: 1
        case .bridge: 2
        case .macvlan, .vlan: 3
        case .vxlan: 4
        }
    }

    // MARK: Typed access (ConfigReader)

    mutating func fail(_ path: [String], _ message: String) { reader.fail(path, message) }
    mutating func checkKeys(_ t: ConfigTable, allowed: [String]) { reader.checkKeys(t, allowed: allowed) }
    mutating func string(_ t: ConfigTable, _ key: String) -> String? { reader.string(t, key) }
    mutating func bool(_ t: ConfigTable, _ key: String) -> Bool? { reader.bool(t, key) }
    mutating func int(_ t: ConfigTable, _ key: String, range: ClosedRange<Int>) -> Int? { reader.int(t, key, range: range) }
    mutating func intArray(_ t: ConfigTable, _ key: String, range: ClosedRange<Int>) -> [Int]? {
        reader.intArray(t, key, range: range)
    }
    mutating func stringArray(_ t: ConfigTable, _ key: String) -> [String]? { reader.stringArray(t, key) }
    mutating func table(_ t: ConfigTable, _ key: String) -> ConfigTable? { reader.table(t, key) }
    mutating func checkInterfaceName(_ name: String, _ path: [String]) { reader.checkInterfaceName(name, path) }

    /// Whether `name` may name a lab: lowercase letters, digits and '-', up to 32 bytes. Lab
    /// names become paths (/run/netlab/NAME, the cgroup netlab/NAME) and namespace prefixes, so
    /// every command checks them before using them: `..` must never be one.
    public static func isValidLabName(_ name: String) -> Bool { isValidName(name, extra: "-", maxLength: 32) }

    /// Whether `name` names a running lab: a lab's name, or one host's share of one, `LAB@HOST`.
    public static func isValidInstanceName(_ name: String) -> Bool {
        let parts = name.split(separator: "@", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1: return isValidLabName(parts[0])
        case 2: return isValidLabName(parts[0]) && isValidNodeName(parts[1])
        default: return false
        }
    }

    /// Whether `name` may name a node: as a lab, and '_' too.
    public static func isValidNodeName(_ name: String) -> Bool { isValidName(name, extra: "-_", maxLength: 32) }

    static func isValidName(_ name: String, extra: String, maxLength: Int) -> Bool {
        !name.isEmpty && name.utf8.count <= maxLength
            && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || extra.contains($0) }
            && name.first.map { $0.isLetter || $0.isNumber } == true
    }
}

extension TopologyParser {
    /// Just the `name` of a topology file (for `down` and `status`, which must work even when
    /// the rest of the file no longer validates).
    public static func labName(path: String) -> String? {
        guard let text = try? FileText.read(path), let table = try? ConfigReader.table(text, file: path),
              let name = table["name"]?.string, isValidLabName(name)
        else { return nil }
        return name
    }
}
