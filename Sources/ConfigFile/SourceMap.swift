/// Finds the line of a key in TOML text, because TOMLKit reports lines only for syntax errors.
/// Shared by every configuration file netlab reads (topologies, proxy configurations).
///
/// It follows table headers (`[a.b]`, `[[links]]` with its running index) and `key = value`
/// lines, including the keys of inline tables on the same line. Good enough to point at the
/// line a user wrote; it never decides what the file means.
public struct SourceMap: Sendable {
    private var lines: [String: Int] = [:]

    public init(_ text: String) {
        var table: [String] = []
        var arrayCounts: [String: Int] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Self.stripComment(rawLine).trimmingCharacters(in: " \t\r")
            guard !line.isEmpty else { continue }
            if line.hasPrefix("[[") {
                let path = Self.keyPath(String(line.dropFirst(2).prefix { $0 != "]" }))
                let joined = path.joined(separator: ".")
                let index = arrayCounts[joined, default: -1] + 1
                arrayCounts[joined] = index
                table = path + ["\(index)"]
                record(table, number + 1)
            } else if line.hasPrefix("[") {
                table = Self.keyPath(String(line.dropFirst().prefix { $0 != "]" }))
                record(table, number + 1)
            } else if let equals = Self.assignment(Substring(line)) {
                let key = Self.keyPath(String(line[..<equals]))
                record(table + key, number + 1)
                // Keys of inline tables on this line: `impair = { delay = "1ms" }`.
                let value = line[line.index(after: equals)...]
                if value.contains("{") {
                    for part in value.split(whereSeparator: { "{,".contains($0) }) {
                        if let inner = Self.assignment(Substring(part)) {
                            record(table + key + Self.keyPath(String(part[..<inner])), number + 1)
                        }
                    }
                }
            }
        }
    }

    /// The line of `path`, or of its nearest recorded ancestor; 0 when nothing matches.
    public func line(of path: [String]) -> Int {
        var path = path
        while !path.isEmpty {
            if let line = lines[path.joined(separator: ".")] { return line }
            path.removeLast()
        }
        return 0
    }

    private mutating func record(_ path: [String], _ line: Int) {
        let key = path.joined(separator: ".")
        if lines[key] == nil { lines[key] = line }
    }

    private static func stripComment(_ line: Substring) -> Substring {
        var inString = false
        for index in line.indices {
            let c = line[index]
            if c == "\"" { inString.toggle() }
            if c == "#" && !inString { return line[..<index] }
        }
        return line
    }

    private static func assignment(_ line: Substring) -> Substring.Index? {
        var inString = false
        for index in line.indices {
            let c = line[index]
            if c == "\"" { inString.toggle() }
            if c == "=" && !inString { return index }
        }
        return nil
    }

    /// `a."b.c".d` -> ["a", "b.c", "d"]
    static func keyPath(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var inString = false
        for c in text {
            if c == "\"" {
                inString.toggle()
            } else if c == "." && !inString {
                parts.append(current.trimmingCharacters(in: " \t"))
                current = ""
            } else {
                current.append(c)
            }
        }
        parts.append(current.trimmingCharacters(in: " \t"))
        return parts.filter { !$0.isEmpty }
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var start = startIndex
        var end = endIndex
        while start < end, set.contains(self[start]) { start = index(after: start) }
        while end > start, set.contains(self[index(before: end)]) { end = index(before: end) }
        return String(self[start..<end])
    }
}
