import ArgumentParser
import Lab

/// `netlab plan FILE`
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show how a lab over several hosts is split: each host's nodes and the stitched links.",
        discussion: """
            Every host derives this same plan from the same file; `netlab up FILE --host NAME` \
            builds one host's share. Run it on each host to compare the digests.

            Example:
              netlab plan topologies/campus.toml
            """)

    @Argument(help: "The topology file.")
    var file: String

    func run() throws {
        let topology = try loadTopology(file, kernel: nil)
        print("lab \(topology.lab) (\(file), digest \(TopologyDigest.of(file: file) ?? "?"))")
        guard !topology.hosts.isEmpty else {
            print("one host: every node (\(topology.nodes.count)) runs where `netlab up` runs")
            return
        }
        print("stitch \(topology.stitch.kind.rawValue), UDP port \(topology.stitch.port), underlay MTU \(topology.stitch.underlayMTU)")
        for host in topology.hosts {
            let nodes = topology.nodes.filter { $0.host == host.name }.map(\.name)
            print("host \(host.name) (\(host.address)): \(plural(nodes.count, "node")): \(nodes.joined(separator: ", "))")
        }
        print("\(plural(topology.stitches.count, "stitched link")):")
        for (index, stitch) in topology.stitches.enumerated() {
            // Proxy stitches take a port each (one proxy per link end); the kernel's share one.
            let port = topology.stitch.kind == .proxy ? Int(topology.stitch.port) + index : Int(topology.stitch.port)
            print("  \(stitch.link.a) on \(stitch.hosts.a.name) (\(stitch.hosts.a.address)) <-> \(stitch.link.b) on \(stitch.hosts.b.name) (\(stitch.hosts.b.address))"
                  + "  vni \(stitch.vni)  port \(port)  mtu \(stitch.mtu)")
        }
    }
}
