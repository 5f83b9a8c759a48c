import ArgumentParser

/// The `netlab` command: a Linux network laboratory.
@main
struct Netlab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netlab",
        abstract: "Build, inspect and decode Linux network labs.",
        discussion: """
            Examples:
              netlab decode capture.pcap              # one line per packet, like tcpdump -e -nn
              netlab decode capture.pcap --json       # JSON Lines, one object per packet
              netlab decode capture.pcap udp port 4789 --count 10
            """,
        subcommands: [UpCommand.self, DownCommand.self, StatusCommand.self, ExecCommand.self, ShellCommand.self, LogsCommand.self, ServiceCommand.self, CheckCommand.self, PlanCommand.self, WebCommand.self, ImpairCommand.self, CaptureCommand.self, GraphCommand.self, DecodeCommand.self, ProxyCommand.self, SuperviseCommand.self, NodeInitCommand.self])
}
