/// One root or child queueing discipline (`tc qdisc`).
public struct QdiscInfo: Sendable, Equatable {
    public var interfaceIndex: Int
    public var kind: String
    public var handle: UInt32
    public var parent: UInt32
}
