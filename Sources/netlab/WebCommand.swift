import ArgumentParser
import Foundation
import Web
#if canImport(Glibc)
import Glibc
#endif

/// `netlab web [--listen 127.0.0.1:8080] [--token TOKEN]`
struct WebCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "Serve the running labs, live, to a browser, until Ctrl-C.",
        discussion: """
            The page draws each lab with its traffic and streams any interface's packets. Its API: \
            GET /api/labs, /api/labs/NAME (as status --json), /api/labs/NAME/stats and \
            /api/labs/NAME/capture?node=N&iface=I&filter=BPF (server-sent events). Loopback by \
            default; listening elsewhere needs --token, which every request must then carry \
            (Authorization: Bearer TOKEN, or ?token=TOKEN), since the page shows the labs' packets.

            Example:
              netlab web                     then open http://127.0.0.1:8080/
            """)

    @Option(name: .long, help: "HOST:PORT to listen on.")
    var listen = "127.0.0.1:8080"

    @Option(name: .long, help: "A token every request must carry (required off loopback).")
    var token: String?

    func run() throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen is HOST:PORT, like 127.0.0.1:8080")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if !WebServer.isLoopback(host), token?.isEmpty ?? true {
            StandardOutput.error("web: \(host) is not loopback: give --token TOKEN, since the page shows the labs' packets")
            throw ExitCode(1)
        }
        // Waited for below, on this thread; blocked before any other thread exists to get them.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGINT, SIGTERM] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let server: WebServer
        do {
            server = try WebServer(.init(host: host, port: port, token: token))
        } catch {
            StandardOutput.error("web: cannot listen on \(listen): \(error)")
            throw ExitCode(1)
        }
        print("netlab web: http://\(host.contains(":") ? "[\(host)]" : host):\(server.port)/\(token.map { "?token=\($0)" } ?? "")")
        fflush(nil)  // every stream: `stdout` is shared mutable state to Swift 6
        var received: Int32 = 0
        sigwait(&signals, &received)
        server.stop()
    }
}
