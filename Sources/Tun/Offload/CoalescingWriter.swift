import Packet

/// The write side of a TUN device's offloads (wireguard-go's `handleGRO`): plain packets
/// queued for a device are merged, consecutive TCP segments of a flow into one TSO
/// super-packet and, where the device took USO, consecutive UDP datagrams into one USO
/// super-packet, so a run costs one write instead of one per packet.
///
/// One per queue; the runs are built in buffers made once.
final class CoalescingWriter {
    private var tcp = TCPCoalescer()
    private var udp = UDPCoalescer()
    /// The device takes USO super-packets: UDP runs are merged too.
    private let coalescesUDP: Bool

    init(coalescesUDP: Bool) {
        self.coalescesUDP = coalescesUDP
    }

    /// Adds a packet to its run; runs it cannot join go to `emit` first.
    func add(_ packet: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer, VirtioNetHeader) -> Void) {
        if coalescesUDP, IPPacketShape(packet)?.isUDP == true {
            guard !udp.append(packet) else { return }
            udp.finish(emit)
            if !udp.append(packet) { emit(packet, VirtioNetHeader()) }
        } else {
            guard !tcp.append(packet) else { return }
            tcp.finish(emit)
            if !tcp.append(packet) { emit(packet, VirtioNetHeader()) }
        }
    }

    /// Hands every open run to `emit`.
    func flush(_ emit: (UnsafeRawBufferPointer, VirtioNetHeader) -> Void) {
        tcp.finish(emit)
        udp.finish(emit)
    }
}
