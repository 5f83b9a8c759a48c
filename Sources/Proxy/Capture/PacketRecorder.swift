import Capture
import Packet
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes what the proxy forwards to pcap files through libpcap: inner packets as the TUN
/// device sees them (RAW link type) and outer datagrams as Ethernet/IP/UDP frames (the link
/// type tcpdump, Wireshark and `netlab decode` expect for VXLAN).
///
/// Workers share one recorder; writes are serialized by a lock. Capturing is for watching and
/// debugging, not for line rate: it costs a copy and a lock per packet.
final class PacketRecorder: Sendable {
    private struct Files {
        var inner: PcapFileWriter?
        var outer: PcapFileWriter?
        /// Frames for the outer file are built here: Ethernet + IP + UDP in front of the datagram.
        let scratch: UnsafeMutableRawBufferPointer
    }

    private let files: Locked<Files>
    let innerPath: String?
    let outerPath: String?

    /// Opens (truncates) the files; nil paths are not written.
    init(inner: String?, outer: String?) throws(CaptureError) {
        let innerFile = try inner.map { path throws(CaptureError) in try PcapFileWriter(path: path, linkType: .raw) }
        let outerFile = try outer.map { path throws(CaptureError) in try PcapFileWriter(path: path, linkType: .ethernet) }
        innerPath = inner
        outerPath = outer
        files = Locked(Files(inner: innerFile, outer: outerFile, scratch: .allocate(byteCount: 65_600, alignment: 16)))
    }

    deinit {
        files.withLock { $0.scratch.deallocate() }
    }

    var recordsInner: Bool { innerPath != nil }
    var recordsOuter: Bool { outerPath != nil }

    private static func now() -> (Int, Int) {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return (t.tv_sec, t.tv_nsec / 1000)
    }

    /// Records an inner IP packet.
    func inner(_ packet: UnsafeRawBufferPointer) {
        guard innerPath != nil else { return }
        let (seconds, micros) = Self.now()
        files.withLock { $0.inner?.write(packet, seconds: seconds, microseconds: micros) }
    }

    /// Records a VXLAN datagram as the frame that carried it between `source` and `destination`.
    func outer(_ datagram: UnsafeRawBufferPointer, from source: SocketEndpoint, to destination: SocketEndpoint) {
        guard outerPath != nil else { return }
        let (seconds, micros) = Self.now()
        files.withLock { f in
            guard let writer = f.outer else { return }
            let out = f.scratch
            let ip = EthernetHeader.length
            let isV6 = source.address.isIPv6
            let udp = ip + (isV6 ? IPv6Header.length : IPv4Header.minimumLength)
            let start = udp + UDPHeader.length
            guard start + datagram.count <= out.count else { return }
            do {
                try EthernetHeader.write(into: out, destination: MACAddress(rawValue: 0x0200_0000_00FE),
                                         source: MACAddress(rawValue: 0x0200_0000_00FD),
                                         etherType: isV6 ? EtherType.ipv6 : EtherType.ipv4)
                let ipBytes = UnsafeMutableRawBufferPointer(rebasing: out[ip...])
                switch (source.address, destination.address) {
                case let (.v4(s), .v4(d)):
                    try IPv4Header.write(into: ipBytes, source: s, destination: d, protocolNumber: IPProtocol.udp,
                                         totalLength: start - ip + datagram.count)
                case let (.v6(s), .v6(d)):
                    try IPv6Header.write(into: ipBytes, source: s, destination: d, nextHeader: IPProtocol.udp,
                                         payloadLength: UDPHeader.length + datagram.count)
                default:
                    return
                }
                try UDPHeader.write(into: UnsafeMutableRawBufferPointer(rebasing: out[udp...]), sourcePort: source.port,
                                    destinationPort: destination.port, payloadLength: datagram.count)
            } catch {
                return
            }
            UnsafeMutableRawBufferPointer(rebasing: out[start..<(start + datagram.count)]).copyMemory(from: datagram)
            writer.write(UnsafeRawBufferPointer(rebasing: out[..<(start + datagram.count)]), seconds: seconds, microseconds: micros)
        }
    }

    /// Pushes what libpcap buffered to the files (so a reader sees it while the proxy runs).
    func flush() {
        files.withLock { f in
            try? f.inner?.flush()
            try? f.outer?.flush()
        }
    }

    /// Flushes and closes both files.
    func close() {
        files.withLock { f in
            try? f.inner?.flush()
            try? f.outer?.flush()
            f.inner = nil
            f.outer = nil
        }
    }
}
