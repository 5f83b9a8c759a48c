import ArgumentParser
import ConfigFile
import Foundation
import Lab
import Logging
import Netlink
import Proxy

/// Set by the signal handlers; the run loop (and the supervisor) act on them.
nonisolated(unsafe) private var proxyStopRequested: sig_atomic_t = 0
nonisolated(unsafe) private var proxyReloadRequested: sig_atomic_t = 0

/// `netlab proxy`: run the VXLAN proxy, or ask a running one for its status and flows.
struct ProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "The VXLAN proxy: a TUN device forwarded to peers over VXLAN.",
        discussion: """
            The configuration keys are in docs/proxy.md.

            Examples:
              netlab proxy --config proxy.toml                 # run in the foreground
              netlab proxy --config proxy.toml --check         # only validate
              netlab proxy status                              # the proxy of vx0 in this namespace
              netlab proxy status --lab two-sites --node a     # a lab node's proxy
              netlab proxy flows --top 10
            """,
        subcommands: [ProxyRunCommand.self, ProxyStatusCommand.self, ProxyFlowsCommand.self],
        defaultSubcommand: ProxyRunCommand.self)
}

/// `netlab proxy run`
struct ProxyRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the proxy in the foreground (the default).",
        discussion: """
            Logs go to standard error. SIGTERM or SIGINT stops it (device removed, captures \
            flushed, exit 0); SIGHUP re-reads the configuration and applies peer and route \
            changes without dropping flows (a bad file keeps the running configuration). \
            Run it inside the namespace it serves (netlab exec LAB NODE -- netlab proxy ...).
            """)

    @Option(name: .long, help: "The proxy configuration (TOML).")
    var config: String?

    @Option(name: .long, help: "Read the proxy of --node from this topology file ([nodes.NODE.proxy]).")
    var topology: String?

    @Option(name: .long, help: "The topology node whose proxy to run.")
    var node: String?

    @Flag(name: .long, help: "Only validate the configuration.")
    var check = false

    @Option(name: .long, help: "Write inner packets (RAW link type) to this pcap file.")
    var pcapInner: String?

    @Option(name: .long, help: "Write outer VXLAN datagrams (Ethernet link type) to this pcap file.")
    var pcapOuter: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(name: .long, help: "Run the proxy as a child and restart it when it fails (how netlab up runs it).")
    var supervise = false

    func validate() throws {
        if (config == nil) == (topology == nil) { throw ValidationError("give --config FILE, or --topology FILE --node NODE") }
        if topology != nil && node == nil { throw ValidationError("--topology needs --node") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("unknown log level \(logLevel)") }
    }

    private func load() throws(ConfigErrors) -> ProxyConfiguration {
        var configuration: ProxyConfiguration
        if let topology, let node {
            configuration = try NodeProxyConfiguration.load(topology: topology, node: node)
        } else {
            configuration = try ProxyConfigurationParser.load(path: config ?? "")
        }
        if let pcapInner { configuration.captureInner = pcapInner }
        if let pcapOuter { configuration.captureOuter = pcapOuter }
        return configuration
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "netlab.proxy")
        let configuration: ProxyConfiguration
        do {
            configuration = try load()
        } catch {
            for problem in error.errors { StandardOutput.error(problem.description) }
            throw ExitCode(1)
        }
        if check {
            let source = config ?? "\(topology ?? "") node \(node ?? "")"
            print("\(source): ok (\(configuration.peers.count) peer\(configuration.peers.count == 1 ? "" : "s"))")
            return
        }
        Signals.unblockStopSignals()
        signal(SIGINT) { _ in proxyStopRequested = 1 }
        signal(SIGTERM) { _ in proxyStopRequested = 1 }
        signal(SIGHUP) { _ in proxyReloadRequested = 1 }
        if supervise { throw ExitCode(Supervisor.run(arguments: CommandLine.arguments.filter { $0 != "--supervise" }, logger: logger)) }

        let daemon: ProxyDaemon
        do {
            daemon = try ProxyDaemon(configuration: configuration, logger: logger)
            try daemon.start()
        } catch {
            logger.error("cannot start: \(error)")
            throw ExitCode(1)
        }
        while proxyStopRequested == 0 {
            usleep(100_000)
            guard proxyReloadRequested != 0 else { continue }
            proxyReloadRequested = 0
            do {
                try daemon.reload(try load())
            } catch let error as ConfigErrors {
                for problem in error.errors { logger.error("reload refused, running configuration kept: \(problem.description)") }
                daemon.noteReloadFailure(error.errors.map(\.description).joined(separator: "; "))
            } catch {
                logger.error("reload refused, running configuration kept: \(error)")
            }
        }
        let c = daemon.counters()
        daemon.stop()
        let drops = DropReason.allCases.filter { c.drops($0) > 0 }.map { "\($0.rawValue)=\(c.drops($0))" }
        logger.info("exit", metadata: [
            "tun_in": "\(c.tunPacketsIn)", "tun_out": "\(c.tunPacketsOut)", "underlay_in": "\(c.underlayDatagramsIn)",
            "underlay_out": "\(c.underlayDatagramsOut)", "drops": "\(drops.isEmpty ? "none" : drops.joined(separator: " "))",
        ])
    }
}

