import Foundation
import Packet
import Testing

/// Every link type of the contract: Ethernet, RAW, LINUX_SLL, LINUX_SLL2.
@Suite("Decode link types")
struct LinkTypeTests {
    let ping = Frames.ipv4(Frames.icmpEcho(Array("abcdefgh".utf8)), protocolNumber: 1)

    @Test func raw() throws {
        let v6 = Frames.ipv6(Frames.udp([9, 9]), nextHeader: 17)
        let path = try Decoding.writeCapture([ping, v6], linkType: .raw, name: "raw")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = try Decoding.lines(of: path)
        #expect(try Decoding.layerNames(lines[0]) == ["ipv4", "icmp", "payload"])
        #expect(try Decoding.layers(lines[0])[1]["checksum_ok"] as? Bool == true)
        #expect(try Decoding.layerNames(lines[1]) == ["ipv6", "udp", "payload"])
        #expect(try Decoding.layers(lines[1])[0]["src"] as? String == "2001:db8::a")
    }

    @Test func linuxSLL() throws {
        let header: [UInt8] = [0, 4, 0, 1, 0, 6, 2, 0, 0x5E, 0, 0, 0x0A, 0, 0, 0x08, 0x00]
        let path = try Decoding.writeCapture([header + ping], linkType: .linuxSLL, name: "sll")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let line = try #require(try Decoding.lines(of: path).first)
        #expect(try Decoding.layerNames(line) == ["sll", "ipv4", "icmp", "payload"])
        #expect(try Decoding.layers(line)[0]["protocol"] as? Int == 0x0800)
    }

    @Test func linuxSLL2() throws {
        let header: [UInt8] = [0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 2, 0, 0x5E, 0, 0, 0x0A, 0, 0]
        let path = try Decoding.writeCapture([header + ping], linkType: .linuxSLL2, name: "sll2")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let line = try #require(try Decoding.lines(of: path).first)
        #expect(try Decoding.layerNames(line) == ["sll", "ipv4", "icmp", "payload"])
    }

    @Test("text output reads like tcpdump -e -nn")
    func text() throws {
        let frame = Frames.ethernet(ping, etherType: EtherType.ipv4)
        let path = try Decoding.writeCapture([frame], linkType: .ethernet, name: "text")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let line = try #require(try Decoding.lines(of: path, json: false).first)
        #expect(line.hasPrefix("22:13:20.000000 02:00:5e:00:00:0a > 02:00:5e:00:00:0b ethertype IPv4, IPv4 192.0.2.10 > 192.0.2.20"))
        #expect(line.contains("ICMP echo request id 1 seq 1"))
        #expect(line.hasSuffix("payload 8"))
    }
}
