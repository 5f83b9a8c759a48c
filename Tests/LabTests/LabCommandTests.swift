import Foundation
import Lab
import Netlink
import Synchronization
import Testing
import TestSupport

/// The netlab lab commands as a user runs them.
@Suite("netlab lab commands", .serialized)
struct LabCommandTests {
    static let tag = "nltcmd\(getpid())"

    static var netlab: String { ProcessRunner.netlab }

    typealias Result = ProcessRunner.Result

    /// Runs netlab (or `program`, with `prefix` before the arguments) and collects its output.
    static func run(_ arguments: [String], input: String? = nil, program: String? = nil, prefix: [String] = []) throws -> Result {
        try ProcessRunner.run(prefix + arguments, input: input, program: program ?? netlab)
    }

    /// A veth-pair lab file with this run's name, and `extra` lines; returns (path, lab name).
    static func pairFile(_ suffix: String, extra: String = "") throws -> (String, String) {
        let name = "\(tag)-\(suffix)"
        let path = NSTemporaryDirectory() + "\(name).toml"
        try """
            name = "\(name)"
            [nodes.a.interfaces.eth0]
            addresses = ["10.0.0.1/24"]
            [nodes.b.interfaces.eth0]
            addresses = ["10.0.0.2/24"]
            [[links]]
            endpoints = ["a:eth0", "b:eth0"]
            \(extra)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, name)
    }

    @Test("a directory or a missing file: one line naming the path and the reason, for up, proxy and decode")
    func badPaths() throws {
        let directory = NSTemporaryDirectory() + "\(Self.tag)-dir"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = directory + "/missing.toml"
        for (arguments, path, reason) in [
            (["up", directory], directory, "is a directory"),
            (["up", missing], missing, "no such file or directory"),
            (["proxy", "--config", directory], directory, "is a directory"),
            (["proxy", "--config", missing], missing, "no such file or directory"),
            (["decode", directory], directory, "is a directory"),
        ] {
            let result = try Self.run(arguments)
            let lines = result.stderr.split(separator: "\n")
            #expect(result.status != 0, "\(arguments)")
            #expect(lines.first?.hasSuffix("\(path): \(reason)") == true, "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("required"), "\(arguments) listed missing sections: \(result.stderr)")
        }
    }

    @Test("a bad file: every problem with file:line, exit 1, nothing created")
    func badFile() throws {
        let name = "\(Self.tag)-bad"
        let path = NSTemporaryDirectory() + "\(name).toml"
        try """
            name = "\(name)"
            [nodes.a.interfaces.eth0]
            addresses = ["10.0.0.1/33"]
            [nodes.b.interfaces.eth0]
            addresses = ["10.0.0.2/24"]
            [[links]]
            endpoints = ["a:eth0", "b:eth0"]
            [[links]]
            endpoints = ["a:eth1", "c:eth0"]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Self.run(["up", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(path):3: nodes.a.interfaces.eth0.addresses:"))
        #expect(result.stderr.contains("\(path):9: links.1.endpoints: link to unknown node 'c'"))
        #expect(result.stderr.contains("nothing was created"))
        #expect(NetworkNamespace.all().filter { $0.hasPrefix(name + ".") }.isEmpty)
        #expect(LabState.load(name) == nil)
    }

    @Test("up, status --json, exec with its exit status, graph, down; down again says not up")
    func lifecycle() throws {
        let (path, name) = try Self.pairFile("life")
        defer {
            _ = try? LabTeardown.down(name)
            try? FileManager.default.removeItem(atPath: path)
        }
        let up = try Self.run(["up", path])
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stdout.contains("lab \(name) is up"))

        let status = try Self.run(["status", name, "--json"])
        #expect(status.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let nodes = object?["nodes"] as? [[String: Any]] ?? []
        #expect(nodes.count == 2)
        let table = try Self.run(["status", path])
        #expect(table.stdout.contains("10.0.0.2/24"))

        let ping = try Self.run(["exec", name, "a", "--", "ping", "-c", "1", "-W", "2", "10.0.0.2"])
        #expect(ping.status == 0)
        #expect(ping.stdout.contains("1 received"))
        let seven = try Self.run(["exec", name, "b", "--", "sh", "-c", "exit 7"])
        #expect(seven.status == 7)
        let missingNode = try Self.run(["exec", name, "zz", "--", "true"])
        #expect(missingNode.status == 1)

        let graph = try Self.run(["graph", path])
        #expect(graph.stdout.hasPrefix("graph \"\(name)\""))
        #expect(graph.stdout.contains("\"a\":p_eth0 -- \"b\":p_eth0"))

        let down = try Self.run(["down", path])
        #expect(down.stdout.contains("2 namespaces"))
        let again = try Self.run(["down", name])
        #expect(again.status == 0)
        #expect(again.stdout.contains("is not up"))
    }

    @Test("graph renders SVG through dot", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/dot")))
    func graphSVG() throws {
        let svg = NSTemporaryDirectory() + "\(Self.tag)-graph.svg"
        defer { try? FileManager.default.removeItem(atPath: svg) }
        let result = try Self.run(["graph", "\(TopologyValidationTests.repositoryRoot)/topologies/k8s-flannel.toml", "-o", svg])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(text.contains("<svg") && text.contains("flannel.1 (vxlan)"))
    }

    @Test("graph draws each proxy's TUN device and one dotted tunnel per peer: a proxy, or a kernel vxlan")
    func graphProxies() throws {
        let root = TopologyValidationTests.repositoryRoot
        let sites = GraphRenderer.dot(try TopologyParser.load(path: "\(root)/topologies/proxy-two-sites.toml"))
        #expect(sites.contains("<p_vx0> vx0 (proxy 10.20.1.2:4789)"), "\(sites)")
        let tunnels = sites.split(separator: "\n").filter { $0.contains("label=\"vni 100 (proxy)\"") }
        #expect(tunnels == ["  \"gwa\":p_vx0 -- \"gwb\":p_vx0 [style=dotted, label=\"vni 100 (proxy)\"];"], "one edge per pair")
        let kernel = GraphRenderer.dot(try TopologyParser.load(path: "\(root)/topologies/proxy-kernel.toml"))
        #expect(kernel.contains("\"host2\":p_vx0 -- \"host1\":p_vx0 [style=dotted, label=\"vni 42 (proxy)\"]"), "\(kernel)")
        #expect(!kernel.contains("vtep"), "the kernel end is the node's vxlan, not an outside endpoint")
    }

    @Test("capture prints live packets decoded, and writes a pcap that decode reads")
    func capture() throws {
        let (path, name) = try Self.pairFile("cap")
        defer {
            _ = try? LabTeardown.down(name)
            try? FileManager.default.removeItem(atPath: path)
        }
        #expect(try Self.run(["up", path]).status == 0)
        let pcap = NSTemporaryDirectory() + "\(name).pcap"
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        // Two captures at once: a printed one and a written one, each stopping after 4 packets.
        let printer = Process()
        printer.executableURL = URL(fileURLWithPath: Self.netlab)
        printer.arguments = ["capture", name, "b:eth0", "-c", "4", "icmp"]
        let printed = Pipe()
        printer.standardOutput = printed
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: Self.netlab)
        writer.arguments = ["capture", name, "a:eth0", "-c", "4", "-w", pcap, "icmp"]
        writer.standardError = FileHandle.nullDevice
        try printer.run()
        try writer.run()
        Thread.sleep(forTimeInterval: 0.5)
        _ = try Self.run(["exec", name, "a", "--", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.0.0.2"])
        let text = String(decoding: printed.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        printer.waitUntilExit()
        writer.waitUntilExit()
        let lines = text.split(separator: "\n")
        #expect(lines.count == 4, "\(text)")
        #expect(lines.allSatisfy { $0.contains("ICMP echo") })
        let decoded = try Self.run(["decode", pcap, "--json"])
        #expect(decoded.stdout.split(separator: "\n").count == 4)
        #expect(decoded.stdout.contains("\"layer\":\"icmp\""))
    }

    @Test("impair changes a running interface's rate", .enabled(if: KernelSupport.current.tbf))
    func impair() throws {
        let (path, name) = try Self.pairFile("imp")
        defer {
            _ = try? LabTeardown.down(name)
            try? FileManager.default.removeItem(atPath: path)
        }
        #expect(try Self.run(["up", path]).status == 0)
        let set = try Self.run(["impair", name, "a:eth0", "--rate", "5mbit"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(try Self.run(["status", name]).stdout.contains("[tbf]"))
        let clear = try Self.run(["impair", name, "a:eth0", "--clear"])
        #expect(clear.status == 0)
        #expect(!(try Self.run(["status", name]).stdout.contains("[tbf]")))
        if !KernelSupport.current.netem {
            let refused = try Self.run(["impair", name, "a:eth0", "--delay", "10ms"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("CONFIG_NET_SCH_NETEM"))
        }
    }

    @Test("kill -9 of up halfway through a large lab, then down: nothing left")
    func killedUp() throws {
        let name = "\(Self.tag)-kill"
        let path = NSTemporaryDirectory() + "\(name).toml"
        var text = "name = \"\(name)\"\n"
        for i in 0..<300 {
            text += "[nodes.n\(i).interfaces.e0]\naddresses = [\"10.\(i / 250).\(i % 250).1/30\"]\n"
            text += "[nodes.m\(i).interfaces.e0]\naddresses = [\"10.\(i / 250).\(i % 250).2/30\"]\n"
            text += "[[links]]\nendpoints = [\"n\(i):e0\", \"m\(i):e0\"]\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer {
            _ = try? LabTeardown.down(name)
            try? FileManager.default.removeItem(atPath: path)
        }
        let up = Process()
        up.executableURL = URL(fileURLWithPath: Self.netlab)
        up.arguments = ["up", path]
        up.standardOutput = FileHandle.nullDevice
        up.standardError = FileHandle.nullDevice
        try up.run()
        // Wait until it is partway (some namespaces made), then kill it without warning.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, NetworkNamespace.all().filter({ $0.hasPrefix(name + ".") }).count < 50 {
            Thread.sleep(forTimeInterval: 0.005)
        }
        kill(up.processIdentifier, SIGKILL)
        up.waitUntilExit()
        let partial = NetworkNamespace.all().filter { $0.hasPrefix(name + ".") }.count
        #expect(partial >= 50)
        #expect(LabState.load(name)?.complete == false)
        let down = try Self.run(["down", name])
        #expect(down.status == 0)
        #expect(NetworkNamespace.all().filter { $0.hasPrefix(name + ".") }.isEmpty)
        #expect(LabState.load(name) == nil)
        // Nor the names files, whichever step the kill interrupted, nor the namespace mounts.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/etc/netns"))?.filter { $0.hasPrefix(name + ".") } ?? []
        #expect(names.isEmpty, "\(names.prefix(5))")
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        #expect(!mounts.contains("/run/netlab/\(name)"))
    }
}

/// `netlab check` and `up --check-after`.
@Suite("Lab checks", .serialized)
struct LabCheckCommandTests {
    @Test("check prints ok or FAIL per check and a last line checks: P/T pass; exit 0 only when all pass")
    func checkCommand() throws {
        let (path, name) = try LabCommandTests.pairFile("checks", extra: """
            [[checks]]
            name = "a reaches b"
            node = "a"
            run = "ping -c 1 -W 2 10.0.0.2"
            retries = 2
            [[checks]]
            name = "b is not 10.0.0.9"
            node = "b"
            run = "echo looked; ip -o addr show | grep -q 10.0.0.9"
            """)
        defer {
            _ = try? LabCommandTests.run(["down", name])
            try? FileManager.default.removeItem(atPath: path)
        }
        let up = try LabCommandTests.run(["up", path, "--check-after"])
        #expect(up.status == 1, "\(up.stdout)")
        let lines = up.stdout.split(separator: "\n").filter { $0.hasPrefix("ok ") || $0.hasPrefix("FAIL ") || $0.hasPrefix("checks:") }
        #expect(lines == ["ok a reaches b", "FAIL b is not 10.0.0.9: exit status 1, expected 0: looked", "checks: 1/2 pass"], "\(up.stdout)")
        // The lab stays up for a look.
        #expect(NetworkNamespace("\(name).a").exists)
        let check = try LabCommandTests.run(["check", name])
        #expect(check.status == 1 && check.stdout.hasSuffix("checks: 1/2 pass\n"), "\(check.stdout)")
        _ = try LabCommandTests.run(["down", name])
        let notUp = try LabCommandTests.run(["check", name])
        #expect(notUp.status == 1 && notUp.stderr.contains("is not up"))
    }
}
