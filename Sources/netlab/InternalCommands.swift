import ArgumentParser
import Lab

/// `netlab supervise LAB`: the lab's service supervisor, which `up` starts (not for people).
struct SuperviseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise", abstract: "Run a lab's services (started by netlab up).", shouldDisplay: false)

    @Argument(help: "The lab's name.")
    var lab: String

    func run() throws {
        guard TopologyParser.isValidInstanceName(lab), let plan = ServicePlan.load(lab: lab) else {
            StandardOutput.error("supervise: lab \(lab) has no service plan (\(ServicePlan.path(lab: lab)))")
            throw ExitCode(1)
        }
        throw ExitCode(ServiceSupervisor(plan: plan).run())
    }
}

/// `netlab node-init`: PID 1 of a node with a PID namespace (started by netlab up).
struct NodeInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node-init", abstract: "PID 1 of an isolated lab node (started by netlab up).", shouldDisplay: false)

    func run() throws {
        throw ExitCode(NodeInit.run())
    }
}
