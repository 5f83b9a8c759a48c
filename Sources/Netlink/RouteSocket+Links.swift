import CNetlink
import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// Links: find, create, change, delete, list.
extension RouteSocket {
    /// IFF_LOWER_UP (linux/if.h), which the C library's net/if.h leaves out.
    static let lowerUp: UInt32 = 1 << 16

    /// The index of the link called `name`.
    public func index(of name: String) throws(NetlinkError) -> Int32 {
        let link = try kernelLink(name)
        defer { rtnl_link_put(link) }
        return rtnl_link_get_ifindex(link)
    }

    /// True when a link called `name` exists.
    public func exists(_ name: String) -> Bool {
        var link: OpaquePointer?
        guard rtnl_link_get_kernel(socket, 0, name, &link) == 0, let link else { return false }
        rtnl_link_put(link)
        return true
    }

    /// Creates a link.
    public func add(_ request: LinkRequest) throws(NetlinkError) {
        let operation = "add \(request.kind.linkKind) \(request.name)"
        var peerFD: Int32 = -1
        defer { if peerFD >= 0 { close(peerFD) } }
        let link: OpaquePointer
        switch request.kind {
        case let .veth(peer, peerNamespace):
            guard let veth = rtnl_link_veth_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
            link = veth
            guard let peerLink = rtnl_link_veth_get_peer(veth) else { throw NetlinkError(operation, reason: "no peer") }
            rtnl_link_set_name(peerLink, peer)
            if let peerNamespace {
                peerFD = try peerNamespace.openDescriptor()
                rtnl_link_set_ns_fd(peerLink, peerFD)
            }
            rtnl_link_put(peerLink)
        case .bridge:
            guard let bridge = rtnl_link_bridge_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
            link = bridge
        case let .macvlan(parent, mode):
            let parentIndex = try index(of: parent)
            guard let macvlan = rtnl_link_macvlan_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
            link = macvlan
            rtnl_link_set_link(macvlan, parentIndex)
            rtnl_link_macvlan_set_mode(macvlan, UInt32(rtnl_link_macvlan_str2mode(mode.rawValue)))
        case let .vlan(parent, id, qinq):
            let parentIndex = try index(of: parent)
            guard let vlan = rtnl_link_vlan_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
            link = vlan
            rtnl_link_set_link(vlan, parentIndex)
            rtnl_link_vlan_set_id(vlan, id)
            if qinq { rtnl_link_vlan_set_protocol(vlan, UInt16(0x88A8).bigEndian) }
        case let .vxlan(config):
            guard let vxlan = rtnl_link_vxlan_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
            link = vxlan
            rtnl_link_vxlan_set_id(vxlan, config.vni)
            rtnl_link_vxlan_set_port(vxlan, UInt32(config.port))
            rtnl_link_vxlan_set_learning(vxlan, config.learning ? 1 : 0)
            if let remote = config.remote {
                let address = try Self.address(remote.description, operation)
                defer { nl_addr_put(address) }
                rtnl_link_vxlan_set_group(vxlan, address)
            }
            if let local = config.local {
                let address = try Self.address(local.description, operation)
                defer { nl_addr_put(address) }
                rtnl_link_vxlan_set_local(vxlan, address)
            }
            if let device = config.device {
                rtnl_link_vxlan_set_link(vxlan, UInt32(try index(of: device)))
            }
        case .dummy:
            guard let dummy = rtnl_link_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
            link = dummy
            rtnl_link_set_type(dummy, "dummy")
        }
        defer { rtnl_link_put(link) }
        rtnl_link_set_name(link, request.name)
        var targetFD: Int32 = -1
        defer { if targetFD >= 0 { close(targetFD) } }
        if let target = request.namespace {
            targetFD = try target.openDescriptor()
            rtnl_link_set_ns_fd(link, targetFD)
        }
        if let mtu = request.mtu { rtnl_link_set_mtu(link, UInt32(mtu)) }
        if let mac = request.mac {
            let address = try Self.address(mac.description, operation, family: AF_LLC)
            defer { nl_addr_put(address) }
            rtnl_link_set_addr(link, address)
        }
        let rc = rtnl_link_add(socket, link, NLM_F_CREATE | NLM_F_EXCL)
        guard rc == 0 else { throw .libnl(operation, rc) }
        if case .bridge(vlanFiltering: true) = request.kind, request.namespace == nil {
            let index = try index(of: request.name)
            let rc = cshim_bridge_set_vlan_filtering(socket, index, 1)
            guard rc == 0 else { throw .libnl("enable vlan_filtering on \(request.name)", rc) }
        }
    }

