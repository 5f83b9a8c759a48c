import TOMLKit

/// Typed, line-aware access to a TOML configuration file, collecting every problem instead of
/// stopping at the first.
///
/// Values are read through TOMLKit's table API rather than `Codable`: Codable silently ignores
/// unknown keys, reports type errors without a line, and traps on integers that do not fit a
/// narrow type. Here every integer is read as `Int` and range-checked, and every problem carries
/// the line of its key (from `SourceMap`).
public struct ConfigReader {
    public let file: String
    public let map: SourceMap
    /// Every problem found so far.
    public private(set) var errors: [ConfigError] = []

    public init(text: String, file: String) {
        self.file = file
        self.map = SourceMap(text)
    }

    /// Parses `text` as TOML; a syntax error is thrown with its line.
    public static func table(_ text: String, file: String) throws(ConfigErrors) -> TOMLTable {
        do {
            return try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigErrors(errors: [ConfigError(file: file, line: error.source.begin.line, key: "",
                                                    message: "TOML syntax: \(error.description)")])
        } catch {
            throw ConfigErrors(errors: [ConfigError(file: file, line: 0, key: "", message: "TOML: \(error)")])
        }
    }

    /// Records a problem at `path`.
    public mutating func fail(_ path: [String], _ message: String) {
        // A key with a dot in it (an interface called "eth0.10") is quoted, as TOML writes it.
        let key = path.map { $0.contains(".") ? "\"\($0)\"" : $0 }.joined(separator: ".")
        errors.append(ConfigError(file: file, line: map.line(of: path), key: key, message: message))
    }

    /// Throws every recorded problem, in line order, if there is any.
    public func check() throws(ConfigErrors) {
        if !errors.isEmpty { throw ConfigErrors(errors: errors.sorted { $0.line < $1.line }) }
    }

    public mutating func checkKeys(_ t: TOMLTable, _ path: [String], allowed: [String]) {
        for key in t.keys where !allowed.contains(key) {
            fail(path + [key], "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
        }
    }

    public mutating func string(_ t: TOMLTable, _ key: String, _ path: [String]) -> String? {
        guard let value = t[key] else { return nil }
        guard let s = value.string else {
            fail(path + [key], "must be a string, not \(value.type)")
            return nil
        }
        return s
    }

    public mutating func bool(_ t: TOMLTable, _ key: String, _ path: [String]) -> Bool? {
        guard let value = t[key] else { return nil }
        guard let b = value.bool else {
            fail(path + [key], "must be true or false, not \(value.type)")
            return nil
        }
        return b
    }

    public mutating func int(_ t: TOMLTable, _ key: String, _ path: [String], range: ClosedRange<Int>) -> Int? {
        guard let value = t[key] else { return nil }
        guard let i = value.int else {
            fail(path + [key], "must be an integer, not \(value.type)")
            return nil
        }
        guard range.contains(i) else {
            fail(path + [key], "\(i) is out of range \(range.lowerBound)-\(range.upperBound)")
            return nil
        }
        return i
    }

    public mutating func intArray(_ t: TOMLTable, _ key: String, _ path: [String], range: ClosedRange<Int>) -> [Int]? {
        guard let value = t[key] else { return nil }
        guard let array = value.array else {
            fail(path + [key], "must be an array of integers")
            return nil
        }
        var result: [Int] = []
        for element in array {
            guard let i = element.int, range.contains(i) else {
                fail(path + [key], "every value must be an integer in \(range.lowerBound)-\(range.upperBound)")
                return nil
            }
            result.append(i)
        }
        return result
    }

    public mutating func stringArray(_ t: TOMLTable, _ key: String, _ path: [String]) -> [String]? {
        guard let value = t[key] else { return nil }
        guard let array = value.array else {
            fail(path + [key], "must be an array of strings, not \(value.type)")
            return nil
        }
        var result: [String] = []
        for element in array {
            guard let s = element.string else {
                fail(path + [key], "every element must be a string")
                return nil
            }
            result.append(s)
        }
        return result
    }

    public mutating func table(_ t: TOMLTable, _ key: String, _ path: [String]) -> TOMLTable? {
        guard let value = t[key] else { return nil }
        guard let table = value.table else {
            fail(path + [key], "must be a table, not \(value.type)")
            return nil
        }
        return table
    }

    /// An array of tables (`[[peers]]`): each element with its path, or a problem.
    public mutating func tables(_ t: TOMLTable, _ key: String, _ path: [String]) -> [(TOMLTable, [String])] {
        guard let value = t[key] else { return [] }
        guard let array = value.array else {
            fail(path + [key], "must be an array of tables ([[\(key)]])")
            return []
        }
        var result: [(TOMLTable, [String])] = []
        for (index, element) in array.enumerated() {
            let elementPath = path + [key, "\(index)"]
            if let table = element.table { result.append((table, elementPath)) } else { fail(elementPath, "must be a table") }
        }
        return result
    }

    /// Checks a Linux interface name (at most 15 bytes, no '/', ':' or spaces).
    public mutating func checkInterfaceName(_ name: String, _ path: [String]) {
        if name.utf8.count > 15 {
            fail(path, "interface name '\(name)' is \(name.utf8.count) bytes; Linux allows 15")
        } else if name.isEmpty || name.contains("/") || name.contains(":") || name.contains(where: \.isWhitespace)
            || name == "." || name == ".."
        {
            fail(path, "'\(name)' is not an interface name")
        }
    }
}
