import Tun

/// What a worker reads inner packets from and writes them to: a TUN queue, or in tests a
/// device fed bytes by hand (as SwiftNIO's `EmbeddedChannel` stands in for a socket).
protocol PacketDevice: AnyObject {
    /// Reads what waits into `batch`, super-packets whole; returns how many.
    func readSuperPackets(into batch: PacketBatch) throws(TunError) -> Int
    /// Writes one plain packet now.
    func write(_ packet: UnsafeRawBufferPointer) throws(TunError)
    /// Queues a plain packet; runs of a flow may leave as one super-packet at `flush`.
    func enqueue(_ packet: UnsafeRawBufferPointer) throws(TunError)
    func flush() throws(TunError)
}

extension TunQueue: PacketDevice {}
