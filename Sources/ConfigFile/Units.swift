/// Parses the units people write in lab files: durations, rates and percentages, as tc does.
public enum Units {
    /// `10ms`, `500us`, `1.5s`, `2000` (microseconds) -> microseconds.
    public static func microseconds(_ text: String) -> Int? {
        let (number, unit) = split(text)
        guard let value = number, value >= 0 else { return nil }
        let scale: Double
        switch unit {
        case "", "us", "usec": scale = 1
        case "ms", "msec": scale = 1_000
        case "s", "sec": scale = 1_000_000
        default: return nil
        }
        return Int((value * scale).rounded())
    }

    /// `10mbit`, `1gbit`, `500kbit`, `64000bit`, `100mbps` (megabytes per second) -> bits per second.
    public static func bitsPerSecond(_ text: String) -> Int? {
        let (number, unit) = split(text)
        guard let value = number, value > 0 else { return nil }
        let scale: Double
        switch unit {
        case "bit": scale = 1
        case "kbit": scale = 1_000
        case "mbit": scale = 1_000_000
        case "gbit": scale = 1_000_000_000
        case "bps": scale = 8
        case "kbps": scale = 8_000
        case "mbps": scale = 8_000_000
        case "gbps": scale = 8_000_000_000
        default: return nil
        }
        return Int(value * scale)
    }

    /// `128M`, `512K`, `1G`, `1.5G`, `4096` (bytes) -> bytes; K, M, G and T are powers of 1024,
    /// as the kernel's own memory limits count (`128MB`, `128MiB` mean the same).
    public static func bytes(_ text: String) -> UInt64? {
        let (number, unit) = split(text)
        guard let value = number, value >= 0 else { return nil }
        let exponent: Double
        switch unit.uppercased() {
        case "", "B": exponent = 0
        case "K", "KB", "KIB": exponent = 1
        case "M", "MB", "MIB": exponent = 2
        case "G", "GB", "GIB": exponent = 3
        case "T", "TB", "TIB": exponent = 4
        default: return nil
        }
        let bytes = value * pow1024(exponent)
        guard bytes < 9.2e18 else { return nil }
        return UInt64(bytes.rounded())
    }

    private static func pow1024(_ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= 1024 }
        return result
    }

    /// `1%`, `0.5%`, `2` -> percent.
    public static func percent(_ text: String) -> Double? {
        let trimmed = text.hasSuffix("%") ? String(text.dropLast()) : text
        return Double(trimmed)
    }

    private static func split(_ text: String) -> (Double?, String) {
        let lower = text.lowercased()
        let digits = lower.prefix { $0.isNumber || $0 == "." }
        return (Double(digits), String(lower.dropFirst(digits.count)).trimmingCharacters(in: " "))
    }
}

/// Reads a whole text file without Foundation, and says in a few words why it could not.
public enum FileText {
    /// Why a file could not be read: printed as `PATH: REASON` ("is a directory", "no such file
    /// or directory", "permission denied"), the one line a user needs instead of a list of
    /// sections missing from an empty text.
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Configuration files are small; a larger one is a mistake (a capture, a disk image).
    public static let sizeLimit = 16 << 20

    public static func read(_ path: String) throws(Failure) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { throw Failure(path: path, reason: reason(errno)) }
        if info.st_mode & S_IFMT == S_IFDIR { throw Failure(path: path, reason: "is a directory") }
        guard let file = fopen(path, "r") else { throw Failure(path: path, reason: reason(errno)) }
        defer { fclose(file) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            data.append(contentsOf: buffer[..<n])
            if data.count > sizeLimit { throw Failure(path: path, reason: "larger than \(sizeLimit >> 20) MiB: not a configuration file") }
        }
        if ferror(file) != 0 { throw Failure(path: path, reason: reason(errno)) }
        return String(decoding: data, as: UTF8.self)
    }

    /// strerror's text, lower-cased as the rest of a message: "no such file or directory".
    private static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}

#if canImport(Glibc)
import Glibc
#endif
