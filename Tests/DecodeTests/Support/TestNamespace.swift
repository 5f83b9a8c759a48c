import TestSupport
import Foundation

/// A network namespace made for one test with iproute2, removed by `remove()` (call it in a
/// `defer`). Names carry the test process's PID so that parallel runs never collide, and
/// `sweepStale()` removes what a killed run left behind.
struct TestNamespace {
    static let prefix = "nlt"
    let name: String

    init(_ role: String) throws {
        name = "\(Self.prefix)\(getpid())\(role)"
        _ = try? ProcessRunner.run(["ip", "netns", "del", name])
        try ProcessRunner.must(["ip", "netns", "add", name])
        try exec(["ip", "link", "set", "lo", "up"])
    }

    @discardableResult
    func exec(_ command: [String]) throws -> String {
        try ProcessRunner.must(["ip", "netns", "exec", name] + command)
    }

    func remove() {
        _ = try? ProcessRunner.run(["ip", "netns", "del", name])
    }

    /// Deletes namespaces of this prefix whose creating process is gone.
    static func sweepStale() {
        guard let list = try? ProcessRunner.run(["ip", "netns", "list"]).stdout else { return }
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(prefix) else { continue }
            let digits = name.dropFirst(prefix.count).prefix { $0.isNumber }
            if let pid = Int32(digits), kill(pid, 0) != 0 {
                _ = try? ProcessRunner.run(["ip", "netns", "del", name])
            }
        }
    }
}

/// tcpdump writing a capture file inside a namespace; started and stopped by PID.
final class TcpdumpCapture {
    let process = Process()
    let path: String
    private let errors = Pipe()

    init(namespace: TestNamespace, interface: String, path: String, filter: [String] = []) throws {
        self.path = path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace.name, "tcpdump", "-i", interface, "-U", "-n",
                             "--immediate-mode", "-w", path] + filter
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        // tcpdump says "listening on" once the socket is bound; wait for it (bounded).
        var seen = ""
        let deadline = Date().addingTimeInterval(10)
        while !seen.contains("listening on"), Date() < deadline, process.isRunning {
            let data = errors.fileHandleForReading.availableData
            seen += String(decoding: data, as: UTF8.self)
        }
    }

    /// Stops tcpdump (SIGINT, as a user would) and waits for it; idempotent.
    ///
    /// libpcap's poll does not always wake for the signal (seen with `-i any` in immediate
    /// mode), so after two seconds it is killed: with `-U` every packet is already on disk.
    func stop() {
        let pid = process.processIdentifier
        if process.isRunning { kill(pid, SIGINT) }
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}
