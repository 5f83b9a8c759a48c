import TOMLKit

/// A table of a configuration file and the key path it sits at (`["nodes", "a", "proxy"]`):
/// what parsers hold instead of the TOML library's types, so that every value read through a
/// `ConfigReader` knows its own line, and the TOML library stays behind this module.
public struct ConfigTable {
    let table: TOMLTable
    /// Where the table sits: its problems are reported at this path.
    public let path: [String]

    init(_ table: TOMLTable, path: [String]) {
        self.table = table
        self.path = path
    }

    /// The table's keys, in the file's order.
    public var keys: [String] { table.keys }

    /// The raw value at `key`, for values that may take several types (a limit given as a
    /// number or a string); nil when the key is absent.
    public subscript(key: String) -> ConfigValue? {
        table[key].map { ConfigValue($0, path: path + [key]) }
    }
}

/// One value of a configuration file with its key path, read as whichever type it is.
public struct ConfigValue {
    let value: any TOMLValueConvertible
    public let path: [String]

    init(_ value: any TOMLValueConvertible, path: [String]) {
        self.value = value
        self.path = path
    }

    public var string: String? { value.string }
    public var int: Int? { value.int }
    public var double: Double? { value.double }
    public var bool: Bool? { value.bool }
    public var table: ConfigTable? { value.table.map { ConfigTable($0, path: path) } }
    /// The elements, each at its index's path.
    public var array: [ConfigValue]? {
        value.array.map { array in array.enumerated().map { ConfigValue($0.element, path: path + ["\($0.offset)"]) } }
    }

    /// The TOML type's name, for messages ("must be a string, not integer").
    public var typeName: String { "\(value.type)" }
}
