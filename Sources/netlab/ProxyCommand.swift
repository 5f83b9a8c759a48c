import ArgumentParser
import Dispatch
import Foundation
import Proxy

/// Set by SIGINT/SIGTERM: the proxy stops, removes its device and exits 0.
nonisolated(unsafe) private var proxyStopRequested: sig_atomic_t = 0

/// `netlab proxy --config FILE`
struct ProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run the VXLAN proxy in the foreground: a TUN device forwarded to peers over VXLAN.",
        discussion: """
            The configuration keys are in docs/proxy.md. SIGTERM or SIGINT stops it and removes
            its TUN device. Run it inside the namespace it serves (netlab exec LAB NODE -- ...).

            Example:
              netlab proxy --config proxy.toml
              netlab proxy --config proxy.toml --check
            """)

    @Option(name: .long, help: "The proxy configuration (TOML).")
    var config: String

    @Flag(name: .long, help: "Only validate the configuration.")
    var check = false

    func run() throws {
        let configuration: ProxyConfiguration
        do {
            configuration = try ProxyConfigurationParser.load(path: config)
        } catch {
            for problem in error.errors { StandardOutput.error(problem.description) }
            throw ExitCode(1)
        }
        if check {
            print("\(config): ok (\(configuration.peers.count) peer\(configuration.peers.count == 1 ? "" : "s"))")
            return
        }
        let daemon: ProxyDaemon
        do {
            daemon = try ProxyDaemon(configuration: configuration)
        } catch {
            StandardOutput.error("proxy: \(error)")
            throw ExitCode(1)
        }
        Signals.unblockStopSignals()
        signal(SIGINT) { _ in proxyStopRequested = 1 }
        signal(SIGTERM) { _ in proxyStopRequested = 1 }
        FileHandle.standardError.write(Data("netlab proxy: \(configuration.tun.name) up, listening on \(configuration.listen)\n".utf8))
        daemon.run { proxyStopRequested != 0 }
        let c = daemon.counters
        let drops = c.drops.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }
        FileHandle.standardError.write(Data("netlab proxy: stopped; tun in \(c.fromTun) out \(c.toTun), underlay in \(c.fromUnderlay) out \(c.toUnderlay), drops \(drops.isEmpty ? "none" : drops.joined(separator: " "))\n".utf8))
    }
}
