import ArgumentParser
import Lab
import Netlink

/// `netlab impair NAME NODE:IFACE [--delay D] [--jitter J] [--loss L] [--rate R] [--clear]`
struct ImpairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "impair",
        abstract: "Change a running lab interface's delay, jitter, loss or rate (netem/tbf).",
        discussion: """
            Replaces the interface's impairment with the one given; --clear removes it.

            Example:
              netlab impair veth-pair a:eth0 --delay 20ms --jitter 2ms --loss 1%
              netlab impair veth-pair a:eth0 --rate 10mbit
              netlab impair veth-pair a:eth0 --clear
            """)

    @Argument(help: "The lab's name or topology file.")
    var lab: String

    @Argument(help: "NODE:IFACE")
    var endpoint: String

    @Option(help: "Added delay, like 10ms.") var delay: String?
    @Option(help: "Delay variation, like 2ms.") var jitter: String?
    @Option(help: "Packet loss, like 1%.") var loss: String?
    @Option(help: "Rate limit, like 10mbit.") var rate: String?
    @Flag(help: "Remove the impairment.") var clear = false

    func run() throws {
        let parts = endpoint.split(separator: ":", maxSplits: 1).map(String.init)
        let name = try instanceName(lab, node: parts.first)
        guard parts.count == 2 else { throw ValidationError("'\(endpoint)' is not NODE:IFACE") }
        var impairment = Impairment()
        if !clear {
            impairment = try ImpairmentText.parse(delay: delay, jitter: jitter, loss: loss, rate: rate)
            guard !impairment.isEmpty else { throw ValidationError("give --delay, --jitter, --loss, --rate or --clear") }
        }
        let support = KernelSupport.current
        if (impairment.delay != nil || impairment.jitter != nil || impairment.loss != nil) && !support.netem {
            StandardOutput.error("impair: this kernel has no netem (CONFIG_NET_SCH_NETEM): delay, jitter and loss cannot be applied")
            throw ExitCode(1)
        }
        let ns = NetworkNamespace(Topology.namespaceName(lab: name, node: parts[0]))
        guard ns.exists else {
            StandardOutput.error("impair: lab \(name) has no running node \(parts[0])")
            throw ExitCode(1)
        }
        let device = parts[1]
        let applied = impairment
        do {
            try ns.run { try RouteSocket().setImpairment(applied, on: device) }
        } catch {
            StandardOutput.error("impair: \(error)")
            throw ExitCode(1)
        }
        print(clear ? "\(endpoint): impairment removed" : "\(endpoint): impaired")
    }
}
