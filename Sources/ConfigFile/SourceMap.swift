/// Finds the line of a key in TOML text, because TOMLKit reports lines only for syntax errors.
/// Shared by every configuration file netlab reads (topologies, proxy configurations).
///
/// It follows table headers (`[a.b]`, `[[links]]` with its running index) and `key = value`
/// lines, including the keys of inline tables on the same line, and the elements of arrays,
/// which may run over several lines (`routes = [` then one `{ to = ..., via = ... },` a line):
/// element 2 of `routes` is `routes.2`, on the line it starts. Good enough to point at the line
/// a user wrote; it never decides what the file means.
public struct SourceMap: Sendable {
    private var lines: [String: Int] = [:]

    /// An array value being read, perhaps over several lines.
    private struct OpenArray {
        var path: [String]
        /// Bracket and brace depth inside the value; the array ends when `brackets` is 0.
        var brackets = 0
        var braces = 0
        var index = 0
        /// Whether the current element's line is recorded yet.
        var started = false
    }

    public init(_ text: String) {
        var table: [String] = []
        var arrayCounts: [String: Int] = [:]
        var array: OpenArray?
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Self.stripComment(rawLine).trimmingCharacters(in: " \t\r")
            guard !line.isEmpty else { continue }
            if var open = array {
                array = scan(Substring(line), &open, line: number + 1) ? nil : open
                continue
            }
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
                let value = line[line.index(after: equals)...]
                if value.trimmingCharacters(in: " \t").hasPrefix("[") {
                    var open = OpenArray(path: table + key)
                    if !scan(value, &open, line: number + 1) { array = open }
                } else if value.contains("{") {
                    // Keys of an inline table on this line: `impair = { delay = "1ms" }`.
                    for part in value.split(whereSeparator: { "{,".contains($0) }) {
                        if let inner = Self.assignment(Substring(part)) {
                            record(table + key + Self.keyPath(String(part[..<inner])), number + 1)
                        }
                    }
                }
            }
        }
    }

    /// Reads part of an array value on line `line`: records where each element starts, and the
    /// keys of elements that are inline tables. Returns true when the array closed.
    private mutating func scan(_ text: Substring, _ array: inout OpenArray, line: Int) -> Bool {
        var inString = false
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if c == "\"" { inString.toggle() }
            if inString {
                if !array.started, array.brackets == 1 { startElement(&array, line) }
                index = text.index(after: index)
                continue
            }
            switch c {
            case "[":
                if array.brackets == 1, array.braces == 0, !array.started { startElement(&array, line) }
                array.brackets += 1
            case "]":
                array.brackets -= 1
                if array.brackets == 0 { return true }
            case "{":
                if array.brackets == 1, array.braces == 0 {
                    if !array.started { startElement(&array, line) }
                    // An inline table is one line in TOML: its keys are on this one.
                    let body = text[text.index(after: index)...].prefix { $0 != "}" }
                    for part in body.split(separator: ",") {
                        if let equals = Self.assignment(part) {
                            record(array.path + ["\(array.index)"] + Self.keyPath(String(part[..<equals])), line)
                        }
                    }
                }
                array.braces += 1
            case "}":
                array.braces -= 1
            case ",":
                if array.brackets == 1, array.braces == 0 {
                    array.index += 1
                    array.started = false
                }
            case " ", "\t":
                break
            default:
                if array.brackets == 1, array.braces == 0, !array.started { startElement(&array, line) }
            }
            index = text.index(after: index)
        }
        return false
    }

    private mutating func startElement(_ array: inout OpenArray, _ line: Int) {
        record(array.path + ["\(array.index)"], line)
        array.started = true
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
