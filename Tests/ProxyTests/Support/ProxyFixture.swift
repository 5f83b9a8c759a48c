import Foundation
import Netlink
import Testing
import TestSupport

/// Commands, proxies and transfers for the proxy's namespace tests.
enum ProxyFixture {
    /// The netlab binary built beside the test bundle.
    static var netlab: String { ProcessRunner.netlab }

    /// Runs a command to completion; returns its status and its output and error together.
    @discardableResult
    static func sh(_ arguments: [String]) throws -> (Int32, String) {
        let result = try ProcessRunner.run(arguments)
        return (result.status, result.output)
    }

    /// Runs `arguments` inside `namespace`.
    @discardableResult
    static func run(in namespace: NetworkNamespace, _ arguments: [String]) throws -> (Int32, String) {
        try sh(["ip", "netns", "exec", namespace.name] + arguments)
    }

    /// Runs every command, recording a failure for each that does not succeed.
    static func setUp(_ commands: [[String]]) throws {
        for command in commands {
            let (status, output) = try sh(command)
            #expect(status == 0, "\(command.joined(separator: " ")): \(output)")
        }
    }

    /// A `netlab proxy` process in a namespace, its log captured.
    final class RunningProxy {
        let process = Process()
        let log = Pipe()
        let namespace: NetworkNamespace
        let tun: String

        init(in namespace: NetworkNamespace, config: String, tun: String = "vx0", extra: [String] = []) throws {
            self.namespace = namespace
            self.tun = tun
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ip", "netns", "exec", namespace.name, ProxyFixture.netlab, "proxy", "--config", config] + extra
            process.standardError = log
            process.standardOutput = log
            try process.run()
            var ready = false
            for _ in 0..<100 where !ready && process.isRunning {
                Thread.sleep(forTimeInterval: 0.05)
                ready = (try? ProxyFixture.run(in: namespace, [ProxyFixture.netlab, "proxy", "status", "--tun", tun]))?.0 == 0
            }
            #expect(ready, "the proxy in \(namespace.name) did not answer on its control socket")
        }

        /// `netlab proxy status --json`, decoded loosely.
        func status() throws -> [String: Any] {
            let (_, output) = try ProxyFixture.run(in: namespace, [ProxyFixture.netlab, "proxy", "status", "--tun", tun, "--json"])
            return (try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]) ?? [:]
        }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        /// SIGTERM, then the exit status and the whole log.
        func stop() -> (Int32, String) {
            if process.isRunning {
                kill(process.processIdentifier, SIGTERM)
                process.waitUntilExit()
            }
            return (process.terminationStatus, String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// Sends `bytes` bytes over TCP from `client` to `address`:`port` served in `server`,
    /// optionally slowly (`pause` seconds between 64 KiB chunks); returns what each side saw
    /// ("LENGTH SHA256"): equal when every byte arrived intact.
    static func transfer(from client: NetworkNamespace, to server: NetworkNamespace, address: String, port: Int,
                         bytes: Int, pause: Double = 0, during: (() throws -> Void)? = nil) throws -> (sent: String, received: String) {
        let family = address.contains(":") ? "socket.AF_INET6" : "socket.AF_INET"
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        receiver.arguments = ["ip", "netns", "exec", server.name, "python3", "-c", """
            import hashlib, socket
            s = socket.socket(\(family)); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("\(address)", \(port))); s.listen(1); s.settimeout(30)
            c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
            while True:
                b = c.recv(65536)
                if not b: break
                h.update(b); n += len(b)
            print(n, h.hexdigest())
            """]
        let received = Pipe()
        receiver.standardOutput = received
        try receiver.run()
        let sender = Process()
        sender.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sender.arguments = ["ip", "netns", "exec", client.name, "python3", "-c", """
            import hashlib, socket, time
            data = bytes((i * 7 + i // 251) & 255 for i in range(\(bytes)))
            deadline = time.time() + 15  # bounded: a path that never works fails the test, not the run
            while True:
                try: c = socket.create_connection(("\(address)", \(port)), timeout=5); break
                except OSError:
                    if time.time() > deadline: raise
                    time.sleep(0.05)
            for i in range(0, len(data), 65536):
                c.sendall(data[i:i + 65536])
                if \(pause) > 0: time.sleep(\(pause))
            c.close()
            print(len(data), hashlib.sha256(data).hexdigest())
            """]
        let sent = Pipe()
        sender.standardOutput = sent
        try sender.run()
        try during?()
        sender.waitUntilExit()
        receiver.waitUntilExit()
        let sentText = String(decoding: sent.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let receivedText = String(decoding: received.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (sentText.trimmingCharacters(in: .whitespacesAndNewlines), receivedText.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Two namespaces joined by a veth pair `eth0`, with underlay addresses `a` and `b`.
    static func underlay(_ tag: String, a: String, b: String, prefix: Int) throws -> (NetworkNamespace, NetworkNamespace) {
        let na = try NetworkNamespace.create("\(tag)a")
        let nb = try NetworkNamespace.create("\(tag)b")
        try setUp([
            ["ip", "-n", na.name, "link", "set", "lo", "up"], ["ip", "-n", nb.name, "link", "set", "lo", "up"],
            ["ip", "-n", na.name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", nb.name],
            ["ip", "-n", na.name, "addr", "add", "\(a)/\(prefix)", "dev", "eth0", "nodad"],
            ["ip", "-n", nb.name, "addr", "add", "\(b)/\(prefix)", "dev", "eth0", "nodad"],
            ["ip", "-n", na.name, "link", "set", "eth0", "up"], ["ip", "-n", nb.name, "link", "set", "eth0", "up"],
        ])
        return (na, nb)
    }

    /// Writes a temporary file; the caller removes it.
    static func write(_ text: String, name: String) throws -> String {
        let path = NSTemporaryDirectory() + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
