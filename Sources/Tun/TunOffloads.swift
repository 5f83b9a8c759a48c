/// The virtio-net offloads a TUN device can be asked for (TUNSETOFFLOAD flags).
public struct TunOffloads: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// TUN_F_CSUM: packets may arrive with their checksum unfinished (NEEDS_CSUM).
    public static let checksum = TunOffloads(rawValue: 0x01)
    /// TUN_F_TSO4: TCP/IPv4 super-packets.
    public static let tso4 = TunOffloads(rawValue: 0x02)
    /// TUN_F_TSO6: TCP/IPv6 super-packets.
    public static let tso6 = TunOffloads(rawValue: 0x04)
    /// TUN_F_TSO_ECN
    public static let tsoECN = TunOffloads(rawValue: 0x08)
    /// TUN_F_USO4 (Linux 6.2+): UDP/IPv4 super-packets.
    public static let uso4 = TunOffloads(rawValue: 0x20)
    /// TUN_F_USO6 (Linux 6.2+): UDP/IPv6 super-packets.
    public static let uso6 = TunOffloads(rawValue: 0x40)

    /// What wireguard-go asks for: checksum and TCP segmentation, plus UDP where the kernel has it.
    public static let standard: TunOffloads = [.checksum, .tso4, .tso6, .uso4, .uso6]

    public var description: String {
        var names: [String] = []
        if contains(.checksum) { names.append("csum") }
        if contains(.tso4) { names.append("tso4") }
        if contains(.tso6) { names.append("tso6") }
        if contains(.tsoECN) { names.append("tso-ecn") }
        if contains(.uso4) { names.append("uso4") }
        if contains(.uso6) { names.append("uso6") }
        return names.isEmpty ? "none" : names.joined(separator: ",")
    }
}
