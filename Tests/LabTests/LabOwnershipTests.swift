import Foundation
import Lab
import Netlink
import Synchronization
import Testing
import TestSupport

/// netlab touches only what it made: namespaces by their mark and identity, processes by the
/// namespace they run in, and one `up`/`down` of a lab at a time.
@Suite("Lab ownership", .serialized)
struct LabOwnershipTests {
    // The command tests' prefix, which the leftover sweep knows.
    static let tag = "\(LabCommandTests.tag)-own"

    /// The command tests' veth-pair lab, named for this suite.
    static func file(_ suffix: String, extra: String = "") throws -> (path: String, name: String) {
        try LabCommandTests.pairFile("own-\(suffix)", extra: extra)
    }

    static func labNamespaces(_ name: String) -> [String] { NetworkNamespace.all().filter { $0.hasPrefix(name + ".") }.sorted() }

    @Test("down of a lab that was never up leaves a namespace named like it alone")
    func foreignSurvivesDown() throws {
        let name = "\(Self.tag)-foreign"
        let foreign = try NetworkNamespace.create("\(name).x")
        defer { try? foreign.delete() }
        let down = try LabCommandTests.run(["down", name])
        #expect(down.status == 0)
        #expect(down.stderr.contains("left alone: namespace \(name).x"), "\(down.stderr)")
        #expect(foreign.exists, "down removed a namespace netlab did not make")
    }

    @Test("up refuses a namespace that has a node's name but no mark, names it, and creates nothing")
    func unmarkedRefused() throws {
        let (path, name) = try Self.file("taken")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let squatter = try NetworkNamespace.create("\(name).a")
        defer { try? squatter.delete() }
        // Something of its owner's inside, which up must not replace.
        try ProcessRunner.must(["ip", "-n", squatter.name, "link", "add", "keepme", "type", "veth", "peer", "name", "keepme2"])
        let up = try LabCommandTests.run(["up", path])
        #expect(up.status == 1)
        #expect(up.stderr.contains("\(name).a") && up.stderr.contains("ip netns del \(name).a"), "\(up.stderr)")
        #expect(Self.labNamespaces(name) == ["\(name).a"], "up created something: \(Self.labNamespaces(name))")
        #expect(try ProcessRunner.run(["ip", "-n", squatter.name, "link", "show", "keepme"]).status == 0)
        // And down, asked for the lab, leaves it too.
        _ = try LabCommandTests.run(["down", name])
        #expect(squatter.exists)
    }

    @Test("a PID in the state file that now belongs to an unrelated process survives down")
    func reusedPIDSurvives() throws {
        let (path, name) = try Self.file("pid")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bystander = Process()
        bystander.executableURL = URL(fileURLWithPath: "/bin/sleep")
        bystander.arguments = ["30"]
        try bystander.run()
        defer { if bystander.isRunning { bystander.terminate() } }
        #expect(try LabCommandTests.run(["up", path]).status == 0)
        // As if a process of the lab had died and its PID gone to the bystander.
        var state = try #require(LabState.load(name))
        state.processes.append(bystander.processIdentifier)
        try state.save()
        let down = try LabCommandTests.run(["down", name])
        #expect(down.status == 0)
        #expect(Self.labNamespaces(name).isEmpty)
        #expect(bystander.isRunning, "down killed a process by a PID from its state file")
    }

