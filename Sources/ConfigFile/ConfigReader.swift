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

    /// Parses `text` as TOML; a syntax error is thrown with its line. The root table's path is
    /// empty.
    public static func table(_ text: String, file: String) throws(ConfigErrors) -> ConfigTable {
        do {
            return ConfigTable(try TOMLTable(string: text), path: [])
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

    /// Records every key of `t` that is not `allowed`.
    public mutating func checkKeys(_ t: ConfigTable, allowed: [String]) {
        for key in t.keys where !allowed.contains(key) {
            fail(t.path + [key], "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
        }
    }

    public mutating func string(_ t: ConfigTable, _ key: String) -> String? {
        guard let value = t[key] else { return nil }
        guard let s = value.string else {
            fail(value.path, "must be a string, not \(value.typeName)")
            return nil
        }
        return s
    }

    public mutating func bool(_ t: ConfigTable, _ key: String) -> Bool? {
        guard let value = t[key] else { return nil }
        guard let b = value.bool else {
            fail(value.path, "must be true or false, not \(value.typeName)")
            return nil
        }
        return b
    }

    public mutating func int(_ t: ConfigTable, _ key: String, range: ClosedRange<Int>) -> Int? {
        guard let value = t[key] else { return nil }
        guard let i = value.int else {
            fail(value.path, "must be an integer, not \(value.typeName)")
            return nil
        }
        guard range.contains(i) else {
            fail(value.path, "\(i) is out of range \(range.lowerBound)-\(range.upperBound)")
            return nil
        }
        return i
    }

    public mutating func intArray(_ t: ConfigTable, _ key: String, range: ClosedRange<Int>) -> [Int]? {
        guard let value = t[key] else { return nil }
        guard let array = value.array else {
            fail(value.path, "must be an array of integers")
            return nil
        }
        var result: [Int] = []
        for element in array {
            guard let i = element.int, range.contains(i) else {
                fail(value.path, "every value must be an integer in \(range.lowerBound)-\(range.upperBound)")
                return nil
            }
            result.append(i)
        }
        return result
    }

    public mutating func stringArray(_ t: ConfigTable, _ key: String) -> [String]? {
        guard let value = t[key] else { return nil }
        guard let array = value.array else {
            fail(value.path, "must be an array of strings, not \(value.typeName)")
            return nil
        }
        var result: [String] = []
        for element in array {
            guard let s = element.string else {
                fail(value.path, "every element must be a string")
                return nil
            }
            result.append(s)
        }
        return result
    }

    /// The table at `key`, its path extended by the key.
    public mutating func table(_ t: ConfigTable, _ key: String) -> ConfigTable? {
        guard let value = t[key] else { return nil }
        guard let table = value.table else {
            fail(value.path, "must be a table, not \(value.typeName)")
            return nil
        }
        return table
    }

    /// An array of tables (`[[peers]]`): each element at its index's path, or a problem.
    public mutating func tables(_ t: ConfigTable, _ key: String) -> [ConfigTable] {
        guard let value = t[key] else { return [] }
        guard let array = value.array else {
            fail(value.path, "must be an array of tables ([[\(key)]])")
            return []
        }
        var result: [ConfigTable] = []
        for element in array {
            if let table = element.table { result.append(table) } else { fail(element.path, "must be a table") }
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
