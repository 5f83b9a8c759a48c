/// The Internet checksum (RFC 1071) with incremental update (RFC 1624).
///
/// Sums are kept in a 64-bit accumulator over native-order 64-bit loads and folded at the end:
/// the one's complement sum is byte-order independent (RFC 1071 section 2(B)), so one byte swap
/// at the end gives the network-order result. A 1500-byte packet takes 188 loads.
public struct InternetChecksum: Sendable {
    /// The running one's complement sum, not yet folded, in native byte order.
    @usableFromInline var sum: UInt64

    @inlinable
    public init() {
        sum = 0
    }

    /// Adds `bytes` as if they started at an even offset of the checksummed data.
    @inlinable
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var acc = sum
        var carry: UInt64 = 0
        var offset = 0
        let count = bytes.count
        // Four independent adds per iteration; carries are collected and added once.
        while offset + 32 <= count {
            let a = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let b = base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
            let c = base.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)
            let d = base.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)
            var (r, o) = acc.addingReportingOverflow(a)
            carry &+= o ? 1 : 0
            (r, o) = r.addingReportingOverflow(b)
            carry &+= o ? 1 : 0
            (r, o) = r.addingReportingOverflow(c)
            carry &+= o ? 1 : 0
            (r, o) = r.addingReportingOverflow(d)
            carry &+= o ? 1 : 0
            acc = r
            offset += 32
        }
        while offset + 8 <= count {
            let (r, o) = acc.addingReportingOverflow(base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            carry &+= o ? 1 : 0
            acc = r
            offset += 8
        }
        if offset < count {
            // The tail, zero-padded at its end in memory order.
            var tail: UInt64 = 0
            withUnsafeMutableBytes(of: &tail) { t in
                for i in 0..<(count - offset) { t[i] = base.load(fromByteOffset: offset + i, as: UInt8.self) }
            }
            let (r, o) = acc.addingReportingOverflow(tail)
            carry &+= o ? 1 : 0
            acc = r
        }
        let (r, o) = acc.addingReportingOverflow(carry)
        sum = o ? r &+ 1 : r
    }

    /// Adds a 16-bit value given in host order, as if it stood at an even offset.
    @inlinable
    public mutating func add(_ value: UInt16) {
        let (r, o) = sum.addingReportingOverflow(UInt64(value.bigEndian))
        sum = o ? r &+ 1 : r
    }

    /// Adds a 32-bit value given in host order, as two 16-bit words at an even offset.
    @inlinable
    public mutating func add(_ value: UInt32) {
        let (r, o) = sum.addingReportingOverflow(UInt64(value.bigEndian))
        sum = o ? r &+ 1 : r
    }

    /// The folded 16-bit one's complement sum, in host order.
    @inlinable
    public var folded: UInt16 {
        var s = (sum & 0xFFFF_FFFF) &+ (sum >> 32)
        s = (s & 0xFFFF_FFFF) &+ (s >> 32)
        s = (s & 0xFFFF) &+ (s >> 16)
        s = (s & 0xFFFF) &+ (s >> 16)
        s = (s & 0xFFFF) &+ (s >> 16)
        // The sum is of native-order words; reading it as big-endian gives the network value.
        return UInt16(bigEndian: UInt16(truncatingIfNeeded: s))
    }

    /// The checksum field value (the complement of the sum), in host order.
    @inlinable
    public var value: UInt16 { ~folded }

    /// True when the data summed included a correct checksum field.
    @inlinable
    public var isValid: Bool { folded == 0xFFFF }

    /// The checksum of `bytes` alone, in host order.
    @inlinable
    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(bytes)
        return sum.value
    }

    /// Updates `checksum` for a 16-bit field changing from `old` to `new` (RFC 1624, eqn. 3).
    @inlinable
    public static func update(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        var s = UInt32(~checksum) + UInt32(~old) + UInt32(new)
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        return ~UInt16(truncatingIfNeeded: s)
    }
}
