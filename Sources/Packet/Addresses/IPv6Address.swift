/// An IPv6 address, printed in the canonical text form of RFC 5952.
public struct IPv6Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The first 64 bits, in host order.
    public let high: UInt64
    /// The last 64 bits, in host order.
    public let low: UInt64

    /// Longest text form: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`.
    public static let maxTextLength = 45

    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Reads sixteen octets at `offset`; the caller has checked the length.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        high = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        low = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
    }

    /// Parses any RFC 4291 text form: `2001:db8::1`, `::`, `::ffff:192.0.2.1`.
    public init?(_ text: some StringProtocol) {
        var groups: [UInt16] = []
        var gap: Int? = nil
        var rest = Substring(text)
        guard !rest.isEmpty, rest.count <= 45 else { return nil }
        if rest.hasPrefix("::") {
            gap = 0
            rest = rest.dropFirst(2)
        } else if rest.hasPrefix(":") {
            return nil
        }
        while !rest.isEmpty {
            let end = rest.firstIndex(of: ":") ?? rest.endIndex
            let part = rest[rest.startIndex..<end]
            if part.contains(".") {
                // A trailing dotted quad stands for the last two groups.
                guard end == rest.endIndex, let v4 = IPv4Address(part) else { return nil }
                groups.append(UInt16(v4.rawValue >> 16))
                groups.append(UInt16(v4.rawValue & 0xFFFF))
                rest = rest[end...]
                break
            }
            guard !part.isEmpty, part.count <= 4, part.allSatisfy(\.isASCIIHexDigit),
                  let group = UInt16(part, radix: 16)
            else { return nil }
            groups.append(group)
            rest = rest[end...]
            if rest.hasPrefix("::") {
                guard gap == nil else { return nil }
                gap = groups.count
                rest = rest.dropFirst(2)
            } else if rest.hasPrefix(":") {
                rest = rest.dropFirst()
                guard !rest.isEmpty else { return nil }
            }
        }
        if let gap {
            guard groups.count <= 7 else { return nil }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        high = groups[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        low = groups[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    /// The 16-bit group `index` (0...7).
    @inlinable
    public func group(_ index: Int) -> UInt16 {
        let word = index < 4 ? high : low
        return UInt16(truncatingIfNeeded: word >> UInt64(48 - 16 * (index & 3)))
    }

    /// Writes the sixteen octets at `offset` of `buffer`.
    @inlinable
    public func write(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.storeBytes(of: high.bigEndian, toByteOffset: offset, as: UInt64.self)
        buffer.storeBytes(of: low.bigEndian, toByteOffset: offset + 8, as: UInt64.self)
    }

    /// Writes the RFC 5952 text to `out`; returns the bytes written (at most 45).
    ///
    /// Lower-case hex without leading zeros, the longest run of two or more zero groups (the
    /// first on a tie) shortened to `::`, and IPv4-mapped addresses in dotted form (section 5).
    @inlinable
    public func writeText(to out: UnsafeMutablePointer<UInt8>) -> Int {
        if high == 0, low >> 32 == 0xFFFF {
            let prefix: StaticString = "::ffff:"
            var n = 0
            prefix.withUTF8Buffer { for byte in $0 { out[n] = byte; n += 1 } }
            return n + IPv4Address(rawValue: UInt32(truncatingIfNeeded: low)).writeText(to: out + n)
        }
        var bestStart = -1
        var bestLength = 0
        var runStart = -1
        for i in 0..<8 {
            if group(i) == 0 {
                if runStart < 0 { runStart = i }
                let length = i - runStart + 1
                if length > bestLength {
                    bestLength = length
                    bestStart = runStart
                }
            } else {
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var n = 0
        var i = 0
        while i < 8 {
            if i == bestStart {
                out[n] = 0x3A
                out[n + 1] = 0x3A
                n += 2
                i += bestLength
                continue
            }
            if i > 0, i != bestStart + bestLength || bestStart < 0 {
                out[n] = 0x3A
                n += 1
            }
            n += ASCII.writeHex16(group(i), to: out + n)
            i += 1
        }
        return n
    }

    public var description: String {
        ASCII.string(capacity: Self.maxTextLength) { writeText(to: $0) }
    }
}
