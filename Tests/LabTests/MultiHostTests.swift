import Foundation
import Lab
import Netlink
import Testing

/// Labs over several hosts, simulated on one machine: each "host" is a network namespace of an
/// underlay lab (a switch and three hosts on 198.51.100.0/24, TEST-NET-2, which exists nowhere
/// but here), and `netlab up FILE` runs in it through `nsenter --net`.
@Suite("Multi-host labs", .serialized)
struct MultiHostTests {
    static let tag = "\(LabCommandTests.tag)-mh"

    /// The underlay lab and a lab over its three hosts, written for one test.
    struct Fixture {
        let underlay: String
        let lab: String
        let file: String
        let directory: String

        /// - Parameter body: the lab's nodes and links instead of the three-host lab (hosts stay).
        init(_ suffix: String, extra: String = "", body: String? = nil) throws {
            underlay = "\(MultiHostTests.tag)u\(suffix)"
            lab = "\(MultiHostTests.tag)\(suffix)"
            directory = NSTemporaryDirectory() + lab
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let underlayFile = directory + "/underlay.toml"
            try """
                name = "\(underlay)"
                [nodes.switch.interfaces.br0]
                kind = "bridge"
                ports = ["p1", "p2", "p3"]
                [nodes.east.interfaces.eth0]
                addresses = ["198.51.100.1/24"]
                [nodes.west.interfaces.eth0]
                addresses = ["198.51.100.2/24"]
                [nodes.north.interfaces.eth0]
                addresses = ["198.51.100.3/24"]
                [[links]]
                endpoints = ["east:eth0", "switch:p1"]
                [[links]]
                endpoints = ["west:eth0", "switch:p2"]
                [[links]]
                endpoints = ["north:eth0", "switch:p3"]
                """.write(toFile: underlayFile, atomically: true, encoding: .utf8)
            file = directory + "/lab.toml"
            try """
                name = "\(lab)"
                [hosts.east]
                address = "198.51.100.1"
                [hosts.west]
                address = "198.51.100.2"
                [hosts.north]
                address = "198.51.100.3"
                \(body ?? Self.threeHostLab)
                \(extra)
                """.write(toFile: file, atomically: true, encoding: .utf8)
            let up = try LabCommandTests.run(["up", underlayFile])
            try #require(up.status == 0, "the underlay lab: \(up.stdout) \(up.stderr)")
        }

        static let threeHostLab = """
                [nodes.a]
                host = "east"
                [nodes.a.interfaces.eth0]
                addresses = ["10.1.0.1/24"]
                [nodes.b]
                host = "west"
                [nodes.b.interfaces.eth0]
                addresses = ["10.1.0.2/24"]
                # A bridge on north with ports stitched to east and west: one L2 segment over three hosts.
                [nodes.sw]
                host = "north"
                [nodes.sw.interfaces.br0]
                kind = "bridge"
                ports = ["pc", "pd"]
                [nodes.c]
                host = "east"
                [nodes.c.interfaces.eth0]
                addresses = ["10.2.0.3/24"]
                [nodes.d]
                host = "west"
                [nodes.d.interfaces.eth0]
                addresses = ["10.2.0.4/24"]
                [[links]]
                endpoints = ["a:eth0", "b:eth0"]
                vni = 5001
                [[links]]
                endpoints = ["c:eth0", "sw:pc"]
                [[links]]
                endpoints = ["d:eth0", "sw:pd"]
                [[checks]]
                name = "a reaches b by name across hosts"
                node = "a"
                run = "ping -c 1 -W 2 b"
                retries = 2
                """

        /// `netlab ARGUMENTS` run in `host`'s network namespace only (its mounts are the machine's).
        func onHost(_ host: String, _ arguments: [String]) throws -> LabCommandTests.Result {
            try LabCommandTests.run(["--net=/run/netns/\(underlay).\(host)", LabCommandTests.netlab] + arguments, program: "/usr/bin/nsenter")
        }

        func exec(_ node: String, _ script: String) throws -> LabCommandTests.Result {
            try LabCommandTests.run(["exec", lab, node, "--", "/bin/sh", "-c", script])
        }

