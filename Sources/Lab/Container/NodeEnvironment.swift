import Netlink

/// Everything a process netlab starts in a lab node joins: the node's network namespace, its
/// other namespaces (`NodeNamespaces`: hostname, and mount and PID where isolated), its
/// /etc/netns files, and its cgroup. `netlab exec`, exec commands, services and proxies all
/// start through one of these, so they all see the same node.
public struct NodeEnvironment: Sendable {
    public var network: NetworkNamespace
    /// nil: a bare network namespace (a process started in it sees the machine's hostname and
    /// files).
    public var namespaces: NodeNamespaces?
    /// nil: the process stays in netlab's cgroup.
    public var cgroup: NodeCgroup?

    /// The node `node` of the running lab `lab`; its cgroup is made now if it is not there yet.
    public init(lab: String, node: String) {
        network = NetworkNamespace(Topology.namespaceName(lab: lab, node: node))
        namespaces = NodeNamespaces(lab: lab, node: node)
        cgroup = NodeCgroup(lab: lab, node: node)
        if let cgroup, (try? cgroup.create()) == nil { self.cgroup = nil }
    }

    /// Just a network namespace.
    public init(network: NetworkNamespace) {
        self.network = network
    }

    /// Runs `body` on a fresh thread inside every namespace of the node.
    public func run<T>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let namespaces = self.namespaces
        return try network.run {
            try namespaces?.enter()
            return try body()
        }
    }
}
