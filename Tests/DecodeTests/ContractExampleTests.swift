import Foundation
import Testing
import TestSupport

/// The worked examples of shared/spec/decode-json.md: the output must match line for line.
@Suite("Decode contract examples")
struct ContractExampleTests {
    @Test("JSON output equals the expected lines", arguments: ["01_eth_arp", "06_tcp", "08_vxlan"])
    func example(name: String) throws {
        let capture = try Decoding.capturePath("\(name).pcap")
        let expected = try String(contentsOfFile: try Decoding.capturePath("\(name).pcap.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let got = try Decoding.lines(of: capture)
        #expect(got.count == expected.count)
        for (line, (mine, theirs)) in zip(got, expected).enumerated() {
            #expect(mine == theirs, "frame \(line + 1)")
        }
    }

    @Test("the CLI prints the same bytes and exits 0")
    func cli() throws {
        let capture = try Decoding.capturePath("08_vxlan.pcap")
        let result = try ProcessRunner.run([ProcessRunner.netlab, "decode", capture, "--json"])
        #expect(result.status == 0)
        let expected = try String(contentsOfFile: try Decoding.capturePath("08_vxlan.pcap.jsonl"), encoding: .utf8)
        #expect(result.stdout == expected)
    }
}