        /// 4 MB of random bytes served over HTTP by b (10.1.0.2) and fetched by a by name: the
        /// digest b computed of what it sent, and the digest a computed of what arrived.
        func transferFromBToA() throws -> (sent: LabCommandTests.Result, received: LabCommandTests.Result) {
            let file = "/tmp/\(lab).bin"
            let sent = try exec("b", "head -c 4000000 /dev/urandom > \(file); sha256sum < \(file)")
            defer { try? FileManager.default.removeItem(atPath: file) }
            let server = Process()
            server.executableURL = URL(fileURLWithPath: LabCommandTests.netlab)
            server.arguments = ["exec", lab, "b", "--", "python3", "-m", "http.server", "--bind", "10.1.0.2", "--directory", "/tmp", "8000"]
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            defer { if server.isRunning { server.terminate() } }
            // Once the server answers (a pipe's status would be sha256sum's), the transfer itself.
            let url = "http://b:8000/\(lab).bin"
            let received = try exec("a", "for i in $(seq 20); do if curl -sf -o /dev/null \(url); then curl -sf \(url) | sha256sum; exit 0; fi; sleep 0.3; done; exit 1")
            return (sent, received)
        }

        func tearDown() {
            for host in ["east", "west", "north"] { _ = try? LabCommandTests.run(["down", lab, "--host", host]) }
            _ = try? LabCommandTests.run(["down", underlay])
            try? FileManager.default.removeItem(atPath: directory)
        }

        var leftovers: [String] {
            NetworkNamespace.all().filter { $0.hasPrefix(lab + "@") || $0.hasPrefix(underlay + ".") }
                + LabState.all().filter { $0.hasPrefix(lab) || $0.hasPrefix(underlay) }
        }
    }

    @Test("plan shows each host's nodes and the stitched links with their VNIs")
    func plan() throws {
        let fixture = try Fixture("plan")
        defer { fixture.tearDown() }
        let plan = try LabCommandTests.run(["plan", fixture.file])
        #expect(plan.status == 0)
        #expect(plan.stdout.contains("host east (198.51.100.1): 2 nodes: a, c"), "\(plan.stdout)")
        #expect(plan.stdout.contains("a:eth0 on east (198.51.100.1) <-> b:eth0 on west (198.51.100.2)  vni 5001  port 4789  mtu 1450"), "\(plan.stdout)")
        #expect(plan.stdout.contains("3 stitched links"))
        // The derived VNIs are the same on every run.
        #expect(try LabCommandTests.run(["plan", fixture.file]).stdout == plan.stdout)
    }

