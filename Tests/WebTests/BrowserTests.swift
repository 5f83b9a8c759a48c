import Foundation
import Lab
import Netlink
import Testing

/// The page in a real browser (headless Chromium, driven through the DevTools protocol by
/// Browser/drive.py): every node drawn, a ping's rate on its link, its packets in the capture
/// panel, a bad filter's error. Screenshots of each state go to .build/test-artifacts/. Part of
/// the web server's suite, whose tests share a lab name and a port and so run one at a time.
extension WebServerTests {
    @Test("in Chromium: the lab drawn, a ping's traffic on its link, its packets in the capture panel, a bad filter's error",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "chromium is not installed (scripts/setup.sh installs it)"))
    func pageInBrowser() throws {
        let (server, port) = try WebServerTests.startCLI()
        defer { server.terminate(); server.waitUntilExit() }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let artifacts = root.appendingPathComponent(".build/test-artifacts").path
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        try WebServerTests.withLab { _ in
            let ping = Process()
            ping.executableURL = server.executableURL
            ping.arguments = ["exec", WebServerTests.lab, "a", "--", "ping", "-c", "120", "-i", "0.25", "10.0.0.2"]
            ping.standardOutput = FileHandle.nullDevice
            try ping.run()
            defer { if ping.isRunning { ping.terminate() } }
            let steps: [[String: Any]] = [
                ["until": "document.querySelectorAll('g.node').length === 2 && document.querySelector('g.node[data-node=\"a\"]') !== null",
                 "timeout": 20, "screenshot": "\(artifacts)/web-1-drawn.png"],
                ["until": "[...document.querySelectorAll('line.link')].some(l => Number(l.dataset.pps) > 0)",
                 "timeout": 20, "screenshot": "\(artifacts)/web-2-rates.png"],
                ["eval": "openCapture('b', 'eth0')", "until": "document.getElementById('packets').textContent.includes('ICMP')",
                 "timeout": 20, "screenshot": "\(artifacts)/web-3-capture.png"],
                ["eval": "document.getElementById('filter').value = 'not a filter ((('; document.getElementById('apply').click()",
                 "until": "document.getElementById('capture-error').textContent", "timeout": 15, "screenshot": "\(artifacts)/web-4-bad-filter.png"],
            ]
            let plan = NSTemporaryDirectory() + "netlab-browser-\(getpid()).json"
            try JSONSerialization.data(withJSONObject: steps).write(to: URL(fileURLWithPath: plan))
            defer { try? FileManager.default.removeItem(atPath: plan) }
            let driver = Process()
            driver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            driver.arguments = ["python3", root.appendingPathComponent("Tests/WebTests/Browser/drive.py").path,
                                "http://127.0.0.1:\(port)/#lab=\(WebServerTests.lab)", plan]
            let out = Pipe()
            driver.standardOutput = out
            try driver.run()
            let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            driver.waitUntilExit()
            #expect(driver.terminationStatus == 0, "\(lines)")
            #expect(lines.count == 4, "\(lines)")
            #expect(lines.last?.contains("syntax error") == true, "\(lines)")
            for name in ["web-1-drawn", "web-2-rates", "web-3-capture", "web-4-bad-filter"] {
                #expect(FileManager.default.fileExists(atPath: "\(artifacts)/\(name).png"))
            }
        }
    }
}
