#if canImport(Glibc)
import Glibc
#endif

/// Runs a closure on a new POSIX thread and waits for it.
///
/// Network namespace membership belongs to a thread (`setns` changes only the caller), so work
/// inside a namespace runs on a thread made for it, which dies afterwards: a Swift concurrency
/// pool thread must never change namespace, or unrelated tasks later run in the wrong one.
package enum FreshThread {
    fileprivate final class Box<T>: @unchecked Sendable {
        let body: @Sendable () throws -> T
        var result: Result<T, any Error>?
        init(_ body: @escaping @Sendable () throws -> T) { self.body = body }
    }

    package static func run<T>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = Box(body)
        let context = Unmanaged.passRetained(box as AnyObject).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let object = Unmanaged<AnyObject>.fromOpaque(raw).takeRetainedValue()
            (object as? any Runnable)?.runBody()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<AnyObject>.fromOpaque(context).release()
            throw NetlinkError.system("start a namespace thread", rc)
        }
        pthread_join(thread, nil)
        guard let result = box.result else {
            throw NetlinkError("run on a namespace thread", reason: "the thread produced no result")
        }
        return try result.get()
    }
}

private protocol Runnable: AnyObject { func runBody() }

extension FreshThread.Box: Runnable {
    fileprivate func runBody() { result = Result { try body() } }
}
