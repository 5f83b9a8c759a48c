/// Small ASCII writers shared by the address and packet formatters.
///
/// They write into caller-provided memory so that a formatter can print millions of addresses
/// without building a `String` for each.
public enum ASCII {
    @inlinable @inline(__always)
    public static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 &+ nibble : 0x57 &+ nibble
    }

    /// Writes `value` in decimal; returns the number of bytes written (at most 20).
    @inlinable
    public static func writeDecimal(_ value: UInt64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var digits = 1
        var v = value
        while v >= 10 {
            v /= 10
            digits += 1
        }
        v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            out[i] = 0x30 &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
        }
        return digits
    }

    /// Writes `value` in lower-case hex without leading zeros; returns the bytes written.
    @inlinable
    public static func writeHex16(_ value: UInt16, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var started = false
        var n = 0
        for shift in stride(from: 12, through: 0, by: -4) {
            let nibble = UInt8((value >> UInt16(shift)) & 0xF)
            if nibble != 0 || started || shift == 0 {
                out[n] = hexDigit(nibble)
                n += 1
                started = true
            }
        }
        return n
    }

    /// Builds a `String` from a writer, for `description`s off the hot path.
    static func string(capacity: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) -> String {
        String(unsafeUninitializedCapacity: capacity) { buffer in
            guard let base = buffer.baseAddress else { return 0 }
            return write(base)
        }
    }
}
