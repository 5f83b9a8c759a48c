/// Where a worker's VXLAN datagrams go: the batching `DatagramSender`, or in tests a sink
/// that keeps them for inspection.
protocol DatagramSink: AnyObject {
    /// The peers' endpoints, by the index the engine uses.
    func setPeers(_ endpoints: [SocketEndpoint])
    /// Queues a datagram (or, with `segmentSize`, a run of them end to end) until `flush`;
    /// its bytes must stay put until then.
    func enqueue(_ datagram: UnsafeRawBufferPointer, peer: Int, flowHash: UInt32, segmentSize: Int)
    /// Sends one datagram now (neighbour replies and requests).
    func sendNow(_ datagram: UnsafeRawBufferPointer, peer: Int)
    func flush()
    /// Datagrams sent and failed since the last call.
    func take() -> DatagramSender.Outcome
}

extension DatagramSender: DatagramSink {}
