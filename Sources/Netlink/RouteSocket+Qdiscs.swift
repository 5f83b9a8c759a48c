import CNetlink
import CShim
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// Queueing disciplines: the impairments netem and tbf make, and the list.
extension RouteSocket {
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
}
