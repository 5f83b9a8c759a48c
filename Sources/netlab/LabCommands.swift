import ArgumentParser
import Foundation
import Lab
import Netlink

/// `netlab up FILE`
struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Validate a topology file and build the lab it describes.",
        discussion: """
            The whole file is checked first; every problem is printed as FILE:LINE: KEY: MESSAGE \
            and nothing is created. Then namespaces, links, addresses and routes are made through \
            netlink. If a step fails, everything made so far is removed. Running up twice is safe.

            Example:
              netlab up topologies/veth-pair.toml
              netlab exec veth-pair a -- ping -c 3 10.0.0.2
              netlab down veth-pair
            """)

    @Argument(help: "The topology file (TOML).")
    var file: String

    @Flag(name: .long, help: "Only validate the file; create nothing.")
    var check = false

    @Flag(name: .long, help: "Return without waiting for links to be operationally up (the first packets may be lost).")
    var noWait = false

    @Flag(name: .long, help: "Run the lab's checks once it is up (as netlab check); exit 1 if one fails, leaving the lab up.")
    var checkAfter = false

    @Option(name: .long, help: "In a lab over several hosts ([hosts]): build this host's share (default: the host whose address is here).")
    var host: String?

    func run() throws {
        // First: probing the kernel makes /run/netns shared here, which would hide the problem.
        if !check, let problem = HostSelection.mountNamespaceProblem() {
            StandardOutput.error("up: \(problem)")
            throw ExitCode(1)
        }
        var whole = try loadTopology(file, kernel: nil)
        if whole.needsKernelProbe { whole = try loadTopology(file, kernel: KernelSupport.current) }
        let topology: Topology
        do {
            topology = try HostSelection.share(of: whole, host: host)
        } catch {
            StandardOutput.error("up: \(error)")
            throw ExitCode(1)
        }
        if check {
            print("\(file): ok (\(plural(topology.nodes.count, "node")), \(plural(topology.links.count, "link")))")
            return
        }
        if topology.host != nil {
            StandardOutput.error("netlab: \(file) digest \(TopologyDigest.of(file: file) ?? "?"): host \(topology.host ?? "")'s share, "
                                 + "\(plural(topology.stitches.count, "stitched link"))")
        }
        let start = ContinuousClock.now
        let builder = LabBuilder(topology: topology, waitForCarrier: !noWait) { line in
            FileHandle.standardError.write(Data("netlab: \(line)\n".utf8))
        }
        do {
            switch try builder.up() {
            case .alreadyUp:
                print("lab \(topology.name) is already up (netlab status \(topology.name))")
            case .created:
                let elapsed = ContinuousClock.now - start
                print("lab \(topology.name) is up: \(plural(topology.nodes.count, "node")), \(plural(topology.links.count, "link")) in \(elapsed.formatted)")
                print("  netlab status \(topology.name)    netlab exec \(topology.name) NODE -- CMD    netlab down \(topology.name)")
            }
            if checkAfter, !runChecks(topology) { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            StandardOutput.error("up: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `netlab down FILE|NAME`
struct DownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Remove a lab: its processes, namespaces, links and qdiscs.",
        discussion: """
            Works after a crash or a kill -9 of `up` too: it reads /run/netlab/NAME.json and also \
            looks at every namespace named NAME.*, but removes only those netlab made for the lab \
            (the mark on their loopback, or the identity the state file recorded); others are named \
            and left alone. Processes are ended by the namespace they run in, never by a PID read \
            back from a file. A lab that is not up is reported and not an error.

            Example:
              netlab down topologies/veth-pair.toml
              netlab down veth-pair
            """)

    @Argument(help: "The topology file or the lab's name.")
    var lab: String

    @Option(name: .long, help: "In a lab over several hosts: take down this host's share.")
    var host: String?

    func run() throws {
        let name = try instanceName(lab, host: host)
        let start = ContinuousClock.now
        let report: LabTeardown.Report
        do {
            report = try LabTeardown.down(name) { line in StandardOutput.error(line) }
        } catch {
            StandardOutput.error("down: \(error)")
            throw ExitCode(1)
        }
        for other in report.leftAlone {
            StandardOutput.error("left alone: namespace \(other) is named like lab \(name)'s but netlab did not make it for the lab")
        }
        if report.wasUp {
            print("lab \(name) is down: \(plural(report.namespaces, "namespace")) and \(plural(report.processes, "process", "processes")) removed in \((ContinuousClock.now - start).formatted)")
        } else {
            print("lab \(name) is not up")
        }
    }
}

/// `netlab status [NAME] [--json]`
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show running labs: nodes, interfaces, addresses, routes, qdiscs, processes.",
        discussion: """
            Read back from the kernel through netlink.

            Example:
              netlab status
              netlab status veth-pair --json | jq '.nodes[].interfaces[].addresses'
            """)

    @Argument(help: "A lab's name or topology file; all labs when omitted.")
    var lab: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Option(name: .long, help: "In a lab over several hosts: this host's share.")
    var host: String?

    func run() throws {
        let names = try lab.map { [try instanceName($0, host: host)] } ?? LabState.all()
        let statuses = names.compactMap { LabStatus.read($0) }
        if let lab, statuses.isEmpty {
            StandardOutput.error("status: lab \(try instanceName(lab, host: host)) is not up")
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = lab == nil ? try encoder.encode(statuses) : try encoder.encode(statuses[0])
            print(String(decoding: data, as: UTF8.self))
        } else if statuses.isEmpty {
            print("no labs are up")
        } else {
            print(statuses.map(\.table).joined(separator: "\n\n"))
        }
        // Shares of one lab that run here from different versions of its file.
        let shares = (lab == nil ? statuses : LabState.all().compactMap { LabStatus.read($0) }).filter { $0.host != nil }
        let labs = Dictionary(grouping: shares) { String($0.name.prefix { $0 != "@" }) }
        for (name, group) in labs.sorted(by: { $0.key < $1.key }) where Set(group.map { $0.digest ?? "?" }).count > 1 {
            StandardOutput.error("warning: the hosts of lab \(name) run different versions of its file: "
                                 + group.map { "\($0.host ?? "?") \($0.digest ?? "?")" }.joined(separator: ", "))
        }
    }
}

