import Crypto
import Foundation

/// The SHA-256 of a topology file, as `up` prints and records it: hosts that run shares of one
/// lab from different versions of its file show different digests in `netlab status`.
public enum TopologyDigest {
    /// The first 16 hex digits of the file's SHA-256 (what a person compares), nil when the file
    /// cannot be read.
    public static func of(file: String) -> String? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        return SHA256.hash(data: data).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
