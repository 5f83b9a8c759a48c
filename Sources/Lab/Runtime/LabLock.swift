import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One `up` or `down` of a lab at a time: an exclusive lock on `/run/netlab/LAB.lock`.
///
/// Two `netlab up` of one file at once used to race each other into "File exists" halfway.
/// Now the second waits (saying, after a second, which PID holds the lab) and then finds the
/// lab up; different labs never wait for each other. The kernel releases the lock when its
/// holder exits, however it exits, so a killed `up` never leaves the lab locked.
///
/// The holder removes the file as it lets go, so no lock file outlives its lab. A waiter that
/// then gets the lock holds it on a file no longer there; it sees that (the path is gone or is
/// another inode) and starts again on the current file.
public final class LabLock {
    /// Why the lock could not be taken.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    private let descriptor: Int32
    private let path: String

    /// Takes the lock of `lab`, waiting at most `timeout` seconds; `waiting` hears once, after
    /// a second, who holds it.
    public init(lab: String, timeout: Double = 120, waiting: (String) -> Void = { _ in }) throws(Failure) {
        guard TopologyParser.isValidInstanceName(lab) else { throw Failure(description: "'\(lab)' is not a lab name") }
        let path = "\(LabState.directory)/\(lab).lock"
        self.path = path
        try? FileManager.default.createDirectory(atPath: LabState.directory, withIntermediateDirectories: true)
        let start = Date()
        var told = false
        var fd: Int32 = -1
        while true {
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                guard errno == EWOULDBLOCK || errno == EINTR else {
                    close(fd)
                    throw Failure(description: "lock \(path): \(String(cString: strerror(errno)))")
                }
                let waited = Date().timeIntervalSince(start)
                if waited >= 1, !told {
                    waiting("waiting for \(Self.holder(fd).map { "PID \($0)" } ?? "another netlab"), which is bringing lab \(lab) up or down")
                    told = true
                }
                if waited >= timeout {
                    let holder = Self.holder(fd).map { "PID \($0)" } ?? "another netlab"
                    close(fd)
                    throw Failure(description: "lab \(lab) is still locked by \(holder) after \(Int(timeout)) s; try again when it is done")
                }
                usleep(50_000)
            }
            if Self.isCurrent(fd, path) { break }
            close(fd)  // its holder removed it as we waited: lock the file that is there now
        }
        // Who holds it, for the next one to wait.
        _ = ftruncate(fd, 0)
        let text = Array("\(getpid())\n".utf8)
        _ = pwrite(fd, text, text.count, 0)
        descriptor = fd
    }

    deinit {
        unlink(path)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Whether `fd` is still the file at `path`.
    private static func isCurrent(_ fd: Int32, _ path: String) -> Bool {
        var open = stat()
        var named = stat()
        return fstat(fd, &open) == 0 && stat(path, &named) == 0 && open.st_ino == named.st_ino && open.st_dev == named.st_dev
    }

    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
