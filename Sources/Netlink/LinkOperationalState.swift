/// A link's operational state (RFC 2863, IFLA_OPERSTATE), as `ip link` shows it in
/// "state UP".
public enum LinkOperationalState: UInt8, Sendable, CustomStringConvertible {
    case unknown = 0
    case notPresent = 1
    case down = 2
    case lowerLayerDown = 3
    case testing = 4
    case dormant = 5
    case up = 6

    /// A value the kernel does not define reads as `.unknown`.
    public init(kernel value: UInt8) {
        self = LinkOperationalState(rawValue: value) ?? .unknown
    }

    public var description: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .notPresent: "NOTPRESENT"
        case .down: "DOWN"
        case .lowerLayerDown: "LOWERLAYERDOWN"
        case .testing: "TESTING"
        case .dormant: "DORMANT"
        case .up: "UP"
        }
    }
}
