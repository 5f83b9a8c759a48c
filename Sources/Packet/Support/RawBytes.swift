/// Big-endian field access for the views.
///
/// Every view checks its length once when it is made; after that these reads go straight to
/// memory. `loadUnaligned` keeps them legal on any alignment (a header after a 14-byte Ethernet
/// header is never 4-byte aligned).
extension UnsafeRawBufferPointer {
    @inlinable @inline(__always)
    func u8(_ offset: Int) -> UInt8 {
        self[offset]
    }

    @inlinable @inline(__always)
    func u16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    func u32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// The bytes in `range`, clamped to this buffer (never traps on a bad range).
    @inlinable @inline(__always)
    func clamped(from start: Int, to end: Int) -> UnsafeRawBufferPointer {
        let lower = Swift.min(Swift.max(start, 0), count)
        let upper = Swift.min(Swift.max(end, lower), count)
        return UnsafeRawBufferPointer(rebasing: self[lower..<upper])
    }
}

extension UnsafeMutableRawBufferPointer {
    @inlinable @inline(__always)
    func setU8(_ value: UInt8, at offset: Int) {
        self[offset] = value
    }

    @inlinable @inline(__always)
    func setU16(_ value: UInt16, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inlinable @inline(__always)
    func setU32(_ value: UInt32, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }
}

extension UnsafeRawBufferPointer {
    /// `count` bytes from `start`, for a range the caller has already checked against `count`.
    @inlinable @inline(__always)
    func unchecked(_ start: Int, count length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: baseAddress.map { $0 + start }, count: length)
    }
}
