import Foundation
import Lab
import Netlink
import Testing

/// One small bad file per validation rule: the message names the line and key, and nothing is
/// created.
@Suite("Topology validation")
struct TopologyValidationTests {
    static let good = """
        name = "v"
        [nodes.a.interfaces.eth0]
        addresses = ["10.0.0.1/24"]
        [nodes.b.interfaces.eth0]
        addresses = ["10.0.0.2/24"]
        [[links]]
        endpoints = ["a:eth0", "b:eth0"]
        """

    static func problems(_ text: String, kernel: KernelSupport? = nil) -> [TopologyError] {
        var parser = TopologyParser(text: text, file: "lab.toml", kernel: kernel)
        do {
            _ = try parser.parse()
            return []
        } catch {
            return error.errors
        }
    }

    @Test func goodFileParses() throws {
        var parser = TopologyParser(text: Self.good, file: "lab.toml")
        let topology = try parser.parse()
        #expect(topology.nodes.map(\.name) == ["a", "b"])
        #expect(topology.links.count == 1)
        #expect(topology.nodes[0].interfaces[0].kind == .veth(peerNode: "b", peerInterface: "eth0"))
    }

    @Test("each rule reports its line and key", arguments: [
        // (file text, line, key, words in the message)
        ("name = \"v\"\n[nodes.a\n", 2, "", "TOML syntax"),
        ("[nodes.a.interfaces.eth0]\nkind = \"tun\"\n", 0, "", "needs a `name`"),
        ("name = \"V!\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\n", 1, "name", "not a lab name"),
        ("name = \"v\"\ncolour = 1\n[nodes.a.interfaces.t]\nkind = \"tun\"\n", 2, "colour", "unknown key"),
        ("name = \"v\"\n[nodes.a]\nforwardin = true\n", 3, "nodes.a.forwardin", "unknown key"),
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\nmtu = \"big\"\n", 4, "nodes.a.interfaces.t.mtu", "must be an integer"),
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\nmtu = 70000\n", 4, "nodes.a.interfaces.t.mtu", "out of range"),
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\n[[links]]\nendpoints = [\"a:e0\", \"zz:e0\"]\n", 5, "links.0.endpoints", "unknown node 'zz'"),
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\n[nodes.b.interfaces.t]\nkind = \"tun\"\n[[links]]\nendpoints = [\"a:e0\", \"b:e0\"]\n[[links]]\nendpoints = [\"a:e0\", \"b:e1\"]\n", 9, "links.1.endpoints", "already an endpoint"),
        ("name = \"v\"\n[nodes.a.interfaces.averyveryverylongname]\nkind = \"tun\"\n", 2, "nodes.a.interfaces.averyveryverylongname", "Linux allows 15"),
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\naddresses = [\"10.0.0.300/24\"]\n", 4, "nodes.a.interfaces.t.addresses", "not a CIDR"),
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\naddresses = [\"10.0.0.1\"]\n", 4, "nodes.a.interfaces.t.addresses", "not a CIDR"),
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\naddresses = [\"10.0.0.1/24\"]\n[[nodes.a.routes]]\nto = \"default\"\nvia = \"10.9.9.1\"\n", 7, "nodes.a.routes.0.via", "outside every subnet"),
        ("name = \"v\"\n[nodes.a.interfaces.m]\nkind = \"macvlan\"\nparent = \"eth9\"\n", 2, "nodes.a.interfaces.m", "parent interface 'eth9' does not exist"),
        ("name = \"v\"\n[nodes.a.interfaces.br0]\nkind = \"bridge\"\nports = [\"p9\"]\n", 4, "nodes.a.interfaces.br0.ports", "bridge port 'p9'"),
        ("name = \"v\"\n[nodes.a.interfaces.vx]\nkind = \"vxlan\"\nvni = 16777216\n", 4, "nodes.a.interfaces.vx.vni", "out of range"),
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\nmac = \"01:00:5e:00:00:01\"\n", 4, "nodes.a.interfaces.t.mac", "multicast"),
        ("name = \"v\"\n[nodes.a.interfaces.eth0]\naddresses = [\"10.0.0.1/24\"]\n", 2, "nodes.a.interfaces.eth0", "no `kind` and no link"),
        ("name = \"v\"\n[nodes.a.interfaces.g]\nkind = \"gre\"\n", 3, "nodes.a.interfaces.g.kind", "unknown kind 'gre'"),
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\nimpair = { delay = \"10 parsecs\" }\n", 4, "nodes.a.interfaces.t.impair.delay", "not a duration"),
        ("name = \"v\"\n[nodes.a.interfaces.m]\nkind = \"macvlan\"\nparent = \"zz:eth0\"\n", 4, "nodes.a.interfaces.m.parent", "parent node 'zz'"),
        // The inline form, over several lines: the faulty entry's line, not that of `routes = [`.
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\naddresses = [\"10.0.0.1/24\"]\n[nodes.a]\nroutes = [\n  { to = \"10.8.0.0/16\", via = \"10.0.0.9\" },\n  { to = \"10.9.0.0/33\", via = \"10.0.0.9\" },\n]\n", 8, "nodes.a.routes.1.to", "not a prefix"),
        ("name = \"v\"\n[nodes.a.interfaces.t]\nkind = \"tun\"\naddresses = [\"10.0.0.1/24\"]\n[nodes.a]\nroutes = [ { to = \"default\", via = \"10.0.0.9\" },\n           { to = \"default6\", via = \"nowhere\" } ]\n", 7, "nodes.a.routes.1.via", "not an IP address"),
        ("name = \"v\"\n[nodes.a]\nexec_timeout = \"soon\"\n", 3, "nodes.a.exec_timeout", "not a duration"),
        // A node's proxy is checked by the proxy's own rules, with the topology's lines.
        ("name = \"v\"\n[nodes.a.proxy.tun]\naddresses = [\"10.9.0.1/24\"]\n[nodes.a.proxy.underlay]\nlisten = \"nowhere\"\n[[nodes.a.proxy.peers]]\nendpoint = \"10.0.0.2:4789\"\nvni = 42\n", 5, "nodes.a.proxy.underlay.listen", "not ADDRESS:PORT"),
        ("name = \"v\"\n[nodes.a.proxy.tun]\naddresses = [\"10.9.0.1/24\"]\n[nodes.a.proxy.underlay]\nlisten = \"10.0.0.1:4789\"\n[[nodes.a.proxy.peers]]\nendpoint = \"10.0.0.2:4789\"\nvni = 99999999\n", 8, "nodes.a.proxy.peers.0.vni", "out of range"),
        ("name = \"v\"\n[nodes.a.interfaces.vx0]\nkind = \"tun\"\n[nodes.a.proxy.tun]\nname = \"vx0\"\n[nodes.a.proxy.underlay]\nlisten = \"10.0.0.1:4789\"\n[[nodes.a.proxy.peers]]\nendpoint = \"10.0.0.2:4789\"\nvni = 1\n", 5, "nodes.a.proxy.tun.name", "also an interface"),
        // Container nodes and services.
        ("name = \"v\"\n[nodes.a]\nhostname = \"-web\"\n", 3, "nodes.a.hostname", "not a hostname"),
        ("name = \"v\"\n[nodes.a]\nisolation = [\"user\"]\n", 3, "nodes.a.isolation", "not an isolation"),
        ("name = \"v\"\n[nodes.a]\nlimits = { cpu = 0, memory = \"1M\" }\n", 3, "nodes.a.limits.cpu", "number of cores"),
        ("name = \"v\"\n[nodes.a]\nlimits = { memory = \"lots\" }\n", 3, "nodes.a.limits.memory", "at least 1M"),
        ("name = \"v\"\n[nodes.a]\nlimits = { pids = 0 }\n", 3, "nodes.a.limits.pids", "out of range"),
        ("name = \"v\"\n[nodes.a]\nlimits = { disk = \"1G\" }\n", 3, "nodes.a.limits.disk", "unknown key"),
        ("name = \"v\"\n[nodes.a]\nfiles = { \"/etc/motd\" = \"/nonexistent/motd\" }\nisolation = [\"mount\"]\n", 3, "nodes.a.files./etc/motd", "does not exist"),
        ("name = \"v\"\n[nodes.a]\nfiles = { \"/etc/motd\" = \"/etc/hostname\" }\n", 3, "nodes.a.files", "add isolation"),
        ("name = \"v\"\n[nodes.a]\nfiles = { \"etc/motd\" = \"/etc/hostname\" }\nisolation = [\"mount\"]\n", 3, "nodes.a.files.etc/motd", "not an absolute path"),
        ("name = \"v\"\n[nodes.a]\n[[nodes.a.services]]\nname = \"s\"\n", 3, "nodes.a.services.0", "needs a `command`"),
        ("name = \"v\"\n[nodes.a]\n[[nodes.a.services]]\nname = \"s\"\ncommand = \"true\"\nready = \"udp:53\"\n", 6, "nodes.a.services.0.ready", "not a readiness check"),
        ("name = \"v\"\n[nodes.a]\n[[nodes.a.services]]\nname = \"s\"\ncommand = \"true\"\nrestart = \"sometimes\"\n", 6, "nodes.a.services.0.restart", "restart is"),
        ("name = \"v\"\n[nodes.a]\n[[nodes.a.services]]\nname = \"s\"\ncommand = \"true\"\n[[nodes.a.services]]\nname = \"s\"\ncommand = \"true\"\n", 7, "nodes.a.services.1.name", "two services named s"),
        ("name = \"v\"\n[nodes.a]\n[[nodes.a.services]]\nname = \"s\"\ncommand = \"true\"\nafter = [\"b:db\"]\n", 6, "nodes.a.services.0.after", "b:db is no service"),
        ("name = \"v\"\n[nodes.a]\n[[nodes.a.services]]\nname = \"s\"\ncommand = \"true\"\nafter = [\"t\"]\n[[nodes.a.services]]\nname = \"t\"\ncommand = \"true\"\nafter = [\"s\"]\n", 6, "nodes.a.services.0.after", "in a circle: a:s -> a:t -> a:s"),
        ("name = \"v\"\n[nodes.a]\n[[checks]]\nname = \"c\"\nnode = \"zz\"\nrun = \"true\"\n", 5, "checks.0.node", "unknown node 'zz'"),
        ("name = \"v\"\n[nodes.a]\n[[checks]]\nname = \"c\"\nnode = \"a\"\nrun = \"true\"\nexpect = 300\n", 7, "checks.0.expect", "out of range"),
        ("name = \"v\"\n[nodes.a]\n[[checks]]\nname = \"c\"\n", 3, "checks.0", "needs `name`, `node` and `run`"),
    ])
    func rule(text: String, line: Int, key: String, words: String) {
        let found = Self.problems(text)
        #expect(!found.isEmpty, "no problem reported for:\n\(text)")
        let match = found.first { $0.message.contains(words) }
        #expect(match != nil, "expected '\(words)' among \(found.map(\.description))")
        #expect(match?.line == line, "\(match?.description ?? "")")
        #expect(match?.key == key, "\(match?.description ?? "")")
        #expect(match?.description.hasPrefix(line > 0 ? "lab.toml:\(line):" : "lab.toml:") == true)
    }

    @Test("every problem of a file is reported at once, in line order")
    func allAtOnce() {
        let text = """
            name = "v"
            [nodes.a.interfaces.eth0]
            addresses = ["bad"]
            mtu = 1
            [[links]]
            endpoints = ["a:eth0", "nowhere:eth0"]
            """
        let found = Self.problems(text)
        #expect(found.count == 3)
        #expect(found.map(\.line) == [3, 4, 6])
    }

    @Test("a feature the kernel lacks is a validation error naming the config option")
    func kernelFeatures() {
        let none = KernelSupport(dummy: false, vlan: false, bridgeVLANFiltering: false, netem: false, tbf: true)
        let text = """
            name = "v"
            [nodes.a.interfaces.d0]
            kind = "dummy"
            impair = { delay = "5ms", rate = "1mbit" }
            """
        let found = Self.problems(text, kernel: none)
        #expect(found.contains { $0.message.contains("CONFIG_DUMMY") && $0.line == 3 })
        #expect(found.contains { $0.message.contains("CONFIG_NET_SCH_NETEM") && $0.line == 4 })
    }

    @Test("every shipped topology validates (kernel features aside)")
    func shippedTopologies() throws {
        let directory = Self.repositoryRoot + "/topologies"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".toml") }
        #expect(files.count >= 7)
        for file in files {
            #expect(throws: Never.self, "\(file)") { try TopologyParser.load(path: "\(directory)/\(file)") }
        }
    }

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}
