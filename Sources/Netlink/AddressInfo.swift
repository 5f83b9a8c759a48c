import Packet

/// One address as the kernel reports it (`ip addr`).
public struct AddressInfo: Sendable, Equatable {
    public var interfaceIndex: Int
    /// The address with its prefix length, `10.0.0.1/24`.
    public var prefix: IPPrefix
}
