/// What the running kernel can build, probed once in a scratch namespace.
///
/// Some kernels (minimal VM kernels among them) are built without dummy links, 802.1Q VLANs,
/// bridge VLAN filtering or netem. netlab asks before it builds, so that a lab needing a
/// missing feature fails validation with the feature's name instead of halfway through.
public struct KernelSupport: Sendable, Equatable {
    public var dummy: Bool
    /// 802.1Q/802.1ad sub-interfaces (CONFIG_VLAN_8021Q).
    public var vlan: Bool
    /// Bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING).
    public var bridgeVLANFiltering: Bool
    /// The netem qdisc: delay, jitter, loss (CONFIG_NET_SCH_NETEM).
    public var netem: Bool
    /// The tbf qdisc: rate (CONFIG_NET_SCH_TBF).
    public var tbf: Bool

    public init(dummy: Bool, vlan: Bool, bridgeVLANFiltering: Bool, netem: Bool, tbf: Bool) {
        self.dummy = dummy
        self.vlan = vlan
        self.bridgeVLANFiltering = bridgeVLANFiltering
        self.netem = netem
        self.tbf = tbf
    }

    /// The probed support of this kernel (computed on first use).
    public static let current: KernelSupport = probe()

    private static func probe() -> KernelSupport {
        var support = KernelSupport(dummy: false, vlan: false, bridgeVLANFiltering: false, netem: false, tbf: false)
        let name = "netlab-probe-\(getpidValue())"
        guard let ns = try? NetworkNamespace.create(name) else { return support }
        defer { try? ns.delete() }
        support = (try? ns.run { () -> KernelSupport in
            let socket = try RouteSocket()
            try socket.add(LinkRequest(name: "p0", kind: .veth(peer: "p1", peerNamespace: nil)))
            try socket.change("p0", up: true)
            var found = KernelSupport(dummy: false, vlan: false, bridgeVLANFiltering: false, netem: false, tbf: false)
            found.dummy = (try? socket.add(LinkRequest(name: "d0", kind: .dummy))) != nil
            found.vlan = (try? socket.add(LinkRequest(name: "p0.1", kind: .vlan(parent: "p0", id: 1, qinq: false)))) != nil
            found.bridgeVLANFiltering = (try? socket.add(LinkRequest(name: "b0", kind: .bridge(vlanFiltering: true)))) != nil
            found.netem = (try? socket.setImpairment(Impairment(delay: 1000), on: "p0")) != nil
            found.tbf = (try? socket.setImpairment(Impairment(rate: 1_000_000), on: "p0")) != nil
            return found
        }) ?? support
        return support
    }

    /// What is missing, as kernel config names, for messages.
    public var missing: [String] {
        var names: [String] = []
        if !dummy { names.append("CONFIG_DUMMY") }
        if !vlan { names.append("CONFIG_VLAN_8021Q") }
        if !bridgeVLANFiltering { names.append("CONFIG_BRIDGE_VLAN_FILTERING") }
        if !netem { names.append("CONFIG_NET_SCH_NETEM") }
        if !tbf { names.append("CONFIG_NET_SCH_TBF") }
        return names
    }
}

#if canImport(Glibc)
import Glibc
#endif

private func getpidValue() -> Int32 { getpid() }
