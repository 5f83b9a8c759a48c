import Dispatch
import Foundation
import Synchronization

/// Runs the helper programs of the tests (iproute2, ping, tcpdump, the netlab binary) to
/// completion and collects what they print: the one process runner every test target shares.
public enum ProcessRunner {
    /// A finished program: its exit status and its output.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        /// Standard output, then standard error.
        public var output: String { stdout + stderr }
    }

    /// Runs `arguments`: through `/usr/bin/env` (a program found on PATH), or as arguments of
    /// `program` when given. `input` is written to its standard input, which is otherwise empty.
    @discardableResult
    public static func run(_ arguments: [String], input: String? = nil, program: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program ?? "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inputPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
        try process.run()
        if let input {
            inputPipe.fileHandleForWriting.write(Data(input.utf8))
            try inputPipe.fileHandleForWriting.close()
        }
        // Both pipes at once: a program that fills one while the other is read first would
        // block on it for ever (1024 validation errors fill stderr's 64 KiB).
        let errors = Mutex(Data())
        let done = DispatchSemaphore(value: 0)
        let errorHandle = err.fileHandleForReading
        Thread {
            let data = errorHandle.readDataToEndOfFile()
            errors.withLock { $0 = data }
            done.signal()
        }.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        let e = errors.withLock { $0 }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    /// Runs `arguments` and requires exit status 0; returns standard output.
    @discardableResult
    public static func must(_ arguments: [String]) throws -> String {
        let result = try run(arguments)
        guard result.status == 0 else {
            throw ProcessFailure(command: arguments.joined(separator: " "), status: result.status, stderr: result.stderr)
        }
        return result.stdout
    }

    /// The netlab binary built beside the test bundle.
    public static var netlab: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("netlab").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return ".build/debug/netlab"
    }
}

/// A program that `ProcessRunner.must` required to succeed exited otherwise.
public struct ProcessFailure: Error, CustomStringConvertible {
    public let command: String
    public let status: Int32
    public let stderr: String
    public var description: String { "`\(command)` exited \(status): \(stderr)" }

    public init(command: String, status: Int32, stderr: String) {
        self.command = command
        self.status = status
        self.stderr = stderr
    }
}
