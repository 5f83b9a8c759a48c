import CNetlink
import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// Addresses: add and list.
extension RouteSocket {
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
                if let prefix = IPPrefix(text) {
                    result.append(AddressInfo(interfaceIndex: Int(rtnl_addr_get_ifindex(address)), prefix: prefix))
                }
            }
            object = nl_cache_get_next(address)
        }
        return result
    }
}
