/// The link-layer header type of a capture or a device: what the first byte of a frame is.
///
/// Values are pcap LINKTYPE/DLT numbers, so a libpcap datalink value maps straight across.
public enum LinkType: Sendable, Equatable {
    /// Ethernet II (LINKTYPE_ETHERNET, 1).
    case ethernet
    /// Raw IPv4 or IPv6, what a TUN device gives (LINKTYPE_RAW 101, DLT_RAW 12 or 14).
    case raw
    /// Raw IPv4 only (LINKTYPE_IPV4, 228).
    case ipv4
    /// Raw IPv6 only (LINKTYPE_IPV6, 229).
    case ipv6
    /// Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113).
    case linuxSLL
    /// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276), what `tcpdump -i any` writes.
    case linuxSLL2

    /// Maps a pcap datalink value; nil when the project does not decode that link type.
    public init?(pcapValue: Int) {
        switch pcapValue {
        case 1: self = .ethernet
        case 12, 14, 101: self = .raw
        case 228: self = .ipv4
        case 229: self = .ipv6
        case 113: self = .linuxSLL
        case 276: self = .linuxSLL2
        default: return nil
        }
    }

    /// The LINKTYPE value written to capture files.
    public var pcapValue: Int {
        switch self {
        case .ethernet: 1
        case .raw: 101
        case .ipv4: 228
        case .ipv6: 229
        case .linuxSLL: 113
        case .linuxSLL2: 276
        }
    }

    /// The DLT value libpcap's handles take (it differs from LINKTYPE only for RAW).
    public var dltValue: Int {
        self == .raw ? 12 : pcapValue
    }
}