/// `netlab graph FILE`
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw a topology as Graphviz DOT (or SVG/PNG when `dot` is installed).",
        discussion: """
            Example:
              netlab graph topologies/bridge-lan.toml > lan.dot
              netlab graph topologies/bridge-lan.toml -o lan.svg
            """)

    @Argument(help: "The topology file.")
    var file: String

    @Option(name: .shortAndLong, help: "Write to FILE; .svg or .png renders through dot.")
    var output: String?

    func run() throws {
        let topology = try loadTopology(file, kernel: nil)
        let dot = GraphRenderer.dot(topology)
        guard let output else {
            print(dot, terminator: "")
            return
        }
        if output.hasSuffix(".svg") || output.hasSuffix(".png") {
            let format = String(output.suffix(3))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["dot", "-T\(format)", "-o", output]
            let input = Pipe()
            process.standardInput = input
            do { try process.run() } catch {
                StandardOutput.error("graph: cannot run dot (apt-get install graphviz): \(error)")
                throw ExitCode(1)
            }
            input.fileHandleForWriting.write(Data(dot.utf8))
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                StandardOutput.error("graph: dot failed (is graphviz installed? apt-get install graphviz)")
                throw ExitCode(1)
            }
        } else {
            try dot.write(toFile: output, atomically: true, encoding: .utf8)
        }
    }
}

/// Parses a topology, printing every problem and exiting 1 if there are any.
func loadTopology(_ file: String, kernel: KernelSupport?) throws -> Topology {
    do {
        return try TopologyParser.load(path: file, kernel: kernel)
    } catch {
        for problem in error.errors { StandardOutput.error(problem.description) }
        StandardOutput.error("\(error.errors.count) problem\(error.errors.count == 1 ? "" : "s") in \(file); nothing was created")
        throw ExitCode(1)
    }
}

/// The running lab (or one host's share of a multi-host lab, `LAB@HOST`) that a name or file
/// means here: with `host`, that host's share; else the lab if it runs whole; else the one share
/// that runs here, that has `node`, or whose host's address is on this machine.
func instanceName(_ argument: String, host: String? = nil, node: String? = nil) throws -> String {
    let lab = try labName(argument)
    if let host {
        guard TopologyParser.isValidNodeName(host) else {
            StandardOutput.error("'\(host)' is not a host name")
            throw ExitCode(1)
        }
        return "\(lab)@\(host)"
    }
    if LabState.load(lab) != nil { return lab }
    var shares = LabState.all().filter { $0.hasPrefix(lab + "@") }
    if let node, shares.count > 1 {
        shares = shares.filter { NetworkNamespace(Topology.namespaceName(lab: $0, node: node)).exists }
    }
    if shares.count > 1 {
        let local = Set(HostSelection.localAddresses().map(\.description))
        let here = shares.filter { LabState.load($0)?.hostAddress.map(local.contains) == true }
        if here.count == 1 { return here[0] }
        StandardOutput.error("lab \(lab) runs as several hosts' shares here (\(shares.joined(separator: ", "))): choose one with --host NAME")
        throw ExitCode(1)
    }
    return shares.first ?? lab
}

/// A lab name from a name or a topology file's `name`.
func labName(_ argument: String) throws -> String {
    guard argument.hasSuffix(".toml") || argument.contains("/") else {
        guard TopologyParser.isValidLabName(argument) else {
            StandardOutput.error("'\(argument)' is not a lab name (lowercase letters, digits and '-', up to 32) nor a topology file")
            throw ExitCode(1)
        }
        return argument
    }
    guard let name = TopologyParser.labName(path: argument) else {
        StandardOutput.error("cannot read a lab name from \(argument)")
        throw ExitCode(1)
    }
    return name
}

extension Duration {
    var formatted: String {
        let seconds = Double(components.seconds) + Double(components.attoseconds) / 1e18
        return String(format: "%.2f s", seconds)
    }
}

func plural(_ count: Int, _ one: String, _ many: String? = nil) -> String {
    "\(count) \(count == 1 ? one : many ?? one + "s")"
}
