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

/// Reads a whole text file without Foundation.
public enum FileText {
    public static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            data.append(contentsOf: buffer[..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
