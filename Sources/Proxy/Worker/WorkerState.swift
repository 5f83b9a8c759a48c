import Packet

/// What a worker changes as it forwards, kept behind one lock taken once per batch: the
/// control socket and the metrics read it between batches, and a reload swaps the peers in it.
struct WorkerState {
    let engine: ProxyEngine
    let flows: FlowTable
    var counters: ProxyCounters
    let sender: any DatagramSink
    var peerKeys: [String]
    var flowIdle: UInt64
    /// The `PathMTUMonitor` generation the engine's path MTUs come from.
    var pathGeneration = -1

    init(configuration: ProxyConfiguration, mtu: Int, neighbors: NeighborTable, sender: any DatagramSink) {
        engine = ProxyEngine(configuration: configuration, mtu: mtu, neighbors: neighbors)
        flows = FlowTable(capacity: 65_536)
        counters = ProxyCounters(peers: configuration.peers.count)
        self.sender = sender
        sender.setPeers(configuration.peers.map(\.endpoint))
        peerKeys = configuration.peers.map(ProxyEngine.key)
        flowIdle = UInt64(configuration.flowIdleTimeout * 1e9)
    }

    /// Takes new peers and routes: counters follow their peers, path MTUs are taken again.
    mutating func reconfigure(_ configuration: ProxyConfiguration) {
        let keys = configuration.peers.map(ProxyEngine.key)
        engine.reconfigure(configuration)
        sender.setPeers(configuration.peers.map(\.endpoint))
        counters = counters.remapped(from: peerKeys, to: keys)
        peerKeys = keys
        flowIdle = UInt64(configuration.flowIdleTimeout * 1e9)
        pathGeneration = -1  // peer indices changed: take the monitor's paths again
    }

    // Each packet is counted once, where it is first seen, and once where it leaves.

    /// Packets read from the TUN device (a super-packet's segments each count).
    mutating func countRead(packets: Int, bytes: Int) {
        counters.tunPacketsIn &+= UInt64(packets)
        counters.tunBytesIn &+= UInt64(bytes)
    }

    /// Inner packets sent to peer `peer`, one datagram each.
    mutating func countSent(peer: Int, packets: Int, bytes: Int) {
        counters.underlayDatagramsOut &+= UInt64(packets)
        counters.peerPacketsOut[peer] &+= UInt64(packets)
        counters.peerBytesOut[peer] &+= UInt64(bytes)
    }

    /// An inner packet received from peer `peer`.
    mutating func countReceived(peer: Int, bytes: Int) {
        counters.peerPacketsIn[peer] &+= 1
        counters.peerBytesIn[peer] &+= UInt64(bytes)
    }

    /// An inner packet handed to the TUN device.
    mutating func countWritten(bytes: Int) {
        counters.tunPacketsOut &+= 1
        counters.tunBytesOut &+= UInt64(bytes)
    }
}
