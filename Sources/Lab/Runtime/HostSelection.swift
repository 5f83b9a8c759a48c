import Netlink
import Packet

/// Which host of a multi-host lab this machine is, and whether netlab may build here at all.
public enum HostSelection {
    /// What went wrong choosing a host, in a person's words.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The share of `topology` to build here: `host` when given, otherwise the host whose
    /// `address` is an address of the network namespace netlab runs in. A lab without hosts is
    /// built whole.
    public static func share(of topology: Topology, host: String?) throws(Failure) -> Topology {
        guard !topology.hosts.isEmpty else {
            if let host { throw Failure(description: "\(topology.file) has no [hosts], so there is no host \(host): run it without --host") }
            return topology
        }
        if let host {
            guard topology.host(named: host) != nil else {
                throw Failure(description: "\(topology.file) has no host \(host) (its hosts: \(topology.hosts.map(\.name).joined(separator: ", ")))")
            }
            return topology.share(for: host)
        }
        let local = localAddresses()
        let candidates = topology.hosts.filter { local.contains($0.address) }
        switch candidates.count {
        case 1:
            return topology.share(for: candidates[0].name)
        case 0:
            let hosts = topology.hosts.map { "\($0.name) (\($0.address))" }.joined(separator: ", ")
            throw Failure(description: "no host of \(topology.file) has an address here (hosts: \(hosts); here: "
                          + (local.isEmpty ? "none" : local.map(\.description).joined(separator: ", ")) + "); choose one with --host NAME")
        default:
            throw Failure(description: "several hosts of \(topology.file) have an address here (\(candidates.map(\.name).joined(separator: ", "))); choose one with --host NAME")
        }
    }

    /// The addresses of the network namespace netlab runs in.
    public static func localAddresses() -> [IPAddress] {
        ((try? RouteSocket().addresses()) ?? []).map(\.prefix.address)
    }

    /// Why netlab must not build labs from here, if so: a private mount namespace that receives
    /// the machine's mounts but sends none back (what `ip netns exec` makes) would hide every
    /// namespace and mount netlab makes from everyone else, and they would outlive it unseen.
    public static func mountNamespaceProblem() -> String? {
        let text = readSmallFile("/proc/self/mountinfo") ?? ""
        for line in text.split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1)
            let fields = halves.first?.split(separator: " ") ?? []
            guard fields.count > 4, fields[4] == "/run/netns" else { continue }
            let optional = fields.dropFirst(6)
            if optional.contains(where: { $0.hasPrefix("master:") }) && !optional.contains(where: { $0.hasPrefix("shared:") }) {
                return "netlab runs in a private mount namespace (as `ip netns exec` makes): the namespaces it would create "
                    + "would be invisible outside it. Enter only the network namespace instead: nsenter --net=/run/netns/HOST netlab ..."
            }
        }
        return nil
    }
}
