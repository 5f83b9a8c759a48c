import CPcap
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// A live capture on one device through libpcap, in immediate mode.
///
/// Open it on a thread inside the device's network namespace (libpcap finds devices by name
/// in the caller's namespace); read it from that thread. `next(timeout:)` polls first,
/// because in immediate mode `pcap_next_ex` blocks forever when the link is idle.
public final class LiveCapture {
    private let handle: OpaquePointer
    private let descriptor: Int32
    public let device: String
    public let linkType: LinkType

    public init(device: String, snapLength: Int = 262_144, promiscuous: Bool = true, filter: String? = nil) throws(CaptureError) {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_create(device, &errorBuffer) else {
            throw .cannotCapture(device: device, message: PcapFileReader.string(errorBuffer))
        }
        pcap_set_snaplen(handle, Int32(snapLength))
        pcap_set_promisc(handle, promiscuous ? 1 : 0)
        pcap_set_immediate_mode(handle, 1)
        pcap_set_timeout(handle, 100)
        let rc = pcap_activate(handle)
        guard rc >= 0 else {
            let message = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            throw .cannotCapture(device: device, message: message)
        }
        let datalink = Int(pcap_datalink(handle))
        guard let linkType = LinkType(pcapValue: datalink) else {
            pcap_close(handle)
            throw .unsupportedLinkType(path: device, value: datalink, name: "link type \(datalink)")
        }
        if let filter, !filter.isEmpty {
            do { try PcapFileReader.apply(filter: filter, to: handle) } catch {
                pcap_close(handle)
                throw error
            }
        }
        pcap_setnonblock(handle, 1, &errorBuffer)
        self.descriptor = pcap_get_selectable_fd(handle)
        self.handle = handle
        self.device = device
        self.linkType = linkType
    }

    deinit {
        pcap_close(handle)
    }

    /// The next packet, or nil if none arrived within `milliseconds`.
    public func next(timeout milliseconds: Int32) throws(CaptureError) -> CapturedPacket? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        var result = pcap_next_ex(handle, &header, &data)
        if result == 0 {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, milliseconds) > 0 else { return nil }
            result = pcap_next_ex(handle, &header, &data)
        }
        switch result {
        case 1:
            guard let header else { return nil }
            let h = header.pointee
            return CapturedPacket(seconds: Int(h.ts.tv_sec), microseconds: Int(h.ts.tv_usec), originalLength: Int(h.len),
                                  bytes: UnsafeRawBufferPointer(start: data, count: Int(h.caplen)))
        case 0:
            return nil
        default:
            throw .cannotCapture(device: device, message: String(cString: pcap_geterr(handle)))
        }
    }
}
