import Packet

/// An IP address and UDP port, written `192.0.2.1:4789` or `[2001:db8::1]:4789`.
public struct SocketEndpoint: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses the text form; IPv6 addresses need brackets.
    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard case .v6? = IPAddress(host) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let address = IPAddress(host), !portText.isEmpty, portText.allSatisfy(\.isNumber),
              let port = Int(portText), (1...65535).contains(port)
        else { return nil }
        self.address = address
        self.port = UInt16(port)
    }

    public var description: String {
        address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
