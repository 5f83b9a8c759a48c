import TestSupport
import Capture
import Decode
import Foundation
import Packet

/// Decodes a capture file in-process with a formatter, returning the output lines.
enum Decoding {
    static func lines(of path: String, json: Bool = true, filter: String? = nil) throws -> [String] {
        let reader = try PcapFileReader(path: path, filter: filter)
        let out = OutputBuffer()
        var number = 0
        while let record = try reader.next() {
            number += 1
            let packet = FramedPacket(number: number, seconds: record.seconds, microseconds: record.microseconds,
                                      originalLength: record.originalLength, linkType: reader.linkType,
                                      bytes: record.bytes)
            if json { JSONLinesFormatter().format(packet, into: out) } else { TextFormatter().format(packet, into: out) }
        }
        return out.drainString().split(separator: "\n").map(String.init)
    }

    /// Parses one JSON line into a dictionary.
    static func object(_ line: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
    }

    /// The layer names of one JSON line, in order.
    static func layerNames(_ line: String) throws -> [String] {
        let layers = try object(line)["layers"] as? [[String: Any]] ?? []
        return layers.compactMap { $0["layer"] as? String }
    }

    /// The layer objects of one JSON line.
    static func layers(_ line: String) throws -> [[String: Any]] {
        try object(line)["layers"] as? [[String: Any]] ?? []
    }

    /// Writes frames to a temporary capture file of `linkType`; returns its path.
    static func writeCapture(_ frames: [[UInt8]], linkType: LinkType, name: String) throws -> String {
        let path = NSTemporaryDirectory() + "netlab-test-\(getpid())-\(name).pcap"
        let writer = try PcapFileWriter(path: path, linkType: linkType)
        for (i, frame) in frames.enumerated() {
            frame.withUnsafeBytes { writer.write($0, seconds: 1_700_000_000 + i, microseconds: i) }
        }
        try writer.flush()
        return path
    }

    static func capturePath(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: "Captures/\(name)", withExtension: nil) else {
            throw ProcessFailure(command: "resource \(name)", status: 1, stderr: "missing")
        }
        return url.path
    }
}
