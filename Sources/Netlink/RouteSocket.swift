import CNetlink
import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// A NETLINK_ROUTE socket bound to the network namespace of the thread that opened it, with
/// the link, address, route and qdisc operations netlab needs.
///
/// Open it inside `NetworkNamespace.run`; it stays bound to that namespace afterwards. Not
/// thread-safe: one socket per thread.
public final class RouteSocket {
    private let socket: OpaquePointer

    public init() throws(NetlinkError) {
        guard let socket = nl_socket_alloc() else { throw NetlinkError("open netlink socket", reason: "out of memory") }
        let rc = nl_connect(socket, NETLINK_ROUTE)
        guard rc == 0 else {
            nl_socket_free(socket)
            throw .libnl("connect netlink socket", rc)
        }
        self.socket = socket
    }

    deinit {
        nl_socket_free(socket)
    }

    // MARK: Links

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
        let operation = "add \(request.kind.label) \(request.name)"
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
                kind: rtnl_link_get_type(link).map { String(cString: $0) },
                mtu: Int(rtnl_link_get_mtu(link)),
                isUp: flags & UInt32(IFF_UP) != 0,
                hasCarrier: flags & 0x10000 != 0,  // IFF_LOWER_UP
                operationalState: rtnl_link_get_operstate(link),
                masterIndex: master > 0 ? master : nil,
                mac: rtnl_link_get_addr(link).flatMap { Self.text($0) },
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

    // MARK: Addresses and routes

    /// Adds an address with its prefix length to a link.
    public func addAddress(_ prefix: IPPrefix, to name: String) throws(NetlinkError) {
        let operation = "add address \(prefix) to \(name)"
        let index = try index(of: name)
        let local = try Self.address(prefix.description, operation)
        defer { nl_addr_put(local) }
        guard let address = rtnl_addr_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
        defer { rtnl_addr_put(address) }
        rtnl_addr_set_ifindex(address, index)
        rtnl_addr_set_local(address, local)
        if prefix.isIPv6 { rtnl_addr_set_flags(address, UInt32(IFA_F_NODAD)) }
        let rc = rtnl_addr_add(socket, address, 0)
        guard rc == 0 else { throw .libnl(operation, rc) }
    }

    /// Every address of this namespace.
    public func addresses() throws(NetlinkError) -> [AddressInfo] {
        var cache: OpaquePointer?
        let rc = rtnl_addr_alloc_cache(socket, &cache)
        guard rc == 0, let cache else { throw .libnl("list addresses", rc) }
        defer { nl_cache_free(cache) }
        var result: [AddressInfo] = []
        var object = nl_cache_get_first(cache)
        while let address = object {
            if let local = rtnl_addr_get_local(address), var text = Self.text(local) {
                // libnl leaves out a full-length prefix ("10.0.0.1" for /32); always show it.
                if !text.contains("/") { text += "/\(rtnl_addr_get_prefixlen(address))" }
                result.append(AddressInfo(interfaceIndex: Int(rtnl_addr_get_ifindex(address)), prefix: text))
            }
            object = nl_cache_get_next(address)
        }
        return result
    }

    /// Adds a route: to `destination` (nil for default) via `gateway` and/or out of `device`.
    public func addRoute(
        to destination: IPPrefix?, via gateway: IPAddress?, device: String?, ipv6: Bool
    ) throws(NetlinkError) {
        let target = destination.map { $0.network.description } ?? "default"
        let operation = "add route \(target)" + (gateway.map { " via \($0)" } ?? "") + (device.map { " dev \($0)" } ?? "")
        guard let route = rtnl_route_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
        defer { rtnl_route_put(route) }
        let family = ipv6 ? AF_INET6 : AF_INET
        let dst = try Self.address(target, operation, family: family)
        defer { nl_addr_put(dst) }
        rtnl_route_set_family(route, UInt8(family))
        rtnl_route_set_dst(route, dst)
        guard let hop = rtnl_route_nh_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
        if let device { rtnl_route_nh_set_ifindex(hop, try index(of: device)) }
        if let gateway {
            let via = try Self.address(gateway.description, operation, family: family)
            defer { nl_addr_put(via) }
            rtnl_route_nh_set_gateway(hop, via)
        }
        rtnl_route_add_nexthop(route, hop)
        let rc = rtnl_route_add(socket, route, NLM_F_CREATE | NLM_F_EXCL)
        guard rc == 0 else { throw .libnl(operation, rc) }
    }

