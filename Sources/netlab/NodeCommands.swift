import ArgumentParser
import Foundation
import Lab
import Netlink

/// `netlab exec NAME NODE -- CMD...`
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command inside a lab node; its exit status passes through.",
        discussion: """
            The command joins every namespace of the node (network, UTS, and mount and PID where \
            the node is isolated) and its cgroup, and sees the node's /etc/hosts, as a service does.

            Example:
              netlab exec veth-pair a -- ping -c 3 b
              netlab exec veth-pair b -- ip -br addr
            """)

    @Argument(help: "The lab's name or topology file.")
    var lab: String

    @Argument(help: "The node.")
    var node: String

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
    var command: [String] = []

    func run() throws {
        let arguments = command.first == "--" ? Array(command.dropFirst()) : command
        guard !arguments.isEmpty else { throw ValidationError("give a command after --, e.g. -- ip addr") }
        throw ExitCode(try runInNode(lab: lab, node: node, arguments, verb: "exec"))
    }
}

/// `netlab shell NAME NODE`
struct ShellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "Open an interactive shell inside a lab node.",
        discussion: """
            As `netlab exec NAME NODE -- $SHELL -i`: every namespace of the node and its cgroup; \
            the prompt shows the node's hostname and the lab. Leave with exit or Ctrl-D.

            Example:
              netlab shell containers web
            """)

    @Argument(help: "The lab's name or topology file.")
    var lab: String

    @Argument(help: "The node.")
    var node: String

    func run() throws {
        let shell = ["/bin/bash", "/bin/sh"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/bin/sh"
        let name = try instanceName(lab, node: node)
        // bash reads PS1 from the environment unless an rc file sets it; --norc keeps ours.
        setenv("PS1", "[\(name)] \\u@\\h:\\w\\$ ", 1)
        setenv("NETLAB_LAB", name, 1)
        setenv("NETLAB_NODE", node, 1)
        let arguments = shell.hasSuffix("bash") ? [shell, "--norc", "-i"] : [shell, "-i"]
        throw ExitCode(try runInNode(lab: lab, node: node, arguments, verb: "shell"))
    }
}

/// Runs `arguments` in the node and returns its exit status.
func runInNode(lab: String, node: String, _ arguments: [String], verb: String) throws -> Int32 {
    let name = try instanceName(lab, node: node)
    guard TopologyParser.isValidNodeName(node), NetworkNamespace(Topology.namespaceName(lab: name, node: node)).exists else {
        StandardOutput.error("\(verb): lab \(name) has no running node \(node)")
        throw ExitCode(1)
    }
    let pid: Int32
    do {
        pid = try NamespaceProcess.spawn(arguments, in: NodeEnvironment(lab: name, node: node))
    } catch {
        StandardOutput.error("\(verb): \(error)")
        throw ExitCode(127)
    }
    // Ctrl-C and Ctrl-\ are the command's (a shell ignores them, ping prints its summary):
    // netlab waits for it rather than leaving it behind on the terminal.
    signal(SIGINT, SIG_IGN)
    signal(SIGQUIT, SIG_IGN)
    return NamespaceProcess.wait(pid)
}
