/// Why a capture file or device could not be opened, read, filtered or written.
public enum CaptureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or is not a capture; `message` is libpcap's reason.
    case cannotOpen(path: String, message: String)
    /// The capture's link type is not one netlab decodes.
    case unsupportedLinkType(path: String, value: Int, name: String)
    /// The filter expression did not compile.
    case badFilter(expression: String, message: String)
    /// Reading failed partway (a truncated or corrupt file).
    case readFailed(path: String, message: String)
    /// A capture file could not be created or written.
    case writeFailed(path: String, message: String)
    /// A live capture could not be started on a device.
    case cannotCapture(device: String, message: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, message):
            return message.contains(path) ? message : "\(path): \(message)"
        case let .unsupportedLinkType(path, value, name):
            return "\(path): unsupported link type \(name) (\(value)); netlab decodes EN10MB, RAW, LINUX_SLL and LINUX_SLL2"
        case let .badFilter(expression, message):
            return "bad filter '\(expression)': \(message)"
        case let .readFailed(path, message):
            return "\(path): read error: \(message)"
        case let .writeFailed(path, message):
            return "\(path): \(message)"
        case let .cannotCapture(device, message):
            return "\(device): \(message)"
        }
    }
}
