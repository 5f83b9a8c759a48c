import Foundation

/// Runs a lab's checks (`netlab check`, `netlab up --check-after`): each in its node, as any
/// process netlab starts there, tried until it gives the expected status or its retries are
/// spent.
public enum LabChecks {
    /// One check's outcome.
    public struct Outcome: Sendable, Equatable {
        public var check: Check
        public var passed: Bool
        /// The last try's output (at most its last 64 KiB), and status (nil: it timed out).
        public var output: String
        public var status: Int32?
        public var tries: Int

        /// `ok NAME` or `FAIL NAME: what went wrong`.
        public var line: String {
            if passed { return "ok \(check.name)" }
            let what = status.map { "exit status \($0), expected \(check.expect)" } ?? "did not end in time"
            let text = output.split(separator: "\n").suffix(5).joined(separator: " | ")
            return "FAIL \(check.name): \(what)" + (text.isEmpty ? "" : ": \(text)")
        }
    }

    /// Runs every check of `topology` (whose lab is up), in file order; `each` hears of each
    /// one as it ends.
    public static func run(_ topology: Topology, each: (Outcome) -> Void = { _ in }) -> [Outcome] {
        let log = "\(LabState.logDirectory(lab: topology.name))/checks.log"
        return topology.checks.map { check in
            let timeout = topology.node(named: check.node)?.execTimeout ?? 60
            var outcome = Outcome(check: check, passed: false, output: "", status: nil, tries: 0)
            while outcome.tries <= check.retries {
                if outcome.tries > 0 { sleep(1) }
                outcome.tries += 1
                do {
                    let result = try NamespaceProcess.run(["/bin/sh", "-c", check.run],
                                                          in: NodeEnvironment(lab: topology.name, node: check.node),
                                                          log: log, timeout: timeout)
                    outcome.output = result.output
                    outcome.status = result.status
                } catch {
                    outcome.output = "\(error)"
                    outcome.status = 127
                }
                if outcome.status == check.expect {
                    outcome.passed = true
                    break
                }
            }
            each(outcome)
            return outcome
        }
    }
}
