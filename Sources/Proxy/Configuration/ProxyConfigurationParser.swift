import ConfigFile
import Packet

/// Reads and validates a proxy configuration; every problem is reported with its line and key.
public enum ProxyConfigurationParser {
    public static func load(path: String) throws(ConfigErrors) -> ProxyConfiguration {
        let text = try readText(path)
        return try parse(text, file: path)
    }

    private static func readText(_ path: String) throws(ConfigErrors) -> String {
        do {
            return try FileText.read(path)
        } catch {
            throw ConfigErrors(errors: [ConfigError(file: path, line: 0, key: "", message: error.reason)])
        }
    }

    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> ProxyConfiguration {
        let root = try ConfigReader.table(text, file: file)
        var r = ConfigReader(text: text, file: file)
        let configuration = parse(root, reader: &r)
        try r.check()
        return configuration
    }

    /// Reads a proxy configuration from `root`, the file's root or a table in a larger file (a
    /// topology's `[nodes.N.proxy]`), recording problems in `r` with their full key path.
    public static func parse(_ root: ConfigTable, reader r: inout ConfigReader) -> ProxyConfiguration {
        let base = root.path
        r.checkKeys(root, allowed: ["tun", "underlay", "peers", "metrics", "capture", "flows"])

        var tun = ProxyConfiguration.Tun(name: "vx0", addresses: [], mtu: nil, queues: 0, offloads: true)
        if let t = r.table(root, "tun") {
            r.checkKeys(t, allowed: ["name", "addresses", "mtu", "queues", "offloads", "namespace", "add_routes"])
            if let name = r.string(t, "name") {
                tun.name = name
                r.checkInterfaceName(name, base + ["tun", "name"])
            }
            for text in r.stringArray(t, "addresses") ?? [] {
                if let prefix = IPPrefix(text), text.contains("/") { tun.addresses.append(prefix) }
                else { r.fail(base + ["tun", "addresses"], "'\(text)' is not a CIDR (like 10.10.0.1/24 or fd00::1/64)") }
            }
            tun.mtu = r.int(t, "mtu", range: 68...65535)
            tun.queues = r.int(t, "queues", range: 1...256) ?? 0
            tun.offloads = r.bool(t, "offloads") ?? true
            tun.addRoutes = r.bool(t, "add_routes") ?? true
            if let namespace = r.string(t, "namespace") {
                if namespace.isEmpty || namespace.contains("/") || namespace == "." || namespace == ".." {
                    r.fail(base + ["tun", "namespace"], "'\(namespace)' is not a network namespace name (as ip netns list shows them)")
                } else {
                    tun.namespace = namespace
                }
            }
        } else {
            r.fail(base, "a [tun] table is required (name, addresses)")
        }

        var listen = SocketEndpoint(address: .v4(IPv4Address(rawValue: 0)), port: 4789)
        var underlayMTU: Int?
        var sourcePorts = 8
        if let u = r.table(root, "underlay") {
            r.checkKeys(u, allowed: ["listen", "mtu", "source_ports"])
            if let text = r.string(u, "listen") {
                if let endpoint = endpoint(text) { listen = endpoint }
                else { r.fail(base + ["underlay", "listen"], "'\(text)' is not ADDRESS:PORT (like 192.0.2.1:4789 or [2001:db8::1]:4789)") }
            } else {
                r.fail(base + ["underlay"], "`listen` is required (the local UDP address and port)")
            }
            underlayMTU = r.int(u, "mtu", range: 1280...65535)
            sourcePorts = r.int(u, "source_ports", range: 1...64) ?? sourcePorts
        } else {
            r.fail(base, "an [underlay] table is required (listen = \"ADDRESS:PORT\")")
        }

        var peers: [ProxyConfiguration.Peer] = []
        var seen: [String: Int] = [:]
        for t in r.tables(root, "peers") {
            let path = t.path
            r.checkKeys(t, allowed: ["endpoint", "vni", "routes"])
            guard let text = r.string(t, "endpoint") else {
                r.fail(path, "a peer needs an `endpoint` (ADDRESS:PORT)")
                continue
            }
            guard let peerEndpoint = endpoint(text) else {
                r.fail(path + ["endpoint"], "'\(text)' is not ADDRESS:PORT (like 192.0.2.2:4789 or [2001:db8::2]:4789)")
                continue
            }
            if peerEndpoint.address.isIPv6 != listen.address.isIPv6 {
                r.fail(path + ["endpoint"], "\(text) is not of the underlay's address family (listen is \(listen))")
            }
            let vni = r.int(t, "vni", range: 0...0xFF_FFFF)
            if t["vni"] == nil { r.fail(path, "a peer needs a `vni` (0-16777215)") }
            var routes: [IPPrefix] = []
            for route in r.stringArray(t, "routes") ?? [] {
                if let prefix = IPPrefix(route), route.contains("/") { routes.append(prefix.network) }
                else { r.fail(path + ["routes"], "'\(route)' is not a prefix (like 10.10.0.0/24)") }
            }
            let key = "\(peerEndpoint) vni \(vni ?? 0)"
            if let previous = seen[key] {
                r.fail(path, "peer \(key) is configured twice (see peer \(previous + 1))")
            }
            seen[key] = peers.count
            peers.append(.init(endpoint: peerEndpoint, vni: UInt32(vni ?? 0), routes: routes))
        }
        if root["peers"] == nil { r.fail(base, "at least one [[peers]] entry is required") }
        var owner: [IPPrefix: Int] = [:]
        for (index, peer) in peers.enumerated() {
            for route in peer.routes {
                if let other = owner[route], other != index {
                    r.fail(base + ["peers", "\(index)", "routes"], "route \(route) is already routed to peer \(other + 1)")
                }
                owner[route] = index
            }
        }

        var metrics: SocketEndpoint?
        if let m = r.table(root, "metrics") {
            r.checkKeys(m, allowed: ["listen"])
            if let text = r.string(m, "listen") {
                metrics = endpoint(text)
                if metrics == nil { r.fail(base + ["metrics", "listen"], "'\(text)' is not ADDRESS:PORT (like 127.0.0.1:9108)") }
            }
        }
        var inner: String?
        var outer: String?
        if let c = r.table(root, "capture") {
            r.checkKeys(c, allowed: ["inner", "outer"])
            inner = r.string(c, "inner")
            outer = r.string(c, "outer")
        }
        var idle = 60.0
        if let f = r.table(root, "flows") {
            r.checkKeys(f, allowed: ["idle_timeout"])
            if let text = r.string(f, "idle_timeout") {
                if let micros = Units.microseconds(text), micros > 0 { idle = Double(micros) / 1_000_000 }
                else { r.fail(base + ["flows", "idle_timeout"], "'\(text)' is not a duration (like 60s)") }
            }
        }
        return ProxyConfiguration(
            file: r.file, tun: tun, listen: listen, underlayMTU: underlayMTU, sourcePorts: sourcePorts, peers: peers, metricsListen: metrics,
            captureInner: inner, captureOuter: outer, flowIdleTimeout: idle)
    }

    private static func endpoint(_ text: String) -> SocketEndpoint? { SocketEndpoint(text) }
}
