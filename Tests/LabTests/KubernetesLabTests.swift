import Foundation
import Lab
import Netlink
import Testing

/// The Kubernetes labs run the real mechanisms: kube-proxy's nftables Service and Calico's BGP.
@Suite("Kubernetes labs", .serialized)
struct KubernetesLabTests {
    static func topology(_ file: String) throws -> Topology {
        try LabLifecycleTests.load(file)
    }

    /// `netlab exec LAB NODE -- sh -c SCRIPT`, through the library.
    static func run(_ topology: Topology, _ node: String, _ script: String) throws -> (status: Int32?, output: String) {
        let log = NSTemporaryDirectory() + "\(topology.name)-\(node)-\(getpid()).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let outcome = try NamespaceProcess.run(["/bin/sh", "-c", script], in: NodeEnvironment(lab: topology.name, node: node),
                                               log: log, timeout: 60)
        return (outcome.status, outcome.output)
    }

    @Test("k8s-service: the Service balances over its endpoints; taking one out of its chain stops traffic to it; down takes the rules")
    func service() throws {
        let topology = try Self.topology("k8s-service")
        defer { _ = try? LabTeardown.down(topology.name) }
        try LabLifecycleTests.builder(topology).up()
        for outcome in LabChecks.run(topology) { #expect(outcome.passed, "\(outcome.line)") }
        // The command the lab's header documents.
        let header = try String(contentsOfFile: topology.file, encoding: .utf8)
        let line = try #require(header.split(separator: "\n").first { $0.contains("nft 'flush chain ip kube-proxy service-web") })
        let command = try #require(line.range(of: "-- ").map { String(line[$0.upperBound...]) })
        #expect(try Self.run(topology, "node1", command).status == 0)
        let after = try Self.run(topology, "client", "for i in $(seq 30); do curl -s --max-time 2 http://10.96.0.10/; done | sort | uniq -c")
        #expect(!after.output.contains("web3") && after.output.contains("web1") && after.output.contains("web2"), "\(after.output)")
        _ = try LabTeardown.down(topology.name)
        #expect(LabLifecycleTests.leftovers(topology.name).isEmpty)
        #expect(NodeCgroup.all(lab: topology.name).isEmpty)
    }

    static func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(200_000)
        }
        return try condition()
    }

    @Test("k8s-calico: BGP carries each node's pod block; stopping BIRD on node3 withdraws its block from node1 within the hold time, starting it restores it")
    func calico() throws {
        let topology = try Self.topology("k8s-calico")
        defer { _ = try? LabTeardown.down(topology.name) }
        try LabLifecycleTests.builder(topology).up()
        for outcome in LabChecks.run(topology) { #expect(outcome.passed, "\(outcome.line)") }
        let route = "ip route show proto bird 10.244.3.0/24"
        #expect(try Self.run(topology, "node1", route).output.contains("via 10.0.0.3"))
        let stop = try LabCommandTests.run(["service", topology.name, "node3", "bird", "stop"])
        #expect(stop.status == 0 && stop.stdout.contains("stopped"), "\(stop.stderr)")
        // The hold time is 9 s; a BIRD that stops says so at once (a Cease notification).
        #expect(try Self.waitFor(12) { try Self.run(topology, "node1", route).output.isEmpty }, "node1 still routes 10.244.3.0/24")
        #expect(try Self.run(topology, "pod1a", "ping -c 1 -W 1 10.244.3.2").status != 0)
        let start = try LabCommandTests.run(["service", topology.name, "node3", "bird", "start"])
        #expect(start.status == 0 && start.stdout.contains("ready"), "\(start.stderr)")
        #expect(try Self.waitFor(30) { try Self.run(topology, "node1", route).output.contains("via 10.0.0.3") }, "the route did not come back")
        #expect(try Self.waitFor(10) { try Self.run(topology, "pod1a", "ping -c 1 -W 1 10.244.3.2").status == 0 })
        let status = try #require(LabStatus.read(topology.name))
        #expect(status.nodes.first { $0.name == "node3" }?.services.first?.state == .ready)
        _ = try LabTeardown.down(topology.name)
        #expect(LabLifecycleTests.leftovers(topology.name).isEmpty)
        #expect(NodeCgroup.all(lab: topology.name).isEmpty)
    }
}
