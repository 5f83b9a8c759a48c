import Foundation
import Lab
import Netlink
import Testing

/// Lab nodes as small containers: hostname, names, PID and mount namespaces, bound files,
/// cgroup limits, and nothing of them left after down.
@Suite("Container nodes", .serialized)
struct ContainerNodeTests {
    /// A two-node lab (`web` with the container keys in `web`, `client` plain) named for the test.
    static func lab(_ suffix: String, web: String = "", extra: String = "") throws -> (path: String, name: String) {
        let name = "\(LabCommandTests.tag)-ct\(suffix)"
        let directory = NSTemporaryDirectory() + name
        try FileManager.default.createDirectory(atPath: directory + "/files", withIntermediateDirectories: true)
        try "hello from \(name)\n".write(toFile: directory + "/files/motd", atomically: true, encoding: .utf8)
        let path = directory + "/lab.toml"
        try """
            name = "\(name)"
            [nodes.web]
            \(web)
            [nodes.web.interfaces.eth0]
            addresses = ["10.0.0.1/24", "fd00::1/64"]
            [nodes.client.interfaces.eth0]
            addresses = ["10.0.0.2/24"]
            [[links]]
            endpoints = ["web:eth0", "client:eth0"]
            \(extra)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, name)
    }

    /// `netlab exec LAB NODE -- sh -c SCRIPT`
    static func exec(_ name: String, _ node: String, _ script: String) throws -> LabCommandTests.Result {
        try LabCommandTests.run(["exec", name, node, "--", "/bin/sh", "-c", script])
    }

    /// What a lab could leave behind: namespaces, state, logs, node namespace files, mounts,
    /// /etc/netns files and cgroups.
    static func leftovers(_ name: String) -> [String] {
        var found = NetworkNamespace.all().filter { $0.hasPrefix(name + ".") }
        for path in ["/run/netlab/\(name)", "/run/netlab/\(name).json", "/etc/netns/\(name).web", "/etc/netns/\(name).client"]
        where FileManager.default.fileExists(atPath: path) { found.append(path) }
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        found += mounts.split(separator: "\n").filter { $0.contains("/\(name)") }.map(String.init)
        for mount in ["unified", "memory", "cpu", "pids"] where FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(mount)/netlab/\(name)") {
            found.append("/sys/fs/cgroup/\(mount)/netlab/\(name)")
        }
        return found
    }

    @Test("every node has its own hostname; names of the lab resolve in netlab exec and in ip netns exec")
    func hostnameAndNames() throws {
        let (path, name) = try Self.lab("names", web: "hostname = \"web-1\"")
        defer { _ = try? LabCommandTests.run(["down", name]) }
        let up = try LabCommandTests.run(["up", path])
        try #require(up.status == 0, "\(up.stderr)")
        #expect(try Self.exec(name, "web", "hostname").stdout == "web-1\n")
        #expect(try Self.exec(name, "client", "hostname").stdout == "client\n")
        // The machine's own hostname is untouched.
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, 255)
        #expect(String(cString: buffer) != "web-1")
        let resolved = try Self.exec(name, "client", "getent ahostsv4 web-1; getent hosts client.\(name); getent ahostsv6 web")
        #expect(resolved.stdout.contains("10.0.0.1        STREAM web"), "\(resolved.stdout)")
        #expect(resolved.stdout.contains("10.0.0.2        client client.\(name)"), "\(resolved.stdout)")
        #expect(resolved.stdout.contains("fd00::1"), "\(resolved.stdout)")
        #expect(try Self.exec(name, "client", "ping -c 1 -W 2 web >/dev/null").status == 0)
        // iproute2 reads the same files.
        let ip = Process()
        ip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ip.arguments = ["ip", "netns", "exec", "\(name).web", "getent", "hosts", "client"]
        let out = Pipe()
        ip.standardOutput = out
        try ip.run()
        ip.waitUntilExit()
        #expect(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("10.0.0.2"))
        // The machine's /etc/hosts is not the lab's.
        #expect(!(try String(contentsOfFile: "/etc/hosts", encoding: .utf8)).contains("client.\(name)"))
        let status = try #require(LabStatus.read(name))
        #expect(status.nodes.first { $0.name == "web" }?.hostname == "web-1")
        #expect(try LabCommandTests.run(["down", name]).status == 0)
        #expect(Self.leftovers(name).isEmpty, "\(Self.leftovers(name))")
    }

    @Test("a pid-isolated node has netlab's init as PID 1, which reaps orphans; its files and mounts stay inside")
    func pidAndMount() throws {
        let (path, name) = try Self.lab("iso", web: """
            hostname = "web-1"
            isolation = ["pid", "mount"]
            files = { "/etc/motd" = "files/motd" }
            """)
        defer { _ = try? LabCommandTests.run(["down", name]) }
        let up = try LabCommandTests.run(["up", path])
        try #require(up.status == 0, "\(up.stderr)")
        let init1 = try Self.exec(name, "web", "tr '\\0' ' ' < /proc/1/cmdline")
        #expect(init1.stdout.contains("node-init"), "\(init1.stdout) \(init1.stderr)")
        // Only the node's processes: init, this shell and ps.
        let ps = try Self.exec(name, "web", "ps -e -o pid= | wc -l")
        #expect(Int(ps.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 99 <= 4, "\(ps.stdout)")
        // An orphan (its parent exits at once) is reaped by the node's init, not left a zombie.
        let orphan = try Self.exec(name, "web", "sh -c 'sleep 0.2 &'; sleep 1; ps -e -o stat=,comm= | grep -c '^Z' || true")
        #expect(orphan.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "zombies: \(orphan.stdout)")
        #expect(try Self.exec(name, "web", "cat /etc/motd").stdout == "hello from \(name)\n")
        #expect((try? String(contentsOfFile: "/etc/motd", encoding: .utf8)) != "hello from \(name)\n")
        // A mount made in the node stays there, and lives as long as the node.
        #expect(try Self.exec(name, "web", "mkdir -p /tmp/\(name)-m && mount -t tmpfs none /tmp/\(name)-m && touch /tmp/\(name)-m/inside").status == 0)
        #expect(try Self.exec(name, "web", "ls /tmp/\(name)-m").stdout == "inside\n")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(name)-m/inside"))
        // The plain node shares the machine's PID view.
        #expect(try Self.exec(name, "client", "tr '\\0' ' ' < /proc/1/cmdline").stdout.contains("node-init") == false)
        let status = try #require(LabStatus.read(name))
        #expect(status.nodes.first { $0.name == "web" }?.isolation == ["mount", "pid"])
        #expect(try LabCommandTests.run(["down", name]).status == 0)
        try? FileManager.default.removeItem(atPath: "/tmp/\(name)-m")
        #expect(Self.leftovers(name).isEmpty, "\(Self.leftovers(name))")
    }

    @Test("limits: memory past the limit is OOM-killed and counted, CPU is capped, a fork loop is bounded; status says which cgroup version",
          .enabled(if: CgroupLayout.current.place(of: "memory") != nil && CgroupLayout.current.place(of: "cpu") != nil
                   && CgroupLayout.current.place(of: "pids") != nil))
    func limits() throws {
        let (path, name) = try Self.lab("lim", web: "limits = { cpu = 0.2, memory = \"64M\", pids = 24 }")
        defer { _ = try? LabCommandTests.run(["down", name]) }
        let up = try LabCommandTests.run(["up", path])
        try #require(up.status == 0, "\(up.stderr)")
        // 200 MB in a 64 MB node: the kernel kills it.
        let hog = try Self.exec(name, "web", "python3 -c 'a = bytearray(200 << 20); a[::4096] = b\"x\" * len(a[::4096]); print(\"survived\")'")
        #expect(hog.status != 0 && !hog.stdout.contains("survived"), "status \(hog.status): \(hog.stdout)")
        // Two seconds of a busy loop at a fifth of a core use well under one second of CPU.
        let busy = try Self.exec(name, "web", "timeout 2 sh -c 'while :; do :; done'; true")
        #expect(busy.status == 0)
        // More processes than the limit: forks fail.
        let forks = try Self.exec(name, "web", "for i in $(seq 40); do sleep 2 & done; wait")
        #expect(forks.stderr.lowercased().contains("fork") || forks.status != 0, "\(forks.stderr)")
        let status = try #require(LabStatus.read(name))
        let web = try #require(status.nodes.first { $0.name == "web" })
        let usage = try #require(web.usage)
        #expect((usage.oomKills ?? 0) >= 1, "\(usage)")
        #expect(usage.memoryLimit == 64 << 20)
        #expect((usage.cpuSeconds ?? 0) < 1.2, "CPU limit did not bite: \(usage)")
        let layout = CgroupLayout.current
        let expected = layout.place(of: "memory") == .unified ? "v2" : "v1"
        #expect(web.cgroup?.contains(expected) == true, "\(web.cgroup ?? "none")")
        let table = try LabCommandTests.run(["status", name])
        #expect(table.stdout.contains("OOM kill") && table.stdout.contains("of 64M"), "\(table.stdout)")
        #expect(try LabCommandTests.run(["down", name]).status == 0)
        #expect(Self.leftovers(name).isEmpty, "\(Self.leftovers(name))")
    }

    @Test("netlab shell: an interactive shell in the node, its prompt showing the hostname")
    func shell() throws {
        let (path, name) = try Self.lab("sh", web: "hostname = \"web-1\"")
        defer { _ = try? LabCommandTests.run(["down", name]) }
        try #require(try LabCommandTests.run(["up", path]).status == 0)
        let shell = try LabCommandTests.run(["shell", name, "web"], input: "hostname\nexit 3\n")
        #expect(shell.stdout.contains("web-1"), "\(shell.stdout)")
        #expect(shell.stderr.contains("@web-1"), "prompt: \(shell.stderr)")
        #expect(shell.status == 3)
        let missing = try LabCommandTests.run(["shell", name, "nosuch"])
        #expect(missing.status == 1 && missing.stderr.contains("no running node nosuch"))
    }

    @Test("a hosts file in /etc/netns that netlab did not write stops up, which creates nothing")
    func foreignHostsFile() throws {
        let (path, name) = try Self.lab("fh")
        let directory = "/etc/netns/\(name).web"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "10.9.9.9 mine\n".write(toFile: directory + "/hosts", atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            rmdir("/etc/netns")
        }
        let up = try LabCommandTests.run(["up", path])
        #expect(up.status == 1 && up.stderr.contains(directory + "/hosts"), "\(up.stderr)")
        #expect(NetworkNamespace.all().filter { $0.hasPrefix(name + ".") }.isEmpty)
        #expect(try String(contentsOfFile: directory + "/hosts", encoding: .utf8) == "10.9.9.9 mine\n")
        _ = try LabCommandTests.run(["down", name])
        #expect(FileManager.default.fileExists(atPath: directory + "/hosts"), "down removed a file it did not write")
    }
}