/// Runs the proxy as a child process and restarts it when it dies, the way `netlab up` keeps
/// a node's proxy alive: SIGTERM/SIGINT and SIGHUP are passed on; five failures within a
/// minute give up.
enum Supervisor {
    static func run(arguments: [String], logger: Logger) -> Int32 {
        var failures: [Date] = []
        let executable = LabBuilder.runningExecutable()
        while true {
            var pid: pid_t = 0
            let argv = ([executable] + arguments.dropFirst()).map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            let rc = posix_spawn(&pid, executable, nil, nil, argv, environ)
            guard rc == 0 else {
                logger.critical("cannot start the proxy: \(String(cString: strerror(rc)))")
                return 1
            }
            logger.info("supervising", metadata: ["pid": "\(pid)"])
            var status: Int32 = 0
            var forwardedStop = false
            while waitpid(pid, &status, WNOHANG) == 0 {
                if proxyStopRequested != 0 && !forwardedStop {
                    kill(pid, SIGTERM)
                    forwardedStop = true
                }
                if proxyReloadRequested != 0 {
                    proxyReloadRequested = 0
                    kill(pid, SIGHUP)
                }
                usleep(50_000)
            }
            let code: Int32 = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            if proxyStopRequested != 0 || code == 0 { return code }
            failures = failures.filter { Date().timeIntervalSince($0) < 60 } + [Date()]
            if failures.count >= 5 {
                logger.critical("the proxy failed 5 times within a minute; giving up", metadata: ["status": "\(code)"])
                return 1
            }
            logger.warning("the proxy exited; restarting in 1 s", metadata: ["status": "\(code)"])
            for _ in 0..<20 where proxyStopRequested == 0 { usleep(50_000) }
            if proxyStopRequested != 0 { return 0 }
        }
    }
}

/// Where `status` and `flows` find a proxy: this namespace, or a lab node's.
struct ProxyTarget: ParsableArguments {
    @Option(name: .long, help: "The proxy's TUN device (names its control socket). Default: vx0, or the lab node's proxy.")
    var tun: String?

    @Option(name: .long, help: "A running lab (name or topology file); with --node.")
    var lab: String?

    @Option(name: .long, help: "The lab node whose proxy to ask.")
    var node: String?

    func validate() throws {
        if (lab == nil) != (node == nil) { throw ValidationError("--lab and --node go together") }
    }

    /// Runs `body` with the device name, in the right namespace.
    func ask<T: Sendable>(_ body: @escaping @Sendable (String) throws -> T) throws -> T {
        guard let lab, let node else { return try body(tun ?? "vx0") }
        let name = try instanceName(lab, node: node)
        let record = LabState.load(name)?.proxies.first { $0.node == node }
        let device = tun ?? record?.tun ?? "vx0"
        let namespace = NetworkNamespace(Topology.namespaceName(lab: name, node: node))
        guard namespace.exists else {
            StandardOutput.error("lab \(name) has no node \(node) running")
            throw ExitCode(1)
        }
        return try namespace.run { try body(device) }
    }
}

/// `netlab proxy status`
struct ProxyStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a running proxy's peers, counters and drops.")

    @OptionGroup var target: ProxyTarget

    @Flag(name: .long, help: "JSON, as the control socket answers.")
    var json = false

    func run() throws {
        let json = self.json
        do {
            if json {
                let data = try target.ask { tun in try ControlClient.response(to: "status", tun: tun) }
                FileHandle.standardOutput.write(data)
            } else {
                print(try target.ask { tun in try ControlClient.status(tun: tun) }.table)
            }
        } catch let error as ControlClient.Failure {
            StandardOutput.error(error.description)
            throw ExitCode(1)
        }
    }
}

/// `netlab proxy flows`
struct ProxyFlowsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flows", abstract: "List a running proxy's top flows by bytes.")

    @OptionGroup var target: ProxyTarget

    @Option(name: .long, help: "How many flows.")
    var top = 20

    @Flag(name: .long, help: "JSON, as the control socket answers.")
    var json = false

    func run() throws {
        let (json, top) = (self.json, self.top)
        do {
            if json {
                let data = try target.ask { tun in try ControlClient.response(to: "flows \(top)", tun: tun) }
                FileHandle.standardOutput.write(data)
            } else {
                let flows = try target.ask { tun in try ControlClient.flows(tun: tun, top: top) }
                print(FlowReport.table(flows))
            }
        } catch let error as ControlClient.Failure {
            StandardOutput.error(error.description)
            throw ExitCode(1)
        }
    }
}
