/// An IPv4 address.
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address in host order (`192.0.2.1` is `0xC000_0201`).
    public let rawValue: UInt32

    /// Longest text form: `255.255.255.255`.
    public static let maxTextLength = 15

    @inlinable
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Reads four octets at `offset`; the caller has checked the length.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        self.rawValue = bytes.u32(offset)
    }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text (`192.0.2.1`); rejects leading zeros, which some tools read as octal.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit),
                  !(part.count > 1 && part.first == "0"),
                  let octet = UInt8(part)
            else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.rawValue = value
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Writes the four octets in network order at `offset` of `buffer`.
    @inlinable
    public func write(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.setU32(rawValue, at: offset)
    }

    /// Writes the dotted-quad text to `out`; returns the bytes written (at most 15).
    @inlinable
    public func writeText(to out: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        for i in 0..<4 {
            if i > 0 {
                out[n] = 0x2E
                n += 1
            }
            n += ASCII.writeDecimal(UInt64(rawValue >> UInt32(24 - 8 * i) & 0xFF), to: out + n)
        }
        return n
    }

    public var description: String {
        ASCII.string(capacity: Self.maxTextLength) { writeText(to: $0) }
    }
}

extension Character {
    @usableFromInline var isASCIIDigit: Bool { isASCII && isNumber }
    @usableFromInline var isASCIIHexDigit: Bool { isASCII && isHexDigit }
}
