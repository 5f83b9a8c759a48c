import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Serves `GET /metrics` (Prometheus text format) over HTTP/1.1 with SwiftNIO, on one event
/// loop thread of its own.
///
/// Memory stays bounded whatever a client does. A client that pipelines requests and never
/// reads the answers grew the proxy by ~72 MB per MB of requests: every request was answered
/// into the connection's outbound buffer. Now an answer is written only while the unsent bytes
/// are under the write watermark; until then NIO's pipelining handler holds the next request
/// and stops reading, so the kernel's socket buffers push back on the client. Reads are small
/// (4 KiB), connections are capped, and idle or stuck ones are closed.
final class MetricsServer: Sendable {
    /// Connections at once; more are closed as they come.
    static let maximumConnections = 64
    /// A connection that neither sends nor reads for this long is closed.
    static let idleTimeout = TimeAmount.seconds(30)
    /// A connection whose unsent answer does not drain for this long is closed.
    static let stuckTimeout = TimeAmount.seconds(10)

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    init(listen: SocketEndpoint, daemon: ProxyDaemon) throws {
        let metrics = ProxyMetrics()
        let connections = Atomic<Int>(0)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 64)
                .childChannelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
                .childChannelOption(.maxMessagesPerRead, value: 1)
                .childChannelOption(.writeBufferWaterMark, value: .init(low: 16 * 1024, high: 64 * 1024))
                .childChannelInitializer { [weak daemon] channel in
                    guard connections.add(1, ordering: .relaxed).newValue <= Self.maximumConnections else {
                        connections.subtract(1, ordering: .relaxed)
                        return channel.close()
                    }
                    channel.closeFuture.whenComplete { _ in connections.subtract(1, ordering: .relaxed) }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            IdleStateHandler(readTimeout: Self.idleTimeout, writeTimeout: Self.idleTimeout))
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(MetricsHandler(metrics: metrics, daemon: daemon))
                    }
                }
                .bind(host: "\(listen.address)", port: Int(listen.port))
                .wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// One HTTP connection: answers each request when its end arrives and the connection can take
/// the answer.
private final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ProxyMetrics
    private weak var daemon: ProxyDaemon?
    private var head: HTTPRequestHead?
    /// A request whose answer waits for the connection to drain.
    private var waiting: HTTPRequestHead?
    private var stuck: Scheduled<Void>?

    init(metrics: ProxyMetrics, daemon: ProxyDaemon?) {
        self.metrics = metrics
        self.daemon = daemon
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            if context.channel.isWritable {
                respond(to: request, context: context)
            } else {
                waiting = request
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stuck?.cancel()
            stuck = nil
            if let request = waiting {
                waiting = nil
                respond(to: request, context: context)
            }
        } else if stuck == nil {
            let channel = context.channel
            stuck = context.eventLoop.scheduleTask(in: MetricsServer.stuckTimeout) { channel.close(promise: nil) }
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stuck?.cancel()
        stuck = nil
        context.fireChannelInactive()
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?").first.map(String.init) ?? request.uri
        let status: HTTPResponseStatus
        let body: [UInt8]
        let type: String
        if request.method != .GET {
            (status, body, type) = (.methodNotAllowed, Array("only GET\n".utf8), "text/plain")
        } else if path == "/metrics", let daemon {
            (status, body, type) = (.ok, metrics.render(daemon.status()), "text/plain; version=0.0.4; charset=utf-8")
        } else {
            (status, body, type) = (.notFound, Array("try /metrics\n".utf8), "text/plain")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: "\(body.count)")
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
