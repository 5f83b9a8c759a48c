import CNetlink
import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// Routes of the main table: add, delete, list.
extension RouteSocket {
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
            var destination: IPPrefix?
            if let dst = rtnl_route_get_dst(route), nl_addr_get_prefixlen(dst) > 0, let text = Self.text(dst) {
                // libnl leaves out a full-length prefix, as for addresses.
                destination = IPPrefix(text.contains("/") ? text : "\(text)/\(nl_addr_get_prefixlen(dst))")
                guard destination != nil else { continue }
            }
            if destination?.address.isIPv6LinkLocal == true { continue }
            var gateway: IPAddress?
            var index: Int?
            if rtnl_route_get_nnexthops(route) > 0, let hop = rtnl_route_nexthop_n(route, 0) {
                gateway = rtnl_route_nh_get_gateway(hop).flatMap { Self.text($0) }.flatMap { IPAddress($0) }
                let i = Int(rtnl_route_nh_get_ifindex(hop))
                index = i > 0 ? i : nil
            }
            result.append(RouteInfo(destination: destination, gateway: gateway, interfaceIndex: index, isIPv6: isV6))
        }
        return result
    }
}
