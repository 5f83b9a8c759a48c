import CNetlink
import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// A NETLINK_ROUTE socket bound to the network namespace of the thread that opened it, with
/// the link, address, route and qdisc operations netlab needs: one file each
/// (`RouteSocket+Links`, `+Addresses`, `+Routes`, `+Qdiscs`), answering with typed values.
///
/// Open it inside `NetworkNamespace.run`; it stays bound to that namespace afterwards. Not
/// thread-safe: one socket per thread.
public final class RouteSocket {
    let socket: OpaquePointer

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

    // MARK: Helpers

    func kernelLink(_ name: String) throws(NetlinkError) -> OpaquePointer {
        var link: OpaquePointer?
        let rc = rtnl_link_get_kernel(socket, 0, name, &link)
        guard rc == 0, let link else { throw .libnl("find link \(name)", rc) }
        return link
    }

    static func address(_ text: String, _ operation: String, family: Int32 = AF_UNSPEC) throws(NetlinkError) -> OpaquePointer {
        var address: OpaquePointer?
        let rc = nl_addr_parse(text, family, &address)
        guard rc == 0, let address else { throw .libnl("\(operation): parse \(text)", rc) }
        return address
    }

    static func text(_ address: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 128)
        guard let result = nl_addr2str(address, &buffer, buffer.count) else { return nil }
        return String(cString: result)
    }
}
