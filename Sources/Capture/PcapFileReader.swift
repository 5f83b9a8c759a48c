import CPcap
import Packet
#if canImport(Glibc)
import Glibc
#endif

/// Reads pcap and pcapng files through libpcap, optionally through a BPF filter.
///
/// ```swift
/// let reader = try PcapFileReader(path: "x.pcap", filter: "udp port 4789")
/// while let packet = try reader.next() { ... }
/// ```
///
/// Not thread-safe: one reader belongs to one thread at a time.
public final class PcapFileReader {
    private let handle: OpaquePointer
    /// The file's path, for messages.
    public let path: String
    /// The link type of every record in the file.
    public let linkType: LinkType
    /// The libpcap datalink value, as the file states it.
    public let datalink: Int

    /// Opens `path`; timestamps are normalised to microseconds whatever the file stores.
    public init(path: String, filter: String? = nil) throws(CaptureError) {
        // libpcap's "error reading dump file: Is a directory" names the wrong thing.
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { throw .cannotOpen(path: path, message: "is a directory") }
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_open_offline_with_tstamp_precision(
            path, UInt32(PCAP_TSTAMP_PRECISION_MICRO), &errorBuffer)
        else {
            throw .cannotOpen(path: path, message: Self.string(errorBuffer))
        }
        let datalink = Int(pcap_datalink(handle))
        guard let linkType = LinkType(pcapValue: datalink) else {
            let name = pcap_datalink_val_to_name(Int32(datalink)).map { String(cString: $0) } ?? "unknown"
            pcap_close(handle)
            throw .unsupportedLinkType(path: path, value: datalink, name: name)
        }
        // The filter is applied before `self` is complete: once it is, a throw would run deinit
        // and close the handle a second time.
        if let filter, !filter.isEmpty {
            do {
                try Self.apply(filter: filter, to: handle)
            } catch {
                pcap_close(handle)
                throw error
            }
        }
        self.handle = handle
        self.path = path
        self.datalink = datalink
        self.linkType = linkType
    }

    deinit {
        pcap_close(handle)
    }

    /// The next record, or nil at the end of the file. Its bytes stay valid until the next call.
    public func next() throws(CaptureError) -> CapturedPacket? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let result = pcap_next_ex(handle, &header, &data)
        switch result {
        case 1:
            guard let header else { return nil }
            let h = header.pointee
            return CapturedPacket(
                seconds: Int(h.ts.tv_sec), microseconds: Int(h.ts.tv_usec), originalLength: Int(h.len),
                bytes: UnsafeRawBufferPointer(start: data, count: Int(h.caplen)))
        case PCAP_ERROR_BREAK:
            return nil
        default:
            throw .readFailed(path: path, message: String(cString: pcap_geterr(handle)))
        }
    }

    static func apply(filter: String, to handle: OpaquePointer) throws(CaptureError) {
        var program = bpf_program()
        guard pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw .badFilter(expression: filter, message: String(cString: pcap_geterr(handle)))
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw .badFilter(expression: filter, message: String(cString: pcap_geterr(handle)))
        }
    }

    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
