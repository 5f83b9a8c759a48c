import Foundation
import Lab
import Netlink
import Testing

/// Services of lab nodes: order, readiness, restart with back-off and give-up, logs, and
/// nothing left when netlab (up or the supervisor) is killed.
@Suite("Lab services", .serialized)
struct LabServiceTests {
    /// `keys` go in [nodes.web]; `web` and `client` hold their nodes' [[...services]] tables.
    static func lab(_ suffix: String, keys: String = "", web: String = "", client: String = "") throws -> (path: String, name: String) {
        try ContainerNodeTests.lab("sv\(suffix)", web: keys, extra: """
            \(web)
            \(client)
            """)
    }

    static func statuses(_ name: String) -> [ServiceStatus] { ServiceStatus.load(lab: name) }

    static func waitFor(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    @Test("services start in order: one comes after another's readiness, across nodes; up returns once all are ready; logs show their output")
    func orderAndReadiness() throws {
        let (path, name) = try Self.lab("order", web: """
            [[nodes.web.services]]
            name = "db"
            command = "echo db starting; sleep 0.5; exec python3 -m http.server 7000"
            ready = "tcp:7000"
            """, client: """
            [[nodes.client.services]]
            name = "app"
            command = "curl -s -o /dev/null http://web:7000/ && echo db-was-ready; exec sleep 1000"
            after = ["web:db"]
            [[nodes.client.services]]
            name = "side"
            command = "echo side; exec sleep 1000"
            after = ["app"]
            ready = "exec:test -e /proc/self"
            """)
        defer { _ = try? LabCommandTests.run(["down", name]) }
        let up = try LabCommandTests.run(["up", path])
        try #require(up.status == 0, "\(up.stderr)")
        // Ready when up returns: the port answers at once.
        #expect(try ContainerNodeTests.exec(name, "client", "curl -s -o /dev/null -w '%{http_code}' http://web:7000/").stdout == "200")
        #expect(Self.statuses(name).map(\.state).allSatisfy { $0 == .ready }, "\(Self.statuses(name))")
        #expect(Self.waitFor { (try? LabCommandTests.run(["logs", name, "client", "app"]).stdout) == "db-was-ready\n" })
        let all = try LabCommandTests.run(["logs", name, "client"])
        #expect(all.stdout.contains("app | db-was-ready") && all.stdout.contains("side | side"), "\(all.stdout)")
        #expect(try LabCommandTests.run(["logs", name, "client", "nosuch"]).stderr.contains("it has: app, side"))
        let table = try LabCommandTests.run(["status", name])
        #expect(table.stdout.contains("service db: ready"), "\(table.stdout)")
        // A restart on request: a new process, ready again.
        let old = try #require(Self.statuses(name).first { $0.name == "db" }?.pid)
        let restart = try LabCommandTests.run(["service", name, "web", "db", "restart"])
        #expect(restart.status == 0 && restart.stdout.contains("is ready"), "\(restart.stdout) \(restart.stderr)")
        #expect(Self.statuses(name).first { $0.name == "db" }.map { $0.pid != old && $0.state == .ready } == true)
        #expect(try LabCommandTests.run(["service", name, "web", "nosuch", "stop"]).stderr.contains("has no service nosuch"))
        let db = try #require(Self.statuses(name).first { $0.name == "db" }?.pid)
        // `logs -f` follows until the lab goes down.
        let follow = Process()
        follow.executableURL = URL(fileURLWithPath: LabCommandTests.netlab)
        follow.arguments = ["logs", name, "web", "db", "-f"]
        let followed = Pipe()
        follow.standardOutput = followed
        try follow.run()
        #expect(try LabCommandTests.run(["down", name]).status == 0)
        #expect(Self.waitFor { !follow.isRunning }, "logs -f did not end with the lab")
        if follow.isRunning { follow.terminate() }
        #expect(String(decoding: followed.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("db starting"))
        #expect(kill(db, 0) != 0, "the service survived down")
        #expect(ContainerNodeTests.leftovers(name).isEmpty, "\(ContainerNodeTests.leftovers(name))")
    }

    @Test("a service that dies is restarted (restart = on-failure), and one that keeps failing is given up, failing up with its log")
    func restartAndGiveUp() throws {
        let (path, name) = try Self.lab("restart", web: """
            [[nodes.web.services]]
            name = "server"
            command = "exec sleep 1000"
            restart = "on-failure"
            """)
        defer { _ = try? LabCommandTests.run(["down", name]) }
        try #require(try LabCommandTests.run(["up", path]).status == 0)
        let first = try #require(Self.statuses(name).first?.pid)
        kill(first, SIGKILL)
        #expect(Self.waitFor { Self.statuses(name).first.map { $0.state == .ready && $0.restarts == 1 && $0.pid != first } ?? false },
                "\(Self.statuses(name))")
        #expect(try LabCommandTests.run(["down", name]).status == 0)

        let (badPath, bad) = try Self.lab("giveup", web: """
            [[nodes.web.services]]
            name = "crash"
            command = "echo crash-start; exit 3"
            ready = "tcp:7001"
            restart = "on-failure"
            """)
        defer { _ = try? LabCommandTests.run(["down", bad]) }
        let up = try LabCommandTests.run(["up", badPath])
        #expect(up.status == 1)
        #expect(up.stderr.contains("service crash of node web") && up.stderr.contains("gave up"), "\(up.stderr)")
        // It ran once and was restarted five times, then given up; the log says so.
        #expect(up.stderr.components(separatedBy: "crash-start").count - 1 >= 6, "\(up.stderr)")
        #expect(ContainerNodeTests.leftovers(bad).isEmpty, "\(ContainerNodeTests.leftovers(bad))")
    }

