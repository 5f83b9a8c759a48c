import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Lab
import Netlink
import Testing
import TestSupport
@testable import Web

/// `netlab web`'s API, every row of its table, against a real lab.
@Suite("Web server", .serialized)
struct WebServerTests {
    static let lab = "nltweb\(getpid())"

    /// A two-node lab (a, b on a veth pair), made for the suite's tests.
    static func withLab(_ body: (Topology) throws -> Void) throws {
        let path = NSTemporaryDirectory() + "\(lab).toml"
        try """
            name = "\(lab)"
            [nodes.a.interfaces.eth0]
            addresses = ["10.0.0.1/24"]
            [nodes.b.interfaces.eth0]
            addresses = ["10.0.0.2/24"]
            [[links]]
            endpoints = ["a:eth0", "b:eth0"]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer {
            _ = try? LabTeardown.down(lab)
            try? FileManager.default.removeItem(atPath: path)
        }
        let topology = try TopologyParser.load(path: path)
        try LabBuilder(topology: topology).up()
        try body(topology)
    }

    static func get(_ port: Int, _ path: String, headers: [String: String] = [:]) throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        // A connection per request: a pooled one may be one the server already closed.
        request.setValue("close", forHTTPHeaderField: "Connection")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, String) = (0, "")
        URLSession.shared.dataTask(with: request) { data, response, _ in
            result = ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self))
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 20)
        return result
    }

    static func ping(_ from: String, _ address: String) throws {
        _ = try NamespaceProcess.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", address],
                                     in: NodeEnvironment(lab: lab, node: from), log: "/dev/null", timeout: 10)
    }

    static var threads: Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0 }

    @Test("GET /, /api/labs and /api/labs/NAME; unknown lab and page are 404 JSON errors")
    func pages() throws {
        let server = try WebServer(.init(port: 0))
        defer { server.stop() }
        try Self.withLab { _ in
            let page = try Self.get(server.port, "/")
            #expect(page.status == 200 && page.body.contains("<svg") && !page.body.contains("http://cdn"))
            let labs = try Self.get(server.port, "/api/labs")
            let list = try JSONSerialization.jsonObject(with: Data(labs.body.utf8)) as? [[String: Any]] ?? []
            let entry = list.first { $0["name"] as? String == Self.lab }
            #expect(entry?["nodes"] as? Int == 2 && entry?["links"] as? Int == 1, "\(labs.body)")
            let status = try Self.get(server.port, "/api/labs/\(Self.lab)")
            #expect(status.status == 200)
            let decoded = try JSONDecoder().decode(LabStatus.self, from: Data(status.body.utf8))
            #expect(decoded.nodes.map(\.name) == ["a", "b"] && decoded.links == [["a:eth0", "b:eth0"]])
            let missing = try Self.get(server.port, "/api/labs/nosuchlab")
            #expect(missing.status == 404 && missing.body == #"{"error":"no lab nosuchlab is running"}"#)
            #expect(try Self.get(server.port, "/nothing/here").status == 404)
        }
    }

    /// `netlab web` as a user runs it, on a free port; ended (SIGTERM) by the caller.
    static func startCLI() throws -> (Process, Int) {
        let port = 20_000 + Int(getpid() % 20_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessRunner.netlab)
        process.arguments = ["web", "--listen", "127.0.0.1:\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 where (try? Self.get(port, "/api/labs").status) != 200 { Thread.sleep(forTimeInterval: 0.05) }
        return (process, port)
    }

    /// The events of a stream read for `seconds` by curl (data lines, and `event:` lines).
    static func stream(_ port: Int, _ path: String, seconds: Int, while action: () throws -> Void = {}) throws -> [String] {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sN", "--max-time", "\(seconds)", "http://127.0.0.1:\(port)\(path)"]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        Thread.sleep(forTimeInterval: 0.5)
        try action()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    static func threads(of pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? 0
    }

    @Test("the stats stream gives each node's interfaces' rates once a second; a ping makes the link's non-zero")
    func stats() throws {
        let (server, port) = try Self.startCLI()
        defer { server.terminate(); server.waitUntilExit() }
        try Self.withLab { _ in
            let lines = try Self.stream(port, "/api/labs/\(Self.lab)/stats", seconds: 4) { try Self.ping("a", "10.0.0.2") }
            let events = lines.filter { $0.hasPrefix("data: ") }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any]
            }
            #expect(events.count >= 2, "\(lines)")
            let rates = events.compactMap { ($0["nodes"] as? [String: [String: [String: Double]]])?["a"]?["eth0"]?["tx_packets_per_second"] }
            #expect(rates.count == events.count && rates.contains { $0 > 0 }, "\(rates)")
            #expect(try Self.get(port, "/api/labs/nosuchlab/stats").status == 404)
        }
    }

    @Test("the capture stream: decode --json lines of the interface's packets, and frames; 404 and 400 as JSON; nothing left when the client goes away")
    func capture() throws {
        let (server, port) = try Self.startCLI()
        defer { server.terminate(); server.waitUntilExit() }
        try Self.withLab { _ in
            let base = "/api/labs/\(Self.lab)/capture"
            let node = try Self.get(port, "\(base)?node=zz&iface=eth0")
            #expect(node.status == 404 && node.body.contains("no node 'zz'"), "\(node.body)")
            let iface = try Self.get(port, "\(base)?node=a&iface=eth9")
            #expect(iface.status == 404 && iface.body.contains("no interface 'eth9'"), "\(iface.body)")
            let filter = try Self.get(port, "\(base)?node=a&iface=eth0&filter=not%20a%20filter%20((")
            #expect(filter.status == 400 && filter.body.contains("bad filter") && filter.body.contains("syntax error"), "\(filter.body)")
            let before = Self.threads(of: server.processIdentifier)
            let lines = try Self.stream(port, "\(base)?node=b&iface=eth0&filter=icmp", seconds: 3) { try Self.ping("a", "10.0.0.2") }
            let packets = lines.filter { $0.hasPrefix("data: {") }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any]
            }
            let layers = (packets.first?["layers"] as? [[String: Any]] ?? []).compactMap { $0["layer"] as? String }
            #expect(packets.count >= 3 && layers == ["ethernet", "ipv4", "icmp", "payload"], "\(lines.prefix(4))")
            #expect(lines.contains("event: raw"), "no frames")
            // The client hung up: the capture's thread (and its pcap handle) goes with it.
            var after = Self.threads(of: server.processIdentifier)
            for _ in 0..<40 where after > before {
                Thread.sleep(forTimeInterval: 0.1)
                after = Self.threads(of: server.processIdentifier)
            }
            #expect(after <= before, "threads before \(before), after \(after)")
        }
    }

    @Test("off loopback, netlab web refuses to start without a token")
    func tokenRequired() throws {
        let (server, _) = try Self.startCLI()
        server.terminate()
        server.waitUntilExit()
        let process = Process()
        process.executableURL = server.executableURL
        process.arguments = ["web", "--listen", "0.0.0.0:0"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("give --token"))
    }

    @Test("a token: without it 401, with a bearer header or ?token= the answer; off loopback the CLI requires one")
    func token() throws {
        let server = try WebServer(.init(port: 0, token: "s3cret"))
        defer { server.stop() }
        #expect(try Self.get(server.port, "/api/labs").status == 401)
        #expect(try Self.get(server.port, "/api/labs", headers: ["Authorization": "Bearer wrong"]).status == 401)
        #expect(try Self.get(server.port, "/api/labs", headers: ["Authorization": "Bearer s3cret"]).status == 200)
        #expect(try Self.get(server.port, "/api/labs?token=s3cret").status == 200)
        #expect(WebServer.isLoopback("127.0.0.1") && !WebServer.isLoopback("0.0.0.0"))
    }
}
