import Capture
import Decode
import Dispatch
import Foundation
import Lab
import NIOCore
import NIOHTTP1
import Netlink
import Synchronization

/// One HTTP connection of `netlab web`: checks the token, routes the request, and answers from
/// a thread that may wait (netlink, namespaces, captures), writing through the channel, which
/// hands the bytes to the event loop.
final class WebHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let context: WebContext
    private var head: HTTPRequestHead?
    /// Blocking work of the API, one request at a time per server (labs' status reads enter
    /// every node; they are not to pile up).
    private static let work = DispatchQueue(label: "netlab.web.api")

    init(context: WebContext) {
        self.context = context
    }

    func channelRead(context handlerContext: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            route(request, channel: handlerContext.channel)
        }
    }

    private func route(_ request: HTTPRequestHead, channel: any Channel) {
        let components = URLComponents(string: request.uri)
        let path = components?.path ?? request.uri
        let query = Dictionary((components?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
        let keepAlive = request.isKeepAlive
        if let token = context.token {
            let bearer = request.headers.first(name: "Authorization")
            guard bearer == "Bearer \(token)" || query["token"] == token else {
                return Self.error(.unauthorized, "a token is required: Authorization: Bearer TOKEN, or ?token=TOKEN", on: channel, keepAlive: keepAlive)
            }
        }
        guard request.method == .GET else {
            return Self.error(.methodNotAllowed, "only GET", on: channel, keepAlive: keepAlive)
        }
        let parts = path.split(separator: "/").map(String.init)
        switch parts.count {
        case 0:
            Self.respond(.ok, type: "text/html; charset=utf-8", body: Array(WebPage.html.utf8), on: channel, keepAlive: keepAlive)
        case 2 where parts == ["api", "labs"]:
            Self.work.async { Self.respond(json: Self.labs(), on: channel, keepAlive: keepAlive) }
        case 3 where parts[0...1] == ["api", "labs"]:
            let lab = parts[2]
            Self.work.async {
                guard let status = Self.status(lab) else {
                    return Self.error(.notFound, "no lab \(lab) is running", on: channel, keepAlive: keepAlive)
                }
                Self.respond(json: status, on: channel, keepAlive: keepAlive)
            }
        case 4 where parts[0...1] == ["api", "labs"] && parts[3] == "stats":
            stats(lab: parts[2], channel: channel, keepAlive: keepAlive)
        case 4 where parts[0...1] == ["api", "labs"] && parts[3] == "capture":
            capture(lab: parts[2], node: query["node"] ?? "", interface: query["iface"] ?? "", filter: query["filter"] ?? "",
                    channel: channel, keepAlive: keepAlive)
        default:
            Self.error(.notFound, "no such page: \(path) (try /, /api/labs)", on: channel, keepAlive: keepAlive)
        }
    }

    // MARK: The API

    /// `GET /api/labs`: name, file, nodes, links of each running lab.
    static func labs() -> Data {
        let labs = LabState.all().compactMap { name -> [String: any Sendable]? in
            guard let state = LabState.load(name) else { return nil }
            var links = 0
            if var topology = try? TopologyParser.load(path: state.file) {
                if let host = state.host { topology = topology.share(for: host) }
                links = topology.links.count + topology.stitches.count
            }
            return ["name": name, "file": state.file, "nodes": state.namespaces.count, "links": links]
        }
        return (try? JSONSerialization.data(withJSONObject: labs, options: [.sortedKeys])) ?? Data("[]".utf8)
    }

    /// `GET /api/labs/NAME`: what `netlab status NAME --json` prints.
    static func status(_ lab: String) -> Data? {
        guard TopologyParser.isValidInstanceName(lab), let status = LabStatus.read(lab) else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try? encoder.encode(status)
    }

    /// `GET /api/labs/NAME/stats`: an event a second with every interface's rates.
    private func stats(lab: String, channel: any Channel, keepAlive: Bool) {
        guard TopologyParser.isValidInstanceName(lab), LabState.load(lab) != nil else {
            return Self.error(.notFound, "no lab \(lab) is running", on: channel, keepAlive: keepAlive)
        }
        Self.startEvents(on: channel)
        let sampler = context.sampler
        let previous = Mutex<InterfaceSampler.Sample?>(nil)
        let task = channel.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { _ in
            Self.work.async {
                let sample = sampler.sample(lab: lab)
                // The first event says which interfaces there are (at rest) without waiting a second.
                let before = previous.withLock { old -> InterfaceSampler.Sample in
                    defer { old = sample }
                    return old ?? sample
                }
                let data = Data(InterfaceSampler.event(lab: lab, from: before, to: sample).utf8)
                // A client that does not read misses seconds; nothing piles up for it.
                if channel.isWritable { Self.send(event: data, on: channel) }
            }
        }
        channel.closeFuture.whenComplete { _ in task.cancel() }
    }

    /// `GET /api/labs/NAME/capture?node=N&iface=I&filter=BPF`: one event per packet, each a line
    /// of the `netlab decode --json` contract, until the client goes away.
    private func capture(lab: String, node: String, interface: String, filter: String, channel: any Channel, keepAlive: Bool) {
        guard TopologyParser.isValidInstanceName(lab), LabState.load(lab) != nil else {
            return Self.error(.notFound, "no lab \(lab) is running", on: channel, keepAlive: keepAlive)
        }
        let namespace = NetworkNamespace(Topology.namespaceName(lab: lab, node: node))
        guard TopologyParser.isValidNodeName(node), namespace.exists else {
            return Self.error(.notFound, "lab \(lab) has no node '\(node)'", on: channel, keepAlive: keepAlive)
        }
        let shared = context
        guard shared.captures.add(1, ordering: .relaxed).newValue <= WebServer.maximumCaptures else {
            shared.captures.subtract(1, ordering: .relaxed)
            return Self.error(.serviceUnavailable, "\(WebServer.maximumCaptures) captures are running; close one", on: channel, keepAlive: keepAlive)
        }
        let stopped = StopFlag()
        channel.closeFuture.whenComplete { _ in stopped.stop() }
        let thread = Thread {
            defer { shared.captures.subtract(1, ordering: .relaxed) }
            do {
                try namespace.run {
                    guard InterfaceSampler.readCounters()[interface] != nil else {
                        throw WebError(status: .notFound, message: "node \(node) has no interface '\(interface)'")
                    }
                    let live: LiveCapture
                    do {
                        live = try LiveCapture(device: interface, filter: filter.isEmpty ? nil : filter)
                    } catch let error as CaptureError {
                        if case let .badFilter(_, message) = error {
                            throw WebError(status: .badRequest, message: "bad filter '\(filter)': \(message)")
                        }
                        throw WebError(status: .internalServerError, message: "\(error)")
                    }
                    Self.startEvents(on: channel)
                    let out = OutputBuffer(capacity: 1 << 16)
                    let formatter = JSONLinesFormatter()
                    var number = 0
                    while !stopped.isStopped, channel.isActive {
                        guard let packet = try live.next(timeout: 200) else { continue }
                        number += 1
                        // A client that does not keep up loses packets, not the server memory.
                        guard channel.isWritable else { continue }
                        let framed = FramedPacket(number: number, seconds: packet.seconds, microseconds: packet.microseconds,
                                                  originalLength: packet.originalLength, linkType: live.linkType, bytes: packet.bytes)
                        formatter.format(framed, into: out)
                        var line = out.drainString()
                        if line.hasSuffix("\n") { line.removeLast() }
                        Self.send(event: Data(line.utf8), on: channel)
                        // The frame itself, for the page's "download pcap": another event type, so
                        // every default event stays a line of the decode contract.
                        let frame = "\(live.linkType.pcapValue) " + Data(packet.bytes).base64EncodedString()
                        Self.send(event: Data(frame.utf8), on: channel, type: "raw")
                    }
                }
            } catch let error as WebError {
                Self.error(error.status, error.message, on: channel, keepAlive: keepAlive)
            } catch {
                Self.error(.internalServerError, "\(error)", on: channel, keepAlive: keepAlive)
            }
        }
        thread.start()
    }

    // MARK: Writing

    static func respond(json: Data, on channel: any Channel, keepAlive: Bool) {
        respond(.ok, type: "application/json", body: Array(json), on: channel, keepAlive: keepAlive)
    }

    static func error(_ status: HTTPResponseStatus, _ message: String, on channel: any Channel, keepAlive: Bool) {
        let body = (try? JSONSerialization.data(withJSONObject: ["error": message], options: [.sortedKeys])) ?? Data()
        respond(status, type: "application/json", body: Array(body), on: channel, keepAlive: keepAlive)
    }

    static func respond(_ status: HTTPResponseStatus, type: String, body: [UInt8], on channel: any Channel, keepAlive: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Cache-Control", value: "no-store")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }

    /// The head of a `text/event-stream` answer, which lasts as long as the connection.
    static func startEvents(on channel: any Channel) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream")
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "Connection", value: "close")
        channel.writeAndFlush(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)), promise: nil)
    }

    static func send(event data: Data, on channel: any Channel, type: String? = nil) {
        var buffer = ByteBuffer(string: type.map { "event: \($0)\n" } ?? "")
        buffer.writeString("data: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
    }
}

/// Set when a stream's client goes away; read by the thread that feeds it.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isStopped: Bool { flag.load(ordering: .relaxed) }
    func stop() { flag.store(true, ordering: .relaxed) }
}

/// An answer other than 200, with what went wrong.
struct WebError: Error {
    let status: HTTPResponseStatus
    let message: String
}
