import ArgumentParser
import Foundation
import Lab

/// `netlab service NAME NODE SERVICE stop|start|restart`
struct ServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Stop, start or restart a service of a running lab.",
        discussion: """
            The lab's supervisor does it: stop sends SIGTERM to the service's process group \
            (SIGKILL after 3 s) and keeps it stopped; start runs it again once the services it \
            comes after are ready, and waits for its readiness. Waits at most 30 s for the result.

            Example:
              netlab service k8s-calico node3 bird stop      # node1 loses 10.244.3.0/24
              netlab service k8s-calico node3 bird start
            """)

    @Argument(help: "The lab's name or topology file.")
    var lab: String

    @Argument(help: "The node.")
    var node: String

    @Argument(help: "The service.")
    var service: String

    @Argument(help: "stop, start or restart.")
    var action: String

    func run() throws {
        let name = try instanceName(lab, node: node)
        guard let action = ServiceRequest.Action(rawValue: action) else {
            throw ValidationError("'\(self.action)' is not stop, start or restart")
        }
        guard LabState.load(name)?.supervisor != nil else {
            StandardOutput.error("service: lab \(name) is not up, or has no services")
            throw ExitCode(1)
        }
        let statuses = ServiceStatus.load(lab: name)
        guard let before = statuses.first(where: { $0.node == node && $0.name == service }) else {
            let known = statuses.filter { $0.node == node }.map(\.name)
            StandardOutput.error("service: node \(node) of lab \(name) has no service \(service)"
                                 + (known.isEmpty ? "" : " (it has: \(known.joined(separator: ", ")))"))
            throw ExitCode(1)
        }
        try ServiceRequest(node: node, service: service, action: action).send(lab: name)
        let deadline = Date().addingTimeInterval(30)
        var seenChange = action == .stop ? false : before.state != .ready
        while Date() < deadline {
            usleep(50_000)
            guard let now = ServiceStatus.load(lab: name).first(where: { $0.node == node && $0.name == service }) else { break }
            if now.pid != before.pid || now.state != before.state { seenChange = true }
            switch (action, now.state) {
            case (.stop, .stopped):
                print("service \(node):\(service) stopped")
                return
            case (.start, .ready) where seenChange || before.state == .ready, (.restart, .ready) where seenChange:
                print("service \(node):\(service) is ready (pid \(now.pid.map(String.init) ?? "-"))")
                return
            case (.start, .failed) where seenChange, (.restart, .failed) where seenChange:
                StandardOutput.error("service \(node):\(service) failed: \(now.message ?? "") (netlab logs \(name) \(node) \(service))")
                throw ExitCode(1)
            default:
                continue
            }
        }
        StandardOutput.error("service: no result within 30 s (netlab status \(name))")
        throw ExitCode(1)
    }
}