    @Test("three hosts: ping by name and a TCP transfer checked by sha256 across stitched links, a bridge spanning hosts, status per host, down leaves nothing")
    func threeHosts() throws {
        let fixture = try Fixture("three")
        defer { fixture.tearDown() }
        for host in ["east", "west", "north"] {
            let up = try fixture.onHost(host, ["up", fixture.file])
            try #require(up.status == 0, "\(host): \(up.stderr)")
            #expect(up.stdout.contains("lab \(fixture.lab)@\(host) is up"))
        }
        #expect(try fixture.exec("a", "ping -c 1 -W 2 b").status == 0)
        // Over the bridge on north: east's c to west's d.
        #expect(try fixture.exec("c", "ping -c 1 -W 2 10.2.0.4").status == 0)
        let (sent, received) = try fixture.transferFromBToA()
        #expect(received.status == 0 && !sent.stdout.isEmpty && received.stdout == sent.stdout, "\(sent.stdout) vs \(received.stdout)")
        // Each host's share says which file it came from and that its stitches carry packets.
        let status = try LabCommandTests.run(["status", fixture.lab, "--host", "east"])
        #expect(status.stdout.contains("host east, file digest "), "\(status.stdout)")
        #expect(status.stdout.contains("stitch a:eth0 vni 5001 <-> b:eth0 on west (198.51.100.2): "), "\(status.stdout)")
        #expect(!status.stdout.contains("nothing received"), "\(status.stdout)")
        // Checks run in the share that has their node.
        let check = try fixture.onHost("east", ["check", fixture.lab])
        #expect(check.stdout.contains("ok a reaches b by name across hosts"), "\(check.stdout)")
        for host in ["east", "west", "north"] { #expect(try fixture.onHost(host, ["down", fixture.lab]).status == 0) }
        _ = try LabCommandTests.run(["down", fixture.underlay])
        #expect(fixture.leftovers.isEmpty, "\(fixture.leftovers)")
    }

    @Test("one host's share goes down while the others stay up, and comes back; shares from different files are reported")
    func shareDownAndBack() throws {
        let fixture = try Fixture("back")
        defer { fixture.tearDown() }
        for host in ["east", "west", "north"] { try #require(try fixture.onHost(host, ["up", fixture.file]).status == 0) }
        #expect(try fixture.exec("a", "ping -c 1 -W 2 10.1.0.2").status == 0)
        #expect(try fixture.onHost("west", ["down", fixture.lab]).status == 0)
        #expect(NetworkNamespace("\(fixture.lab)@east.a").exists, "east's share went down with west's")
        // The kernel ends a deleted namespace a moment later, in its own time.
        #expect(try LabServiceTests.waitFor(5) { (try? fixture.exec("a", "ping -c 1 -W 1 10.1.0.2").status) != 0 })
        // West comes back from an edited file: it works, and status says the hosts differ.
        try (try String(contentsOfFile: fixture.file, encoding: .utf8) + "\n# edited on west\n").write(toFile: fixture.file + ".west.toml", atomically: true, encoding: .utf8)
        #expect(try fixture.onHost("west", ["up", fixture.file + ".west.toml"]).status == 0)
        #expect(try fixture.exec("a", "ping -c 1 -W 2 10.1.0.2").status == 0, "the stitch did not come back")
        let status = try LabCommandTests.run(["status"])
        #expect(status.stderr.contains("warning: the hosts of lab \(fixture.lab) run different versions of its file"), "\(status.stderr)")
    }

    @Test("proxy stitches: a proxy per link end in the host's network, its TUN device in the node; ping by name and through a route via the far end, TCP checked by sha256, down leaves nothing")
    func proxyStitch() throws {
        let fixture = try Fixture("px", body: """
            [stitch]
            kind = "proxy"
            port = 4900
            [nodes.a]
            host = "east"
            [nodes.a.interfaces.eth0]
            addresses = ["10.1.0.1/24"]
            [[nodes.a.routes]]
            to = "10.3.0.0/24"
            via = "10.1.0.2"
            [nodes.b]
            host = "west"
            [nodes.b.interfaces.eth0]
            addresses = ["10.1.0.2/24"]
            [nodes.b.interfaces.lo]
            addresses = ["10.3.0.1/32"]
            [[links]]
            endpoints = ["a:eth0", "b:eth0"]
            """)
        defer { fixture.tearDown() }
        for host in ["east", "west"] {
            let up = try fixture.onHost(host, ["up", fixture.file])
            try #require(up.status == 0, "\(host): \(up.stdout) \(up.stderr)")
        }
        // The node's end is a TUN device; its proxy runs in the host's network, listening on
        // the host's underlay address (which only the host's namespace has).
        let kind = try fixture.exec("a", "ip -d link show eth0")
        #expect(kind.stdout.contains("tun"), "\(kind.stdout)")
        let sockets = try LabCommandTests.run(["netns", "exec", "\(fixture.underlay).east", "ss", "-uln"], program: "/usr/bin/env", prefix: ["ip"])
        #expect(sockets.stdout.contains("198.51.100.1:4900"), "\(sockets.stdout)")
        #expect(try fixture.exec("a", "ping -c 1 -W 2 b").status == 0)
        #expect(try fixture.exec("a", "ping -c 1 -W 2 10.3.0.1").status == 0, "through a's route via b, answered by b's proxy for what it routes")
        let (sent, received) = try fixture.transferFromBToA()
        #expect(received.status == 0 && !sent.stdout.isEmpty && received.stdout == sent.stdout, "\(sent.stdout) vs \(received.stdout)")
        let status = try LabCommandTests.run(["status", fixture.lab, "--host", "east"])
        #expect(status.stdout.contains("stitch a:eth0 vni "), "\(status.stdout)")
        #expect(!status.stdout.contains("nothing received"), "\(status.stdout)")
        // The stitch's proxy is the node's service `stitch-eth0`, with its log.
        let logs = try LabCommandTests.run(["logs", fixture.lab, "a", "stitch-eth0"])
        #expect(logs.status == 0, "\(logs.stderr)")
        // Restarted, the proxy attaches to the node's device again, addresses and routes intact.
        let restart = try fixture.onHost("east", ["service", fixture.lab, "a", "stitch-eth0", "restart"])
        #expect(restart.status == 0, "\(restart.stdout) \(restart.stderr)")
        #expect(try fixture.exec("a", "ping -c 1 -W 2 10.3.0.1").status == 0, "no traffic after the stitch's proxy restarted")
        for host in ["east", "west"] { #expect(try fixture.onHost(host, ["down", fixture.lab]).status == 0) }
        _ = try LabCommandTests.run(["down", fixture.underlay])
        #expect(fixture.leftovers.isEmpty, "\(fixture.leftovers)")
    }

    @Test("inside ip netns exec (a private mount namespace) up refuses with a clear error and creates nothing")
    func privateMountNamespace() throws {
        let fixture = try Fixture("ipx")
        defer { fixture.tearDown() }
        let up = try LabCommandTests.run(["netns", "exec", "\(fixture.underlay).east", LabCommandTests.netlab, "up", fixture.file], program: "/usr/bin/env", prefix: ["ip"])
        #expect(up.status == 1 && up.stderr.contains("private mount namespace") && up.stderr.contains("nsenter --net="), "\(up.stderr)")
        #expect(NetworkNamespace.all().filter { $0.hasPrefix(fixture.lab + "@") }.isEmpty)
    }

    @Test("validation: every node names a host, hosts exist, VNIs do not clash, MTUs leave room for VXLAN", arguments: [
        ("[nodes.x.interfaces.eth0]\naddresses = [\"10.9.0.1/24\"]\n[[links]]\nendpoints = [\"x:eth0\", \"a:eth9\"]\n", "node x needs a `host`"),
        ("[nodes.x]\nhost = \"south\"\n", "unknown host 'south'"),
        ("[[links]]\nendpoints = [\"a:eth1\", \"b:eth1\"]\nvni = 5001\n", "VNI 5001 is also link 1's"),
        ("[nodes.a.interfaces.eth0]\nmtu = 1500\n", "its MTU is at most 1450"),
        ("[stitch]\nkind = \"proxy\"\n[nodes.s]\nhost = \"west\"\n[nodes.s.interfaces.br0]\nkind = \"bridge\"\nports = [\"p9\"]\n[[links]]\nendpoints = [\"a:eth9\", \"s:p9\"]\n",
         "s:p9 is a port of bridge br0, and a proxy stitch carries IP, not Ethernet"),
        ("[nodes.y]\nhost = \"east\"\n[[links]]\nendpoints = [\"a:eth7\", \"y:eth7\"]\nvni = 7\n", "vni is for a link between two hosts"),
    ])
    func validation(extra: String, message: String) throws {
        var text = """
            name = "v"
            [hosts.east]
            address = "198.51.100.1"
            [hosts.west]
            address = "198.51.100.2"
            [nodes.a]
            host = "east"
            [nodes.b]
            host = "west"
            [[links]]
            endpoints = ["a:eth0", "b:eth0"]
            vni = 5001

            """
        // A second table for a node already declared above merges into it in TOML only by
        // dotted keys, so the extra text is written as such.
        text += extra
        let problems = TopologyValidationTests.problems(text)
        #expect(problems.contains { $0.message.contains(message) }, "\(problems.map(\.description))")
    }
}
