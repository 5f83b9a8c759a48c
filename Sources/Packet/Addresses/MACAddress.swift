/// A 48-bit IEEE 802 MAC address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    /// The six octets in transmission order, in the low 48 bits (first octet most significant).
    public let rawValue: UInt64

    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)
    public static let zero = MACAddress(rawValue: 0)

    /// Longest text form: `aa:bb:cc:dd:ee:ff`.
    public static let maxTextLength = 17

    @inlinable
    public init(rawValue: UInt64) {
        self.rawValue = rawValue & 0xFFFF_FFFF_FFFF
    }

    /// Reads six octets at `offset`; the caller has checked the length.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        let high = UInt64(bytes.u16(offset))
        let low = UInt64(bytes.u32(offset + 2))
        self.rawValue = high << 32 | low
    }

    public init(_ octets: [UInt8]) {
        precondition(octets.count == 6, "a MAC address has six octets")
        self.rawValue = octets.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (also with `-` separators).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard part.count <= 2, let octet = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(octet)
        }
        self.rawValue = value
    }

    /// The octets in transmission order.
    public var octets: [UInt8] {
        (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> UInt64(40 - 8 * $0)) }
    }

    /// True for group (multicast and broadcast) addresses.
    public var isMulticast: Bool { rawValue >> 40 & 1 == 1 }

    /// Writes the octets at `offset` of `buffer` (which must have room).
    @inlinable
    public func write(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.setU16(UInt16(truncatingIfNeeded: rawValue >> 32), at: offset)
        buffer.setU32(UInt32(truncatingIfNeeded: rawValue), at: offset + 2)
    }

    /// Writes the text form (17 bytes) to `out`; returns the bytes written.
    @inlinable
    public func writeText(to out: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        for i in 0..<6 {
            let octet = UInt8(truncatingIfNeeded: rawValue >> UInt64(40 - 8 * i))
            if i > 0 {
                out[n] = 0x3A
                n += 1
            }
            out[n] = ASCII.hexDigit(octet >> 4)
            out[n + 1] = ASCII.hexDigit(octet & 0xF)
            n += 2
        }
        return n
    }

    public var description: String {
        ASCII.string(capacity: Self.maxTextLength) { writeText(to: $0) }
    }
}
