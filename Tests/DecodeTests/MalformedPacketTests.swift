import Capture
import Foundation
import Packet
import Testing

/// Malformed packets are reported in their own `error` and decoding goes on.
@Suite("Decode of malformed packets")
struct MalformedPacketTests {
    static func decode(_ frames: [[UInt8]], linkType: LinkType = .ethernet, name: String) throws -> [String] {
        let path = try Decoding.writeCapture(frames, linkType: linkType, name: name)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Decoding.lines(of: path)
    }

    @Test("each contract error names its layer, lists the layers before it, and the next packet decodes")
    func contractErrors() throws {
        let good = Frames.ethernet(Frames.ipv4(Frames.udp(Array("ok".utf8)), protocolNumber: 17), etherType: EtherType.ipv4)
        var ihl4 = Frames.ipv4(Frames.udp([]), protocolNumber: 17)
        ihl4[0] = 0x44
        var ihlPastTotal = Frames.ipv4([0, 0, 0, 0], protocolNumber: 17, fixTransport: false)
        ihlPastTotal[0] = 0x46
        ihlPastTotal[3] = 22
        var ihlPastCapture = Frames.ipv4([], protocolNumber: 17, fixTransport: false)
        ihlPastCapture[0] = 0x4F
        let shortV6 = Array(Frames.ipv6(Frames.udp([]), nextHeader: 17)[..<39])
        let tcpOffsetLow = Frames.ipv4(Frames.tcp([], dataOffsetWords: 4), protocolNumber: 6)
        let tcpOffsetPast = Frames.ipv4(Frames.tcp([1, 2, 3, 4], dataOffsetWords: 15), protocolNumber: 6)
        let cutUDP = Array(Frames.ipv4(Frames.udp([]), protocolNumber: 17)[..<24])
        let vxlanEmpty = Frames.ipv4(Frames.udp([], destination: 4789), protocolNumber: 17)

        let cases: [([UInt8], [String], String)] = [
            (ihl4, ["ethernet"], "ipv4"),
            (ihlPastTotal, ["ethernet"], "ipv4"),
            (ihlPastCapture, ["ethernet"], "ipv4"),
            (shortV6, ["ethernet"], "ipv6"),
            (tcpOffsetLow, ["ethernet", "ipv4"], "tcp"),
            (tcpOffsetPast, ["ethernet", "ipv4"], "tcp"),
            (cutUDP, ["ethernet", "ipv4"], "udp"),
            (vxlanEmpty, ["ethernet", "ipv4", "udp"], "vxlan"),
        ]
        var frames: [[UInt8]] = []
        for (packet, _, _) in cases {
            let etherType = packet.first.map { $0 >> 4 == 6 } == true ? EtherType.ipv6 : EtherType.ipv4
            frames.append(Frames.ethernet(packet, etherType: etherType))
            frames.append(good)
        }
        let lines = try Self.decode(frames, name: "malformed")
        #expect(lines.count == frames.count)
        for (i, (_, layers, faulty)) in cases.enumerated() {
            let bad = try Decoding.object(lines[2 * i])
            #expect(try Decoding.layerNames(lines[2 * i]) == layers, "case \(i)")
            let error = try #require(bad["error"] as? String, "case \(i)")
            #expect(error.hasPrefix("\(faulty):"), "case \(i): \(error)")
            #expect(!error.contains("\n"))
            #expect(try Decoding.layerNames(lines[2 * i + 1]) == ["ethernet", "ipv4", "udp", "payload"])
            #expect(try Decoding.object(lines[2 * i + 1])["error"] is NSNull)
        }
    }

    @Test("bad checksums show as false, absent ones as null, and are never errors")
    func checksums() throws {
        var badIP = Frames.ipv4(Frames.udp([1, 2, 3]), protocolNumber: 17)
        badIP[10] ^= 0xFF
        var badUDP = Frames.ipv4(Frames.udp([1, 2, 3]), protocolNumber: 17)
        badUDP[27] ^= 0xFF
        var zeroV4 = Frames.ipv4(Frames.udp([1, 2, 3]), protocolNumber: 17)
        zeroV4[26] = 0
        zeroV4[27] = 0
        var zeroV6 = Frames.ipv6(Frames.udp([1, 2, 3]), nextHeader: 17)
        zeroV6[46] = 0
        zeroV6[47] = 0
        let lines = try Self.decode([
            Frames.ethernet(badIP, etherType: EtherType.ipv4),
            Frames.ethernet(badUDP, etherType: EtherType.ipv4),
            Frames.ethernet(zeroV4, etherType: EtherType.ipv4),
            Frames.ethernet(zeroV6, etherType: EtherType.ipv6),
        ], name: "checksums")
        func value(_ line: Int, _ layer: Int) throws -> Any? {
            try Decoding.layers(lines[line])[layer]["checksum_ok"] ?? nil
        }
        #expect(try value(0, 1) as? Bool == false)
        #expect(try value(0, 2) as? Bool == true)
        #expect(try value(1, 2) as? Bool == false)
        #expect(try value(2, 2) is NSNull)
        #expect(try value(3, 2) as? Bool == false)
        for line in lines { #expect(try Decoding.object(line)["error"] is NSNull) }
    }

    @Test("a snap-length cut leaves the checksum null and counts only captured payload")
    func snapLength() throws {
        let full = Frames.ethernet(Frames.ipv4(Frames.tcp([UInt8](repeating: 7, count: 100)), protocolNumber: 6),
                                   etherType: EtherType.ipv4)
        let path = NSTemporaryDirectory() + "netlab-test-\(getpid())-snap.pcap"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try PcapFileWriter(path: path, linkType: .ethernet)
        full.withUnsafeBytes { writer.write(UnsafeRawBufferPointer(rebasing: $0[..<64]), seconds: 0, microseconds: 0, originalLength: full.count) }
        try writer.flush()
        let line = try #require(try Decoding.lines(of: path).first)
        let object = try Decoding.object(line)
        #expect(object["caplen"] as? Int == 64)
        #expect(object["len"] as? Int == full.count)
        let layers = try Decoding.layers(line)
        #expect(layers.map { $0["layer"] as? String } == ["ethernet", "ipv4", "tcp", "payload"])
        #expect(layers[2]["checksum_ok"] is NSNull)
        #expect(layers[3]["length"] as? Int == 64 - 54)
    }
}
