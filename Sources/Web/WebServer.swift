import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `netlab web`: the running labs, live, in a browser. Serves the page and its API over HTTP/1.1
/// with SwiftNIO on one event loop thread; anything that waits on the kernel (netlink, a
/// namespace, a capture) runs on threads of its own, never on the event loop.
///
/// Bounds: 64 connections, 8 live captures at once (each a thread and a pcap handle, released
/// when its client goes away), idle connections closed after 60 s, and a stream whose client
/// does not read loses events rather than growing a buffer.
public final class WebServer: Sendable {
    /// Where to listen and who may ask.
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        /// Required of every request when set (`Authorization: Bearer TOKEN` or `?token=`).
        public var token: String?

        public init(host: String = "127.0.0.1", port: Int = 8080, token: String? = nil) {
            self.host = host
            self.port = port
            self.token = token
        }
    }

    static let maximumConnections = 64
    static let maximumCaptures = 8
    static let idleTimeout = TimeAmount.seconds(60)

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The port it listens on (the one asked for, or the kernel's choice for port 0).
    public var port: Int { channel.localAddress?.port ?? 0 }

    public init(_ options: Options) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connections = Atomic<Int>(0)
        let context = WebContext(token: options.token)
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 64)
                .childChannelOption(.writeBufferWaterMark, value: .init(low: 64 * 1024, high: 256 * 1024))
                .childChannelInitializer { channel in
                    guard connections.add(1, ordering: .relaxed).newValue <= Self.maximumConnections else {
                        connections.subtract(1, ordering: .relaxed)
                        return channel.close()
                    }
                    channel.closeFuture.whenComplete { _ in connections.subtract(1, ordering: .relaxed) }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false)
                        try channel.pipeline.syncOperations.addHandler(WebHandler(context: context))
                    }
                }
                .bind(host: options.host, port: options.port)
                .wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    /// Closes the listening socket and every connection (ending their streams and captures).
    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// Whether `host` is a loopback address, where no token is needed.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// What every connection's handler shares.
final class WebContext: Sendable {
    let token: String?
    let sampler = InterfaceSampler()
    /// Live captures now.
    let captures = Atomic<Int>(0)

    init(token: String?) {
        self.token = token
    }
}
