import ArgumentParser

/// The `netlab` command: a Linux network laboratory.
@main
struct Netlab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netlab",
        abstract: "Build, inspect and decode Linux network labs.",
        discussion: """
            A lab is a TOML file of nodes (network namespaces, small containers) and links; \
            netlab builds it through netlink, runs its services and checks, and shows its \
            traffic. Shell completions: netlab --generate-completion-script bash (or zsh, fish).

            Examples:
              netlab up topologies/veth-pair.toml
              netlab exec veth-pair a -- ping -c 3 b
              netlab capture veth-pair b:eth0 icmp
              netlab down veth-pair
              netlab decode capture.pcap --json
            """,
        subcommands: [],
        groupedSubcommands: [
            CommandGroup(name: "Labs", subcommands: [
                UpCommand.self, DownCommand.self, StatusCommand.self, ExecCommand.self, ShellCommand.self,
                LogsCommand.self, ServiceCommand.self, CheckCommand.self, PlanCommand.self,
            ]),
            CommandGroup(name: "Watching and changing a lab", subcommands: [
                WebCommand.self, CaptureCommand.self, ImpairCommand.self, GraphCommand.self,
            ]),
            CommandGroup(name: "Tools", subcommands: [DecodeCommand.self, ProxyCommand.self]),
            CommandGroup(name: "Internal", subcommands: [SuperviseCommand.self, NodeInitCommand.self]),
        ])
}
