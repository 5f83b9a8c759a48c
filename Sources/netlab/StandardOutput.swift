#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Decode

/// Writes an `OutputBuffer` to a file descriptor, retrying short writes.
enum StandardOutput {
    /// Writes and empties `buffer`; false when the reader went away (EPIPE) or writing failed.
    @discardableResult
    static func flush(_ buffer: OutputBuffer, to fd: Int32 = 1) -> Bool {
        let bytes = buffer.bytes
        guard let base = bytes.baseAddress else { return true }
        var done = 0
        while done < bytes.count {
            let n = write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                buffer.removeAll()
                return false
            }
            done += n
        }
        buffer.removeAll()
        return true
    }

    /// Prints a one-line error to standard error.
    static func error(_ message: String) {
        let line = "netlab: \(message)\n"
        var text = line
        text.withUTF8 { bytes in
            _ = write(2, bytes.baseAddress, bytes.count)
        }
    }
}
