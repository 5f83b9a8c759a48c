import ArgumentParser
import Foundation
import Lab

/// `netlab check NAME|FILE`
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run a lab's checks: what its topology file says it shows.",
        discussion: """
            Each [[checks]] entry runs in its node and must end with its expected status, within \
            its retries (1 s apart). Prints `ok NAME` or `FAIL NAME: output` per check and a last \
            line `checks: P/T pass`; exits 0 only when all pass.

            Example:
              netlab check k8s-calico
              netlab up topologies/k8s-service.toml --check-after
            """)

    @Argument(help: "The lab's name or topology file.")
    var lab: String

    func run() throws {
        let name = try instanceName(lab)
        guard let state = LabState.load(name), state.complete else {
            StandardOutput.error("check: lab \(name) is not up")
            throw ExitCode(1)
        }
        let file = lab.hasSuffix(".toml") || lab.contains("/") ? lab : state.file
        let whole = try loadTopology(file, kernel: nil)
        let topology = state.host.map { whole.share(for: $0) } ?? whole
        guard topology.name == name else {
            StandardOutput.error("check: \(file) describes lab \(topology.name), not \(name)")
            throw ExitCode(1)
        }
        guard runChecks(topology) else { throw ExitCode(1) }
    }
}

/// Runs and prints a running lab's checks; true when all pass.
func runChecks(_ topology: Topology) -> Bool {
    let outcomes = LabChecks.run(topology) { outcome in
        print(outcome.line)
        fflush(nil)  // every stream: `stdout` is shared mutable state to Swift 6
    }
    let passed = outcomes.filter(\.passed).count
    print("checks: \(passed)/\(outcomes.count) pass")
    return passed == outcomes.count
}
