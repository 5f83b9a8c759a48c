import Packet

/// One captured frame as a formatter sees it: its place in the capture, timestamps, lengths.
public struct FramedPacket {
    /// 1-based index in the capture.
    public let number: Int
    public let seconds: Int
    public let microseconds: Int
    /// Length on the wire; `bytes.count` is what was captured.
    public let originalLength: Int
    public let linkType: LinkType
    public let bytes: UnsafeRawBufferPointer

    public init(number: Int, seconds: Int, microseconds: Int, originalLength: Int, linkType: LinkType,
                bytes: UnsafeRawBufferPointer) {
        self.number = number
        self.seconds = seconds
        self.microseconds = microseconds
        self.originalLength = originalLength
        self.linkType = linkType
        self.bytes = bytes
    }
}

/// Turns a frame into one line of output.
///
/// Formatters never fail: a malformed packet prints what could be decoded and says why it stopped.
public protocol PacketFormatter {
    func format(_ packet: FramedPacket, into out: OutputBuffer)
}
