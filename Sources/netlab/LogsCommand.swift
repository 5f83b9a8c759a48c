import ArgumentParser
import Foundation
import Lab

/// `netlab logs NAME NODE [SERVICE] [-f]`
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show what a node's services (and exec commands) printed.",
        discussion: """
            Without SERVICE, every log of the node, each line prefixed with its service. The logs \
            live under /run/netlab/NAME/ and go with netlab down.

            Example:
              netlab logs containers web http
              netlab logs containers web -f
            """)

    @Argument(help: "The lab's name or topology file.")
    var lab: String

    @Argument(help: "The node.")
    var node: String

    @Argument(help: "The service (or \"exec\", \"proxy\"); all of the node's when omitted.")
    var service: String?

    @Flag(name: .shortAndLong, help: "Keep printing what is appended, until Ctrl-C or the lab goes down.")
    var follow = false

    func run() throws {
        let name = try instanceName(lab, node: node)
        guard LabState.load(name) != nil else {
            StandardOutput.error("logs: lab \(name) is not up")
            throw ExitCode(1)
        }
        let plan = ServicePlan.load(lab: name)
        var logs: [(String, String)] = (plan?.entries ?? []).filter { $0.node == node }.map { ($0.service.name, $0.log) }
        let exec = LabState.execLog(lab: name, node: node)
        if FileManager.default.fileExists(atPath: exec) { logs.append(("exec", exec)) }
        if let service {
            logs = logs.filter { $0.0 == service }
            guard !logs.isEmpty else {
                let known = (plan?.entries ?? []).filter { $0.node == node }.map(\.service.name)
                StandardOutput.error("logs: node \(node) of lab \(name) has no service \(service)"
                                     + (known.isEmpty ? "" : " (it has: \(known.joined(separator: ", ")))"))
                throw ExitCode(1)
            }
        } else if logs.isEmpty {
            StandardOutput.error("logs: node \(node) of lab \(name) has no services and no exec output")
            throw ExitCode(1)
        }
        let prefixed = logs.count > 1
        var offsets = [UInt64](repeating: 0, count: logs.count)
        var partial = [String](repeating: "", count: logs.count)
        repeat {
            for (index, (label, path)) in logs.enumerated() {
                guard let handle = FileHandle(forReadingAtPath: path) else { continue }
                let size = (try? handle.seekToEnd()) ?? 0
                // A log the supervisor trimmed starts over.
                if size < offsets[index] { offsets[index] = 0 }
                try? handle.seek(toOffset: offsets[index])
                let data = handle.readDataToEndOfFile()
                try? handle.close()
                offsets[index] += UInt64(data.count)
                guard !data.isEmpty else { continue }
                var text = partial[index] + String(decoding: data, as: UTF8.self)
                if let lastNewline = text.lastIndex(of: "\n") {
                    partial[index] = String(text[text.index(after: lastNewline)...])
                    text = String(text[...lastNewline])
                } else {
                    partial[index] = text
                    continue
                }
                if prefixed {
                    for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                        print("\(label) | \(line)")
                    }
                } else {
                    print(text, terminator: "")
                }
            }
            fflush(nil)  // every stream: `stdout` is shared mutable state to Swift 6
            if follow {
                usleep(200_000)
                if LabState.load(name) == nil { break }
            }
        } while follow
        for (index, rest) in partial.enumerated() where !rest.isEmpty {
            print(prefixed ? "\(logs[index].0) | \(rest)" : rest)
        }
    }
}
