/// One TCP option (RFC 9293 section 3.2, RFC 7323, RFC 2018).
public enum TCPOption {
    case endOfList
    case noOperation
    case maximumSegmentSize(UInt16)
    case windowScale(UInt8)
    case sackPermitted
    /// Selective acknowledgment blocks: pairs of 32-bit left and right edges.
    case sack(UnsafeRawBufferPointer)
    case timestamps(value: UInt32, echoReply: UInt32)
    case unknown(kind: UInt8, data: UnsafeRawBufferPointer)
}

/// The options of a TCP header, read one at a time without copying.
public struct TCPOptions: Sequence, IteratorProtocol {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var offset = 0
    /// Set when an option was malformed; iteration stops there.
    public private(set) var error: PacketError?

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    public mutating func next() -> TCPOption? {
        guard offset < bytes.count else { return nil }
        let kind = bytes.u8(offset)
        switch kind {
        case 0:
            offset = bytes.count
            return .endOfList
        case 1:
            offset += 1
            return .noOperation
        default:
            guard offset + 1 < bytes.count else { return fail(kind) }
            let length = Int(bytes.u8(offset + 1))
            guard length >= 2, offset + length <= bytes.count else { return fail(kind) }
            let data = UnsafeRawBufferPointer(rebasing: bytes[(offset + 2)..<(offset + length)])
            offset += length
            switch (kind, length) {
            case (2, 4): return .maximumSegmentSize(data.u16(0))
            case (3, 3): return .windowScale(data.u8(0))
            case (4, 2): return .sackPermitted
            case (5, _) where (length - 2) % 8 == 0: return .sack(data)
            case (8, 10): return .timestamps(value: data.u32(0), echoReply: data.u32(4))
            default: return .unknown(kind: kind, data: data)
            }
        }
    }

    private mutating func fail(_ kind: UInt8) -> TCPOption? {
        error = PacketError(.tcp, .badOption(kind: kind, offset: TCPHeader.minimumLength + offset))
        offset = bytes.count
        return nil
    }
}
