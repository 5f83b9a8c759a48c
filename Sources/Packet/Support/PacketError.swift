/// Why a header could not be read: the layer, and what was wrong with it.
///
/// Views throw this (typed, so no existential box is allocated) instead of trapping, so that a
/// malformed packet can be counted and dropped by the caller.
public struct PacketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was wrong with the header.
    public enum Fault: Equatable, Sendable {
        /// Fewer bytes were available than the header needs.
        case truncated(needed: Int, available: Int)
        /// The IP version nibble does not match the header kind.
        case badVersion(UInt8)
        /// IPv4 IHL below 5 words.
        case headerLengthTooSmall(Int)
        /// IPv4 IHL*4 larger than the total length field.
        case headerPastTotalLength(headerLength: Int, totalLength: Int)
        /// TCP data offset below 5 words.
        case dataOffsetTooSmall(Int)
        /// TCP data offset past the end of the segment.
        case dataOffsetPastSegment(dataOffset: Int, segmentLength: Int)
        /// A TCP option whose length runs past the options area or is below 2.
        case badOption(kind: UInt8, offset: Int)
        /// A destination buffer too small for what a builder writes.
        case noRoom(needed: Int, available: Int)
        /// A field value a builder cannot encode (for example a VNI over 24 bits).
        case valueOutOfRange(Int)
        /// A frame with more headers than `LayerStack.capacity`.
        case tooManyLayers(Int)
    }

    /// The layer whose header is at fault.
    public let layer: LayerKind
    /// What was wrong.
    public let fault: Fault

    @inlinable
    public init(_ layer: LayerKind, _ fault: Fault) {
        self.layer = layer
        self.fault = fault
    }

    public var description: String {
        let name = layer.rawValue
        switch fault {
        case let .truncated(needed, available):
            return "\(name): truncated header (\(available) of \(needed) bytes captured)"
        case let .badVersion(version):
            return "\(name): bad IP version \(version)"
        case let .headerLengthTooSmall(ihl):
            return "\(name): header length \(ihl) words is below the minimum of 5"
        case let .headerPastTotalLength(header, total):
            return "\(name): header length \(header) bytes exceeds total length \(total)"
        case let .dataOffsetTooSmall(words):
            return "\(name): data offset \(words) words is below the minimum of 5"
        case let .dataOffsetPastSegment(offset, segment):
            return "\(name): data offset \(offset) bytes exceeds the segment's \(segment) bytes"
        case let .badOption(kind, offset):
            return "\(name): malformed option \(kind) at offset \(offset)"
        case let .noRoom(needed, available):
            return "\(name): buffer has \(available) bytes, header needs \(needed)"
        case let .valueOutOfRange(value):
            return "\(name): value \(value) is out of range"
        case let .tooManyLayers(capacity):
            return "\(name): more than \(capacity) layers in one frame"
        }
    }
}
