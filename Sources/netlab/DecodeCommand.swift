import ArgumentParser
import Capture
import Decode
import Packet

/// `netlab decode FILE`: print a capture layer by layer, as text or as the JSON Lines contract.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode a pcap or pcapng file, one packet per line.",
        discussion: """
            Link types: Ethernet, RAW (what a TUN device gives), LINUX_SLL and LINUX_SLL2. \
            VXLAN (UDP destination port 4789, or --vxlan-port) is followed into the inner frame. \
            A filter is a libpcap/BPF expression, as tcpdump takes it.

            Examples:
              netlab decode lab.pcap
              netlab decode lab.pcap --json | jq -c '.layers | map(.layer)'
              netlab decode lab.pcap --count 20 'udp port 4789 and host 10.0.0.2'
            """)

    @Argument(help: "The capture file (pcap or pcapng).")
    var file: String

    @Argument(parsing: .remaining, help: "An optional BPF filter expression, e.g. 'tcp port 80'.")
    var filter: [String] = []

    @Flag(name: .long, help: "Print one JSON object per packet (JSON Lines).")
    var json = false

    @Option(name: [.short, .long], help: "Stop after this many packets (after filtering).")
    var count: Int?

    @Option(name: .long, help: "The UDP destination port that carries VXLAN.")
    var vxlanPort: Int = Int(VXLANHeader.defaultPort)

    @Flag(name: .long, help: "Number each line with its frame index (text output).")
    var number = false

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count must be 0 or more, not \(count)") }
        guard (1...65535).contains(vxlanPort) else {
            throw ValidationError("--vxlan-port must be 1...65535, not \(vxlanPort)")
        }
    }

    func run() throws {
        let reader: PcapFileReader
        do {
            reader = try PcapFileReader(path: file, filter: filter.joined(separator: " "))
        } catch {
            StandardOutput.error("decode: \(error)")
            throw ExitCode(1)
        }
        let port = UInt16(vxlanPort)
        if json {
            try decode(reader, with: JSONLinesFormatter(vxlanPort: port))
        } else {
            try decode(reader, with: TextFormatter(vxlanPort: port, numbered: number))
        }
    }

    /// The read-format-write loop; generic so that each formatter gets its own specialised copy.
    private func decode(_ reader: PcapFileReader, with formatter: some PacketFormatter) throws {
        let out = OutputBuffer()
        let limit = count ?? Int.max
        // Frame numbers count every record read, as tcpdump's and Wireshark's do; with a filter
        // they are the numbers of the records that matched.
        var number = 0
        do {
            while number < limit, let record = try reader.next() {
                number += 1
                formatter.format(
                    FramedPacket(
                        number: number, seconds: record.seconds, microseconds: record.microseconds,
                        originalLength: record.originalLength, linkType: reader.linkType, bytes: record.bytes),
                    into: out)
                if out.count >= 1 << 19, !StandardOutput.flush(out) { return }
            }
        } catch {
            StandardOutput.flush(out)
            StandardOutput.error("decode: \(error)")
            throw ExitCode(1)
        }
        StandardOutput.flush(out)
    }
}
