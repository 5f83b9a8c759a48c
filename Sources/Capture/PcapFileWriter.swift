import CPcap
import Packet

/// Writes packets to a pcap file through libpcap, readable by tcpdump, Wireshark and
/// `netlab decode`.
public final class PcapFileWriter {
    private let dead: OpaquePointer
    private let dumper: OpaquePointer
    /// The file's path, for messages.
    public let path: String

    /// Creates (or truncates) `path` for frames of `linkType`.
    public init(path: String, linkType: LinkType, snapLength: Int = 262_144) throws(CaptureError) {
        guard let dead = pcap_open_dead(Int32(linkType.dltValue), Int32(snapLength)) else {
            throw .writeFailed(path: path, message: "libpcap could not allocate a handle")
        }
        guard let dumper = pcap_dump_open(dead, path) else {
            let message = String(cString: pcap_geterr(dead))
            pcap_close(dead)
            throw .writeFailed(path: path, message: message)
        }
        self.dead = dead
        self.dumper = dumper
        self.path = path
    }

    deinit {
        pcap_dump_close(dumper)
        pcap_close(dead)
    }

    /// Appends one record.
    public func write(_ bytes: UnsafeRawBufferPointer, seconds: Int, microseconds: Int, originalLength: Int? = nil) {
        var header = pcap_pkthdr()
        header.ts.tv_sec = seconds
        header.ts.tv_usec = microseconds
        header.caplen = UInt32(bytes.count)
        header.len = UInt32(originalLength ?? bytes.count)
        pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &header,
                  bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
    }

    /// Pushes buffered records to the file.
    public func flush() throws(CaptureError) {
        guard pcap_dump_flush(dumper) == 0 else {
            throw .writeFailed(path: path, message: "flush failed")
        }
    }
}
