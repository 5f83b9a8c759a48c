/// One record of a capture: its timestamp, lengths, and a view of its bytes.
///
/// `bytes` belongs to the reader and is valid only until the reader moves on: decode it in
/// place, or copy what must outlive the read.
public struct CapturedPacket {
    /// Seconds since the Unix epoch.
    public let seconds: Int
    /// Microseconds within the second.
    public let microseconds: Int
    /// Bytes captured (the length of `bytes`).
    public var capturedLength: Int { bytes.count }
    /// The packet's length on the wire, which may exceed what was captured.
    public let originalLength: Int
    /// The captured bytes.
    public let bytes: UnsafeRawBufferPointer

    public init(seconds: Int, microseconds: Int, originalLength: Int, bytes: UnsafeRawBufferPointer) {
        self.seconds = seconds
        self.microseconds = microseconds
        self.originalLength = originalLength
        self.bytes = bytes
    }
}
