import ConfigFile
import Proxy

/// A node's proxy as its topology file declares it (`[nodes.NODE.proxy]`): what a lab's proxy
/// runs, and reads again on SIGHUP. Finding it belongs to the lab, which knows the topology's
/// layout; the proxy's parser knows only the proxy's own keys, wherever they sit.
public enum NodeProxyConfiguration {
    /// Reads node `node`'s proxy from the topology at `path`; problems carry the topology's
    /// lines and full keys (`nodes.a.proxy.peers.0.vni`).
    public static func load(topology path: String, node: String) throws(ConfigErrors) -> ProxyConfiguration {
        let text: String
        do {
            text = try FileText.read(path)
        } catch {
            throw ConfigErrors(errors: [ConfigError(file: path, line: 0, key: "", message: error.reason)])
        }
        let root = try ConfigReader.table(text, file: path)
        var reader = ConfigReader(text: text, file: path)
        guard let table = root["nodes"]?.table?[node]?.table?["proxy"]?.table else {
            throw ConfigErrors(errors: [ConfigError(file: path, line: 0, key: "nodes.\(node).proxy",
                                                    message: "node \(node) has no [nodes.\(node).proxy] table")])
        }
        let configuration = ProxyConfigurationParser.parse(table, reader: &reader)
        try reader.check()
        return configuration
    }
}
