import Packet

/// A growable byte buffer that formatters write text into, reused from packet to packet.
///
/// Formatting a million packets should not build a million `String`s: this buffer is allocated
/// once, grows only when a line does not fit, and is written out in large chunks.
public final class OutputBuffer {
    @usableFromInline var storage: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    /// Bytes written and not yet drained.
    @usableFromInline var used = 0
    public var count: Int { used }

    public init(capacity: Int = 1 << 20) {
        self.capacity = Swift.max(capacity, 256)
        storage = .allocate(capacity: self.capacity)
    }

    deinit {
        storage.deallocate()
    }

    /// Makes room for `extra` more bytes.
    @inlinable @inline(__always)
    public func reserve(_ extra: Int) {
        if used + extra > capacity { grow(extra) }
    }

    @usableFromInline
    func grow(_ extra: Int) {
        var newCapacity = capacity * 2
        while used + extra > newCapacity { newCapacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: storage, count: used)
        storage.deallocate()
        storage = bigger
        capacity = newCapacity
    }

    @inlinable
    public func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes in
            guard let base = bytes.baseAddress else { return }
            reserve(bytes.count)
            (storage + used).update(from: base, count: bytes.count)
            used += bytes.count
        }
    }

    @inlinable
    public func append(byte: UInt8) {
        reserve(1)
        storage[used] = byte
        used += 1
    }

    /// Appends a `String` (off the hot path: error messages, names).
    public func append(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            reserve(bytes.count)
            (storage + used).update(from: base, count: bytes.count)
            used += bytes.count
        }
    }

    @inlinable
    public func appendDecimal<T: BinaryInteger>(_ value: T) {
        reserve(21)
        if value < 0 {
            storage[used] = 0x2D
            used += 1
            used += ASCII.writeDecimal(UInt64(-Int64(value)), to: storage + used)
        } else {
            used += ASCII.writeDecimal(UInt64(value), to: storage + used)
        }
    }

    /// Appends `value` as `0x` and `digits` lower-case hex digits.
    @inlinable
    public func appendHex(_ value: UInt64, digits: Int) {
        reserve(2 + digits)
        storage[used] = 0x30
        storage[used + 1] = 0x78
        used += 2
        for i in stride(from: digits - 1, through: 0, by: -1) {
            storage[used] = ASCII.hexDigit(UInt8(truncatingIfNeeded: value >> UInt64(4 * i)) & 0xF)
            used += 1
        }
    }

    /// Appends `value` with a fixed number of decimal digits, zero-padded.
    @inlinable
    public func appendPadded(_ value: Int, digits: Int) {
        reserve(digits)
        var v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            storage[used + i] = 0x30 &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
        }
        used += digits
    }

    @inlinable
    public func append(_ address: MACAddress) {
        reserve(MACAddress.maxTextLength)
        used += address.writeText(to: storage + used)
    }

    @inlinable
    public func append(_ address: IPv4Address) {
        reserve(IPv4Address.maxTextLength)
        used += address.writeText(to: storage + used)
    }

    @inlinable
    public func append(_ address: IPv6Address) {
        reserve(IPv6Address.maxTextLength)
        used += address.writeText(to: storage + used)
    }

    /// Appends raw bytes as colon-separated hex (addresses of unusual lengths).
    public func appendHexBytes(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count * 3)
        for (i, byte) in bytes.enumerated() {
            if i > 0 { storage[used] = 0x3A; used += 1 }
            storage[used] = ASCII.hexDigit(byte >> 4)
            storage[used + 1] = ASCII.hexDigit(byte & 0xF)
            used += 2
        }
    }

    /// Appends `text` as a JSON string literal, quotes included.
    public func appendJSONString(_ text: String) {
        append(byte: 0x22)
        for byte in text.utf8 {
            switch byte {
            case 0x22: append("\\\"")
            case 0x5C: append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0..<0x20:
                append("\\u00")
                append(byte: ASCII.hexDigit(byte >> 4))
                append(byte: ASCII.hexDigit(byte & 0xF))
            default: append(byte: byte)
            }
        }
        append(byte: 0x22)
    }

    /// The buffered bytes, for writing out.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: used) }

    /// Forgets the buffered bytes, keeping the memory.
    public func removeAll() {
        used = 0
    }

    /// The buffered text as a `String`, and empties the buffer (for tests and small outputs).
    public func drainString() -> String {
        defer { used = 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}
