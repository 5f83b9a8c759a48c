import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves `GET /metrics` (Prometheus text format) over HTTP/1.1 with SwiftNIO, on one event
/// loop thread of its own.
final class MetricsServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    init(listen: SocketEndpoint, daemon: ProxyDaemon) throws {
        let metrics = ProxyMetrics()
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [weak daemon] channel in
                    channel.eventLoop.makeCompletedFuture {
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

/// One HTTP connection: answers each request when its end arrives.
private final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ProxyMetrics
    private weak var daemon: ProxyDaemon?
    private var head: HTTPRequestHead?

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
            respond(to: request, context: context)
        }
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