    @Test("a service that never becomes ready fails up at its ready_timeout, naming it")
    func readyTimeout() throws {
        let (path, name) = try Self.lab("timeout", web: """
            [[nodes.web.services]]
            name = "mute"
            command = "echo listening-soon; exec sleep 1000"
            ready = "tcp:7002"
            ready_timeout = "1s"
            """)
        defer { _ = try? LabCommandTests.run(["down", name]) }
        let up = try LabCommandTests.run(["up", path])
        #expect(up.status == 1)
        #expect(up.stderr.contains("service mute of node web: not ready (tcp:7002) within 1 s"), "\(up.stderr)")
        #expect(up.stderr.contains("listening-soon"))
        #expect(ContainerNodeTests.leftovers(name).isEmpty, "\(ContainerNodeTests.leftovers(name))")
    }

    @Test("kill -9 of the supervisor, then down: no service, cgroup, mount or namespace left")
    func supervisorKilled() throws {
        let (path, name) = try Self.lab("kill", keys: "isolation = [\"pid\", \"mount\"]", web: """
            [[nodes.web.services]]
            name = "a"
            command = "sleep 1000 & exec sleep 1000"
            """, client: """
            [[nodes.client.services]]
            name = "b"
            command = "exec sleep 1000"
            """)
        defer { _ = try? LabCommandTests.run(["down", name]) }
        try #require(try LabCommandTests.run(["up", path]).status == 0)
        let supervisor = try #require(LabState.load(name)?.supervisor)
        let services = Self.statuses(name).compactMap(\.pid)
        #expect(services.count == 2)
        kill(supervisor, SIGKILL)
        #expect(Self.waitFor { kill(supervisor, 0) != 0 || (try? String(contentsOfFile: "/proc/\(supervisor)/stat", encoding: .utf8))?.contains(") Z") == true })
        for pid in services { #expect(kill(pid, 0) == 0, "a service died with its supervisor") }
        #expect(try LabCommandTests.run(["down", name]).status == 0)
        for pid in services { #expect(kill(pid, 0) != 0, "service \(pid) survived down") }
        #expect(ContainerNodeTests.leftovers(name).isEmpty, "\(ContainerNodeTests.leftovers(name))")
    }

    @Test("kill -9 of up while services start, then down: nothing left")
    func upKilled() throws {
        let (path, name) = try Self.lab("upkill", keys: "isolation = [\"pid\"]\nlimits = { memory = \"64M\" }", web: """
            [[nodes.web.services]]
            name = "slow"
            command = "exec sleep 1000"
            ready = "tcp:7003"
            ready_timeout = "30s"
            """)
        defer { _ = try? LabCommandTests.run(["down", name]) }
        let up = Process()
        up.executableURL = URL(fileURLWithPath: LabCommandTests.netlab)
        up.arguments = ["up", path]
        up.standardOutput = FileHandle.nullDevice
        up.standardError = FileHandle.nullDevice
        try up.run()
        #expect(Self.waitFor { Self.statuses(name).contains { $0.state == .starting } })
        kill(up.processIdentifier, SIGKILL)
        up.waitUntilExit()
        let pids = Self.statuses(name).compactMap(\.pid)
        #expect(try LabCommandTests.run(["down", name]).status == 0)
        for pid in pids { #expect(kill(pid, 0) != 0, "service \(pid) survived down") }
        #expect(ContainerNodeTests.leftovers(name).isEmpty, "\(ContainerNodeTests.leftovers(name))")
    }
}
