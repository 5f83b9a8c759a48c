/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Multicast (224.0.0.0/4, ff00::/8), broadcast or unspecified: never a neighbour's address.
    public var isMulticastOrUnspecified: Bool {
        switch self {
        case let .v4(a): a.rawValue == 0 || a.rawValue >> 28 == 0xE || a.rawValue == .max
        case let .v6(a): (a.high == 0 && a.low == 0) || a.high >> 56 == 0xFF
        }
    }

    /// An IPv6 link-local address (fe80::/10), which every IPv6 interface has and listings
    /// leave out.
    public var isIPv6LinkLocal: Bool {
        if case let .v6(a) = self { return a.high >> 54 == 0x3FA }
        return false
    }

    /// Parses either family's text form.
    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public var isIPv6: Bool {
        if case .v6 = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case let .v4(a): a.description
        case let .v6(a): a.description
        }
    }
}

/// An address with a prefix length, as written in configuration: `10.0.0.1/24`, `fd00::1/64`.
///
/// The host bits are kept (an interface address is both an address and its subnet);
/// `network` clears them.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    public init?(address: IPAddress, length: Int) {
        guard length >= 0, length <= (address.isIPv6 ? 128 : 32) else { return nil }
        self.address = address
        self.length = length
    }

    /// Parses `ADDRESS/LENGTH`; a bare address is a host prefix (/32 or /128).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let maximum = address.isIPv6 ? 128 : 32
        var length = maximum
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCIIDigit), let parsed = Int(parts[1]),
                  parsed <= maximum
            else { return nil }
            length = parsed
        }
        self.address = address
        self.length = length
    }

    public var isIPv6: Bool { address.isIPv6 }

    /// The prefix with its host bits cleared.
    public var network: IPPrefix {
        switch address {
        case let .v4(a):
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            return IPPrefix(unchecked: .v4(IPv4Address(rawValue: a.rawValue & mask)), length: length)
        case let .v6(a):
            let (highMask, lowMask) = Self.v6Mask(length)
            return IPPrefix(unchecked: .v6(IPv6Address(high: a.high & highMask, low: a.low & lowMask)), length: length)
        }
    }

    /// True when `other` lies inside this prefix (same family).
    public func contains(_ other: IPAddress) -> Bool {
        switch (address, other) {
        case let (.v4(mine), .v4(theirs)):
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            return mine.rawValue & mask == theirs.rawValue & mask
        case let (.v6(mine), .v6(theirs)):
            let (highMask, lowMask) = Self.v6Mask(length)
            return mine.high & highMask == theirs.high & highMask && mine.low & lowMask == theirs.low & lowMask
        default:
            return false
        }
    }

    public var description: String { "\(address)/\(length)" }

    private init(unchecked address: IPAddress, length: Int) {
        self.address = address
        self.length = length
    }

    private static func v6Mask(_ length: Int) -> (UInt64, UInt64) {
        let high: UInt64 = length >= 64 ? ~0 : length == 0 ? 0 : ~UInt64(0) << UInt64(64 - length)
        let low: UInt64 = length >= 128 ? ~0 : length <= 64 ? 0 : ~UInt64(0) << UInt64(128 - length)
        return (high, low)
    }
}