    /// Deletes the route to `destination` out of `device`.
    public func deleteRoute(to destination: IPPrefix, device: String) throws(NetlinkError) {
        let operation = "delete route \(destination.network) dev \(device)"
        guard let route = rtnl_route_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
        defer { rtnl_route_put(route) }
        let family = destination.isIPv6 ? AF_INET6 : AF_INET
        let dst = try Self.address(destination.network.description, operation, family: family)
        defer { nl_addr_put(dst) }
        rtnl_route_set_family(route, UInt8(family))
        rtnl_route_set_dst(route, dst)
        guard let hop = rtnl_route_nh_alloc() else { throw NetlinkError(operation, reason: "out of memory") }
        rtnl_route_nh_set_ifindex(hop, try index(of: device))
        rtnl_route_add_nexthop(route, hop)
        let rc = rtnl_route_delete(socket, route, 0)
        guard rc == 0 else { throw .libnl(operation, rc) }
    }

    /// The main-table unicast routes of this namespace.
    public func routes() throws(NetlinkError) -> [RouteInfo] {
        var cache: OpaquePointer?
        let rc = rtnl_route_alloc_cache(socket, AF_UNSPEC, 0, &cache)
        guard rc == 0, let cache else { throw .libnl("list routes", rc) }
        defer { nl_cache_free(cache) }
        var result: [RouteInfo] = []
        var object = nl_cache_get_first(cache)
        while let route = object {
            object = nl_cache_get_next(route)
            guard rtnl_route_get_table(route) == UInt32(RT_TABLE_MAIN.rawValue), rtnl_route_get_type(route) == UInt8(RTN_UNICAST)
            else { continue }
            let isV6 = rtnl_route_get_family(route) == UInt8(AF_INET6)
            var destination = "default"
            if let dst = rtnl_route_get_dst(route), nl_addr_get_prefixlen(dst) > 0, let text = Self.text(dst) {
                destination = text
            }
            if isV6, destination.hasPrefix("fe80:") { continue }
            var gateway: String?
            var index: Int?
            if rtnl_route_get_nnexthops(route) > 0, let hop = rtnl_route_nexthop_n(route, 0) {
                gateway = rtnl_route_nh_get_gateway(hop).flatMap { Self.text($0) }
                let i = Int(rtnl_route_nh_get_ifindex(hop))
                index = i > 0 ? i : nil
            }
            result.append(RouteInfo(destination: destination, gateway: gateway, interfaceIndex: index, isIPv6: isV6))
        }
        return result
    }

    // MARK: Queueing disciplines

