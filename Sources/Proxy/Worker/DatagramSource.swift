/// Where a worker's underlay datagrams come from: a socket read in batches, or in tests
/// datagrams handed over by hand.
protocol DatagramSource: AnyObject {
    /// Calls `body` with each datagram waiting (GRO batches already cut) and its sender;
    /// returns how many there were.
    func receive(_ body: (UnsafeMutableRawBufferPointer, SocketEndpoint) -> Void) -> Int
}

/// An underlay socket read through a `DatagramReceiver`: one per worker.
final class SocketDatagramSource: DatagramSource {
    private let socket: UnderlaySocket
    private let receiver = DatagramReceiver(capacity: 32)

    init(_ socket: UnderlaySocket) {
        self.socket = socket
    }

    func receive(_ body: (UnsafeMutableRawBufferPointer, SocketEndpoint) -> Void) -> Int {
        receiver.receive(from: socket, body)
    }
}
