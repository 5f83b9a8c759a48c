import Packet

/// One route of the main table as the kernel reports it (`ip route`).
public struct RouteInfo: Sendable, Equatable {
    /// nil for the default route.
    public var destination: IPPrefix?
    public var gateway: IPAddress?
    public var interfaceIndex: Int?
    public var isIPv6: Bool

    /// `default` or the prefix, as `ip route` prints it.
    public var destinationText: String { destination.map(\.description) ?? "default" }
}
