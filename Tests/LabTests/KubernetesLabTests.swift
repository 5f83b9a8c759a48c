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
}
