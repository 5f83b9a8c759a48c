import Packet

/// A growable byte buffer that formatters write text into, reused from packet to packet.
///
/// Formatting a million packets should not build a million `String`s: this buffer is allocated
/// once, grows only when a line does not fit, and is written out in large chunks.
public final class OutputBuffer {
    /// The mutable state lives behind a pointer: a stored `var` of a class is checked for
    /// exclusive access at run time on every write, which cost more than the formatting itself
    /// (measured with callgrind: 40% of `decode --json` instructions in swift_beginAccess).
    @usableFromInline
    struct State {
        @usableFromInline var storage: UnsafeMutablePointer<UInt8>
        @usableFromInline var capacity: Int
        @usableFromInline var used: Int
    }

    @usableFromInline let state: UnsafeMutablePointer<State>

    /// Bytes written and not yet drained.
    @inlinable public var count: Int { state.pointee.used }

    public init(capacity: Int = 1 << 20) {
        let capacity = Swift.max(capacity, 256)
        state = .allocate(capacity: 1)
        state.initialize(to: State(storage: .allocate(capacity: capacity), capacity: capacity, used: 0))
    }

    deinit {
        state.pointee.storage.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Makes room for `extra` more bytes and returns where they go.
    @inlinable @inline(__always)
    func tail(_ extra: Int) -> UnsafeMutablePointer<UInt8> {
        if state.pointee.used + extra > state.pointee.capacity { grow(extra) }
        return state.pointee.storage + state.pointee.used
    }

    /// Marks `n` bytes after the old end as written.
    @inlinable @inline(__always)
    func advance(_ n: Int) {
        state.pointee.used += n
    }

    /// Makes room for `extra` more bytes.
    @inlinable @inline(__always)
    public func reserve(_ extra: Int) {
        _ = tail(extra)
    }

    @usableFromInline
    func grow(_ extra: Int) {
        let used = state.pointee.used
        var newCapacity = state.pointee.capacity * 2
        while used + extra > newCapacity { newCapacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: state.pointee.storage, count: used)
        state.pointee.storage.deallocate()
        state.pointee.storage = bigger
        state.pointee.capacity = newCapacity
    }

    @inlinable
    public func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes in
            guard let base = bytes.baseAddress else { return }
            tail(bytes.count).update(from: base, count: bytes.count)
            advance(bytes.count)
        }
    }

    @inlinable
    public func append(byte: UInt8) {
        tail(1).pointee = byte
        advance(1)
    }

    /// Appends a `String` (off the hot path: error messages, names).
    public func append(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            tail(bytes.count).update(from: base, count: bytes.count)
            advance(bytes.count)
        }
    }

    @inlinable
    public func appendDecimal<T: BinaryInteger>(_ value: T) {
        if value < 0 {
            append(byte: 0x2D)
            appendDecimal(UInt64(-Int64(value)))
        } else {
            appendDecimal(UInt64(value))
        }
    }

    @inlinable
    public func appendDecimal(_ value: UInt64) {
        var digits = 1
        var v = value
        while v >= 10 {
            v /= 10
            digits += 1
        }
        let out = tail(digits)
        v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            out[i] = 0x30 &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
        }
        advance(digits)
    }

    /// Appends `value` as `0x` and `digits` lower-case hex digits.
    @inlinable
    public func appendHex(_ value: UInt64, digits: Int) {
        let out = tail(2 + digits)
        out[0] = 0x30
        out[1] = 0x78
        for i in 0..<digits {
            out[2 + i] = ASCII.hexDigit(UInt8(truncatingIfNeeded: value >> UInt64(4 * (digits - 1 - i))) & 0xF)
        }
        advance(2 + digits)
    }

    /// Appends `value` with a fixed number of decimal digits, zero-padded.
    @inlinable
    public func appendPadded(_ value: Int, digits: Int) {
        let out = tail(digits)
        var v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            out[i] = 0x30 &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
        }
        advance(digits)
    }

    @inlinable
    public func append(_ address: MACAddress) {
        advance(address.writeText(to: tail(MACAddress.maxTextLength)))
    }

    @inlinable
    public func append(_ address: IPv4Address) {
        advance(address.writeText(to: tail(IPv4Address.maxTextLength)))
    }

    @inlinable
    public func append(_ address: IPv6Address) {
        advance(address.writeText(to: tail(IPv6Address.maxTextLength)))
    }

    /// Appends raw bytes as colon-separated hex (addresses of unusual lengths).
    public func appendHexBytes(_ bytes: UnsafeRawBufferPointer) {
        let out = tail(bytes.count * 3)
        var n = 0
        for (i, byte) in bytes.enumerated() {
            if i > 0 {
                out[n] = 0x3A
                n += 1
            }
            out[n] = ASCII.hexDigit(byte >> 4)
            out[n + 1] = ASCII.hexDigit(byte & 0xF)
            n += 2
        }
        advance(n)
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
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: state.pointee.storage, count: state.pointee.used)
    }

    /// Forgets the buffered bytes, keeping the memory.
    public func removeAll() {
        state.pointee.used = 0
    }

    /// The buffered text as a `String`, and empties the buffer (for tests and small outputs).
    public func drainString() -> String {
        defer { removeAll() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