    @Test("the state file lost: down still finds the lab by its marks, and only the marked namespaces")
    func stateLost() throws {
        let (path, name) = try Self.file("lost")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try LabCommandTests.run(["up", path]).status == 0)
        let other = try NetworkNamespace.create("\(name).other")
        defer { try? other.delete() }
        LabState.remove(name)
        let down = try LabCommandTests.run(["down", name])
        #expect(down.status == 0 && down.stdout.contains("2 namespaces"), "\(down.stdout) \(down.stderr)")
        #expect(Self.labNamespaces(name) == ["\(name).other"])
    }

    @Test("two ups of one file at once: both succeed, one builds and one finds it up; down after both leaves nothing")
    func concurrentUps() throws {
        let (path, name) = try Self.file("twice", extra: "[nodes.a]\nexec = [\"sleep 1.5\"]\n")
        defer {
            _ = try? LabTeardown.down(name)
            try? FileManager.default.removeItem(atPath: path)
        }
        let collected = Mutex<[LabCommandTests.Result?]>([nil, nil])
        let group = DispatchGroup()
        for i in 0..<2 {
            group.enter()
            Thread {
                let result = try? LabCommandTests.run(["up", path])
                collected.withLock { $0[i] = result }
                group.leave()
            }.start()
        }
        group.wait()
        let results = collected.withLock { $0 }
        let outputs = results.map { ($0?.stdout ?? "") + ($0?.stderr ?? "") }
        #expect(results.allSatisfy { $0?.status == 0 }, "\(outputs)")
        #expect(outputs.filter { $0.contains("is up:") }.count == 1, "\(outputs)")
        #expect(outputs.filter { $0.contains("already up") }.count == 1, "\(outputs)")
        #expect(outputs.contains { $0.contains("waiting for PID") }, "the second did not say whom it waited for: \(outputs)")
        #expect(try LabCommandTests.run(["down", name]).status == 0)
        #expect(Self.labNamespaces(name).isEmpty)
    }

    @Test("an exec command that does not end is stopped at exec_timeout; up names it, shows its output, and removes the lab")
    func hangingExec() throws {
        let (path, name) = try Self.file("hang", extra: "[nodes.b]\nexec_timeout = \"1s\"\nexec = [\"echo started; sleep 1000\"]\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let up = try LabCommandTests.run(["up", path])
        #expect(up.status == 1)
        #expect(up.stderr.contains("node b: `echo started; sleep 1000` did not end within 1 s"), "\(up.stderr)")
        #expect(up.stderr.contains("started"), "\(up.stderr)")
        #expect(Self.labNamespaces(name).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: LabState.logDirectory(lab: name)), "the lab's logs stayed")
        let orphans = try LabCommandTests.run(["status", name])
        #expect(orphans.status == 1)
    }

    @Test("processes netlab starts in a node are in its cgroup; one that left the node's namespace is still ended by down",
          .enabled(if: NodeCgroup.hierarchy != nil))
    func cgroups() throws {
        // The exec command leaves a sleep behind in a network namespace of its own.
        let (path, name) = try Self.file("cg", extra: "[nodes.a]\nexec = [\"unshare -n sleep 300 >/dev/null 2>&1 &\"]\n")
        defer {
            _ = try? LabTeardown.down(name)
            try? FileManager.default.removeItem(atPath: path)
        }
        #expect(try LabCommandTests.run(["up", path]).status == 0)
        let cgroup = try #require(NodeCgroup(lab: name, node: "a"))
        var escaped: [Int32] = []
        for _ in 0..<50 where escaped.isEmpty {
            escaped = cgroup.processes
            usleep(20_000)
        }
        #expect(escaped.count == 1, "the sleep is not in node a's cgroup: \(escaped)")
        let nodeNamespace = NetworkNamespace(Topology.namespaceName(lab: name, node: "a"))
        for pid in escaped { #expect(!nodeNamespace.processes().contains(pid), "the sleep did not leave the namespace") }
        let inside = try LabCommandTests.run(["exec", name, "b", "--", "cat", "/proc/self/cgroup"])
        #expect(inside.stdout.contains("/netlab/\(name)/b"), "netlab exec ran outside node b's cgroup: \(inside.stdout)")
        #expect(try LabCommandTests.run(["down", name]).status == 0)
        // Gone, or a zombie its new parent (init, which adopted it) has yet to reap.
        for pid in escaped {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            let state = stat.split(separator: ")").last?.split(separator: " ").first ?? ""
            #expect(stat.isEmpty || state == "Z", "down left the escaped sleep \(pid) running: \(stat)")
        }
        #expect(!FileManager.default.fileExists(atPath: cgroup.path), "down left the cgroup")
        #expect(!FileManager.default.fileExists(atPath: NodeCgroup.labDirectory(name, root: cgroup.root)))
    }

    @Test("names that are no lab's never become paths: down, the lock, node cgroups and the CLI refuse them")
    func hostileNames() throws {
        for name in ["..", ".", "a/../..", "", "-x", "UPPER", String(repeating: "a", count: 33)] {
            #expect(!TopologyParser.isValidLabName(name), "\(name)")
            #expect(throws: LabLock.Failure.self, "\(name)") { _ = try LabTeardown.down(name) }
            #expect(NodeCgroup(lab: name, node: "a") == nil, "\(name)")
        }
        #expect(NodeCgroup(lab: "lab", node: "..") == nil)
        // `status` only reads, so the CLI's own check is tried there.
        let status = try LabCommandTests.run(["status", ".."])
        #expect(status.status == 1 && status.stderr.contains("'..' is not a lab name"), "\(status.stderr)")
    }

    @Test("a bridge with more than 1023 ports is refused at validation, naming the limit")
    func bridgePortLimit() throws {
        let name = "\(Self.tag)-br"
        let path = NSTemporaryDirectory() + "\(name).toml"
        // The ports need not exist for the limit to be checked (they are reported too).
        let text = "name = \"\(name)\"\n[nodes.s.interfaces.br0]\nkind = \"bridge\"\nports = [\((0..<1024).map { "\"d\($0)\"" }.joined(separator: ", "))]\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let up = try LabCommandTests.run(["up", path, "--check"])
        #expect(up.status == 1)
        #expect(up.stderr.contains("nodes.s.interfaces.br0.ports: a bridge takes at most 1023 ports"), "\(up.stderr)")
    }
}

