/// A view of a UDP datagram (RFC 768): the 8-byte header and its payload.
public struct UDPHeader {
    /// The datagram, from the source port to the end of the IP payload that was captured.
    public let bytes: UnsafeRawBufferPointer

    public static let length = 8
    /// Where the checksum sits in the header.
    public static let checksumOffset = 6

    /// Wraps bytes the checks have already accepted (`LayerStack` rebuilds its views this way).
    @inlinable
    init(validated bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) throws(PacketError) {
        try self.init(checking: bytes)
    }

    /// The checks behind `init(_:)`, always inlined: `LayerStack` walks a whole frame in one
    /// function and wants them in line, where `LayerWalker` is faster with them called.
    @inlinable @inline(__always)
    init(checking bytes: UnsafeRawBufferPointer) throws(PacketError) {
        guard bytes.count >= Self.length else {
            throw PacketError(.udp, .truncated(needed: Self.length, available: bytes.count))
        }
        self.bytes = bytes
    }

    @inlinable public var sourcePort: UInt16 { bytes.u16(0) }
    @inlinable public var destinationPort: UInt16 { bytes.u16(2) }
    /// The length field: header plus data.
    @inlinable public var length: Int { Int(bytes.u16(4)) }
    @inlinable public var checksum: UInt16 { bytes.u16(6) }
    /// The data after the header, up to the end of the IP payload.
    @inlinable public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[Self.length...]) }

    /// The checksum over the `length` bytes the header announces, with the pseudo-header.
    ///
    /// nil when it cannot be judged: a fragment, bytes not captured, or (IPv4 only) a zero
    /// checksum, which means "none". Over IPv6 a zero checksum is an error (RFC 8200 8.1).
    @inlinable
    public func checksumStatus(in context: IPContext) -> Bool? {
        if checksum == 0 { return context.isIPv6 ? false : nil }
        guard length >= Self.length else { return context.isFragment ? nil : false }
        return context.verify(bytes, covered: length, pseudoHeader: IPProtocol.udp)
    }

    /// Writes the header for `payloadLength` bytes of data that follow it in `buffer`; with a
    /// context the checksum is computed over them, without one it is left 0 (allowed over IPv4,
    /// and for tunnels over IPv6 by RFC 6935).
    @inlinable @discardableResult
    public static func write(
        into buffer: UnsafeMutableRawBufferPointer, sourcePort: UInt16, destinationPort: UInt16,
        payloadLength: Int, checksumContext: IPContext? = nil
    ) throws(PacketError) -> Int {
        let total = length + payloadLength
        guard payloadLength >= 0, total <= 0xFFFF else { throw PacketError(.udp, .valueOutOfRange(payloadLength)) }
        guard buffer.count >= (checksumContext == nil ? length : total) else {
            throw PacketError(.udp, .noRoom(needed: total, available: buffer.count))
        }
        buffer.setU16(sourcePort, at: 0)
        buffer.setU16(destinationPort, at: 2)
        buffer.setU16(UInt16(total), at: 4)
        buffer.setU16(0, at: 6)
        if let context = checksumContext {
            var sum = context.pseudoHeaderSum(protocolNumber: IPProtocol.udp, length: total)
            sum.add(UnsafeRawBufferPointer(rebasing: buffer[..<total]))
            let value = sum.value
            buffer.setU16(value == 0 ? 0xFFFF : value, at: 6)
        }
        return length
    }

    /// Sets the length field (header plus data) of the header at the start of `buffer`; the
    /// checksum is left to the caller.
    @inlinable
    public static func setLength(_ length: Int, in buffer: UnsafeMutableRawBufferPointer) {
        guard buffer.count >= Self.length, (Self.length...0xFFFF).contains(length) else { return }
        buffer.setU16(UInt16(length), at: 4)
    }
}