    /// Changes a link: up or down, MTU, MAC, master (bridge), transmit queue length, alias
    /// (`ip link set NAME alias TEXT`), or moves it to another namespace.
    public func change(
        _ name: String, up: Bool? = nil, mtu: Int? = nil, mac: MACAddress? = nil, master: String? = nil,
        transmitQueueLength: Int? = nil, alias: String? = nil, namespace: NetworkNamespace? = nil
    ) throws(NetlinkError) {
        let operation = "change \(name)"
        let original = try kernelLink(name)
        defer { rtnl_link_put(original) }
        guard let change = rtnl_link_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
        defer { rtnl_link_put(change) }
        if let up {
            if up { rtnl_link_set_flags(change, UInt32(IFF_UP)) } else { rtnl_link_unset_flags(change, UInt32(IFF_UP)) }
        }
        if let mtu { rtnl_link_set_mtu(change, UInt32(mtu)) }
        if let mac {
            let address = try Self.address(mac.description, operation, family: AF_LLC)
            defer { nl_addr_put(address) }
            rtnl_link_set_addr(change, address)
        }
        if let master { rtnl_link_set_master(change, try index(of: master)) }
        if let transmitQueueLength { rtnl_link_set_txqlen(change, UInt32(transmitQueueLength)) }
        if let alias { rtnl_link_set_ifalias(change, alias) }
        var fd: Int32 = -1
        defer { if fd >= 0 { close(fd) } }
        if let namespace {
            fd = try namespace.openDescriptor()
            rtnl_link_set_ns_fd(change, fd)
        }
        let rc = rtnl_link_change(socket, original, change, 0)
        guard rc == 0 else { throw .libnl(operation, rc) }
    }

    /// Deletes a link (and, for a veth, its peer).
    public func delete(_ name: String) throws(NetlinkError) {
        let link = try kernelLink(name)
        defer { rtnl_link_put(link) }
        let rc = rtnl_link_delete(socket, link)
        guard rc == 0 else { throw .libnl("delete \(name)", rc) }
    }

    /// Adds `vid` to a bridge port's VLANs (`bridge vlan add dev PORT vid VID [pvid untagged]`).
    public func addBridgeVLAN(_ vid: UInt16, port: String, pvid: Bool = false, untagged: Bool = false) throws(NetlinkError) {
        let rc = cshim_bridge_vlan_add(socket, try index(of: port), vid, pvid ? 1 : 0, untagged ? 1 : 0)
        guard rc == 0 else { throw .libnl("add vlan \(vid) to bridge port \(port)", rc) }
    }

    /// Every link of this namespace.
    public func links() throws(NetlinkError) -> [LinkInfo] {
        var cache: OpaquePointer?
        let rc = rtnl_link_alloc_cache(socket, AF_UNSPEC, &cache)
        guard rc == 0, let cache else { throw .libnl("list links", rc) }
        defer { nl_cache_free(cache) }
        var result: [LinkInfo] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            let link = current
            let flags = rtnl_link_get_flags(link)
            let master = Int(rtnl_link_get_master(link))
            result.append(LinkInfo(
                index: Int(rtnl_link_get_ifindex(link)),
                name: rtnl_link_get_name(link).map { String(cString: $0) } ?? "?",
                kind: rtnl_link_get_type(link).map { LinkKind(String(cString: $0)) },
                mtu: Int(rtnl_link_get_mtu(link)),
                isUp: flags & UInt32(IFF_UP) != 0,
                hasCarrier: flags & Self.lowerUp != 0,
                operationalState: LinkOperationalState(kernel: rtnl_link_get_operstate(link)),
                masterIndex: master > 0 ? master : nil,
                mac: rtnl_link_get_addr(link).flatMap { Self.text($0) }.flatMap { MACAddress($0) },
                alias: rtnl_link_get_ifalias(link).map { String(cString: $0) },
                transmitDropped: rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED),
                receiveDropped: rtnl_link_get_stat(link, RTNL_LINK_RX_DROPPED),
                receivedPackets: rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS),
                transmittedPackets: rtnl_link_get_stat(link, RTNL_LINK_TX_PACKETS),
                receivedBytes: rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES),
                transmittedBytes: rtnl_link_get_stat(link, RTNL_LINK_TX_BYTES)))
            object = nl_cache_get_next(current)
        }
        return result.sorted { $0.index < $1.index }
    }
}
