import Foundation
import Packet
import Testing
import TestSupport

/// `netlab decode` as a user runs it: exit codes, one-line errors, --count, filters.
@Suite("netlab decode command")
struct DecodeCommandTests {
    @Test("a missing file, a non-capture and an unsupported link type: one line on stderr, exit 1")
    func badFiles() throws {
        let missing = try ProcessRunner.run([ProcessRunner.netlab, "decode", "/nonexistent/x.pcap"])
        #expect(missing.status == 1)
        #expect(missing.stdout.isEmpty)
        #expect(missing.stderr.split(separator: "\n").count == 1)
        #expect(missing.stderr.contains("/nonexistent/x.pcap"))

        let text = NSTemporaryDirectory() + "netlab-test-\(getpid())-notpcap.txt"
        try "hello, I am not a capture\n".write(toFile: text, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: text) }
        let notCapture = try ProcessRunner.run([ProcessRunner.netlab, "decode", text, "--json"])
        #expect(notCapture.status == 1)
        #expect(notCapture.stderr.split(separator: "\n").count == 1)

        // LINKTYPE_IEEE802_11 (105): a valid file of a kind netlab does not decode.
        var header: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 105, 0, 0, 0]
        header += [UInt8](repeating: 0, count: 0)
        let wifi = NSTemporaryDirectory() + "netlab-test-\(getpid())-wifi.pcap"
        try Data(header).write(to: URL(fileURLWithPath: wifi))
        defer { try? FileManager.default.removeItem(atPath: wifi) }
        let unsupported = try ProcessRunner.run([ProcessRunner.netlab, "decode", wifi])
        #expect(unsupported.status == 1)
        #expect(unsupported.stderr.contains("unsupported link type"))
        #expect(unsupported.stderr.split(separator: "\n").count == 1)
    }

    @Test("--count stops early and a BPF filter selects packets")
    func countAndFilter() throws {
        let capture = try Decoding.capturePath("06_tcp.pcap")
        let two = try ProcessRunner.run([ProcessRunner.netlab, "decode", capture, "--json", "--count", "2"])
        #expect(two.status == 0)
        #expect(two.stdout.split(separator: "\n").count == 2)

        let https = try ProcessRunner.run([ProcessRunner.netlab, "decode", capture, "--json", "tcp", "port", "443"])
        #expect(https.status == 0)
        let lines = https.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        for line in lines {
            let tcp = try Decoding.layers(line).first { $0["layer"] as? String == "tcp" }
            let ports = [tcp?["src_port"] as? Int, tcp?["dst_port"] as? Int]
            #expect(ports.contains(443))
        }

        let bad = try ProcessRunner.run([ProcessRunner.netlab, "decode", capture, "tcp", "port", "nope"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("bad filter"))
    }

    @Test("text output has one line per packet")
    func text() throws {
        let capture = try Decoding.capturePath("08_vxlan.pcap")
        let result = try ProcessRunner.run([ProcessRunner.netlab, "decode", capture])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 12)
        #expect(lines[0].contains("VXLAN vni 5001 | 02:00:5e:30:00:0a > 02:00:5e:30:00:0b"))
    }
}