    /// Replaces the link's root qdisc with netem (delay, jitter, loss) and/or tbf (rate);
    /// an empty impairment removes it.
    public func setImpairment(_ impairment: Impairment, on name: String) throws(NetlinkError) {
        let index = try index(of: name)
        clearRootQdisc(index)
        guard !impairment.isEmpty else { return }
        let needsNetem = impairment.delay != nil || impairment.jitter != nil || impairment.loss != nil
        if needsNetem {
            guard let netem = rtnl_qdisc_alloc() else { throw NetlinkError("impair \(name)", reason: "out of memory") }
            defer { rtnl_qdisc_put(netem) }
            rtnl_tc_set_ifindex(netem, index)
            rtnl_tc_set_parent(netem, 0xFFFF_FFFF)  // TC_H_ROOT
            rtnl_tc_set_handle(netem, 0x0001_0000)  // 1:
            guard rtnl_tc_set_kind(netem, "netem") == 0 else { throw NetlinkError("impair \(name)", reason: "no netem") }
            if let delay = impairment.delay { rtnl_netem_set_delay(netem, Int32(clamping: delay)) }
            if let jitter = impairment.jitter { rtnl_netem_set_jitter(netem, Int32(clamping: jitter)) }
            if let loss = impairment.loss {
                let probability = UInt32(min(max(loss, 0), 100) / 100 * Double(UInt32.max))
                rtnl_netem_set_loss(netem, Int32(bitPattern: probability))
            }
            rtnl_netem_set_limit(netem, 10_000)
            let rc = rtnl_qdisc_add(socket, netem, NLM_F_CREATE | NLM_F_REPLACE)
            guard rc == 0 else { throw .libnl("add netem to \(name)", rc) }
        }
        if let rate = impairment.rate {
            guard let tbf = rtnl_qdisc_alloc() else { throw NetlinkError("impair \(name)", reason: "out of memory") }
            defer { rtnl_qdisc_put(tbf) }
            rtnl_tc_set_ifindex(tbf, index)
            // Under netem as its child (1:1), or alone at the root.
            rtnl_tc_set_parent(tbf, needsNetem ? 0x0001_0001 : 0xFFFF_FFFF)
            rtnl_tc_set_handle(tbf, needsNetem ? 0x000A_0000 : 0x0001_0000)
            guard rtnl_tc_set_kind(tbf, "tbf") == 0 else { throw NetlinkError("impair \(name)", reason: "no tbf") }
            let bytesPerSecond = max(rate / 8, 1)
            // A bucket of at least a few full frames, and about 50 ms of queue.
            let bucket = max(bytesPerSecond / 250, 3_200)
            rtnl_qdisc_tbf_set_rate(tbf, Int32(clamping: bytesPerSecond), Int32(clamping: bucket), 0)
            rtnl_qdisc_tbf_set_limit(tbf, Int32(clamping: bucket + bytesPerSecond / 20))
            let rc = rtnl_qdisc_add(socket, tbf, NLM_F_CREATE | NLM_F_REPLACE)
            guard rc == 0 else { throw .libnl("add tbf to \(name)", rc) }
        }
    }

    /// The qdiscs of this namespace other than the kernel's defaults.
    public func qdiscs() throws(NetlinkError) -> [QdiscInfo] {
        var cache: OpaquePointer?
        let rc = rtnl_qdisc_alloc_cache(socket, &cache)
        guard rc == 0, let cache else { throw .libnl("list qdiscs", rc) }
        defer { nl_cache_free(cache) }
        var result: [QdiscInfo] = []
        var object = nl_cache_get_first(cache)
        while let qdisc = object {
            object = nl_cache_get_next(qdisc)
            let kind = rtnl_tc_get_kind(qdisc).map { String(cString: $0) } ?? "?"
            guard ["netem", "tbf", "htb", "fq_codel", "pfifo", "bfifo"].contains(kind),
                  rtnl_tc_get_handle(qdisc) != 0
            else { continue }
            result.append(QdiscInfo(interfaceIndex: Int(rtnl_tc_get_ifindex(qdisc)), kind: kind,
                                    handle: rtnl_tc_get_handle(qdisc), parent: rtnl_tc_get_parent(qdisc)))
        }
        return result
    }

    private func clearRootQdisc(_ index: Int32) {
        guard let root = rtnl_qdisc_alloc() else { return }
        defer { rtnl_qdisc_put(root) }
        rtnl_tc_set_ifindex(root, index)
        rtnl_tc_set_parent(root, 0xFFFF_FFFF)
        _ = rtnl_qdisc_delete(socket, root)
    }

    // MARK: Helpers

    private func kernelLink(_ name: String) throws(NetlinkError) -> OpaquePointer {
        var link: OpaquePointer?
        let rc = rtnl_link_get_kernel(socket, 0, name, &link)
        guard rc == 0, let link else { throw .libnl("find link \(name)", rc) }
        return link
    }

    private static func address(_ text: String, _ operation: String, family: Int32 = AF_UNSPEC) throws(NetlinkError) -> OpaquePointer {
        var address: OpaquePointer?
        let rc = nl_addr_parse(text, family, &address)
        guard rc == 0, let address else { throw .libnl("\(operation): parse \(text)", rc) }
        return address
    }

    private static func text(_ address: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 128)
        guard let result = nl_addr2str(address, &buffer, buffer.count) else { return nil }
        return String(cString: result)
    }
}

extension LinkRequest.Kind {
    var label: String {
        switch self {
        case .veth: "veth"
        case .bridge: "bridge"
        case .macvlan: "macvlan"
        case .vlan: "vlan"
        case .vxlan: "vxlan"
        case .dummy: "dummy"
        }
    }
}
