import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a lab's services (`netlab supervise LAB`, started by `up`): each in its node, in
/// dependency order (`after`), watched for readiness, restarted by its policy with back-off,
/// its output kept in the lab's logs; the state of every service in
/// /run/netlab/LAB/services.json.
///
/// One thread, one loop: it waits for a signal (SIGCHLD, SIGTERM, SIGINT) at most 50 ms, reaps
/// its children, moves each service on, and writes the state when it changed. The services are
/// its children, so it learns of every exit from the kernel, not by polling PIDs; on SIGTERM it
/// ends them (SIGTERM to each process group, 3 s, SIGKILL) and exits. A supervisor killed
/// outright leaves the services in their nodes' cgroups, where `down` finds them.
public final class ServiceSupervisor {
    /// Restarts allowed within `restartWindow` before the service is given up.
    public static let restartLimit = 5
    public static let restartWindow = 60.0
    /// Back-off before restart n: 0.2 s × 2^(n-1), at most 5 s.
    static func backoff(restart: Int) -> Double { min(5, 0.2 * pow(2, Double(max(0, restart - 1)))) }
    /// A log past this size keeps only its last `logKeep` bytes: a chatty service cannot fill
    /// /run (memory).
    public static let logLimit: UInt64 = 8 << 20
    static let logKeep = 1 << 20

    private struct Running {
        var entry: ServicePlan.Entry
        var status: ServiceStatus
        var startedAt = 0.0
        var nextProbe = 0.0
        var restartAt = 0.0
        var recentRestarts: [Double] = []
        /// Stopping on request: when it ends it is `stopped`, and started again if `thenStart`.
        var stopping = false
        var thenStart = false
        var killAt = 0.0
    }

    private let lab: String
    private var services: [Running]
    private var changed = true
    private var stopping = false

    public init(plan: ServicePlan) {
        lab = plan.lab
        let now = Date().timeIntervalSince1970
        services = plan.entries.map { entry in
            Running(entry: entry, status: ServiceStatus(node: entry.node, name: entry.service.name, state: .waiting, pid: nil,
                                                        restarts: 0, since: now, exitStatus: nil, message: nil, log: entry.log))
        }
    }

    /// Runs until SIGTERM or SIGINT; returns the exit status.
    public func run() -> Int32 {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGCHLD, SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        var lastLogCheck = 0.0
        while !stopping {
            var timeout = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            let signal = sigtimedwait(&signals, nil, &timeout)
            if signal == SIGTERM || signal == SIGINT || signal == SIGHUP { stopping = true }
            reap()
            let now = Date().timeIntervalSince1970
            if !stopping {
                handleRequests(now)
                advance(now)
            }
            if now - lastLogCheck > 1 {
                lastLogCheck = now
                trimLogs()
            }
            if changed {
                ServiceStatus.save(services.map(\.status), lab: lab)
                changed = false
            }
        }
        stopAll()
        return 0
    }

    private func advance(_ now: Double) {
        var due: [Int] = []
        for index in services.indices {
            let service = services[index]
            switch service.status.state {
            case .waiting:
                let dependencies = service.entry.service.after.map { reference in services.first { $0.entry.reference == reference } }
                if let failed = dependencies.first(where: { $0?.status.state == .failed }) {
                    set(index, .failed, message: "\(failed?.entry.reference.description ?? "a dependency") failed")
                } else if dependencies.allSatisfy({ $0?.status.state == .ready }) {
                    due.append(index)
                }
            case .starting:
                guard let readiness = service.entry.service.ready else {
                    set(index, .ready)
                    continue
                }
                if now - service.startedAt > service.entry.service.readyTimeout {
                    if let pid = service.status.pid { kill(-pid, SIGKILL) }
                    set(index, .failed, message: "not ready (\(readiness)) within \(Int(service.entry.service.readyTimeout)) s")
                    services[index].recentRestarts = Array(repeating: now, count: Self.restartLimit + 1)
                } else if now >= service.nextProbe {
                    // Every 50 ms at first, then less often (at most every 0.5 s): 500 services
                    // that are slow to listen must not keep the supervisor probing.
                    let waited = now - service.startedAt
                    services[index].nextProbe = now + min(0.5, max(readiness.isExec ? 0.25 : 0.05, waited / 4))
                    if ReadinessProbe.isReady(readiness, lab: lab, node: service.entry.node, pid: service.status.pid) { set(index, .ready) }
                }
            case .restarting:
                if now >= service.restartAt { due.append(index) }
            case .ready, .exited, .failed, .stopped:
                break
            }
            // A stop that SIGTERM did not end in 3 s.
            if service.stopping, let pid = service.status.pid, now >= service.killAt { kill(-pid, SIGKILL) }
        }
        start(due, now)
    }

    /// `netlab service ... stop|start|restart`.
    private func handleRequests(_ now: Double) {
        for request in ServiceRequest.take(lab: lab) {
            guard let index = services.firstIndex(where: { $0.entry.node == request.node && $0.entry.service.name == request.service })
            else { continue }
            let running = services[index].status.pid != nil
            switch request.action {
            case .stop, .restart:
                if let pid = services[index].status.pid {
                    services[index].stopping = true
                    services[index].thenStart = request.action == .restart
                    services[index].killAt = now + 3
                    kill(-pid, SIGTERM)
                } else if request.action == .restart || services[index].status.state == .restarting {
                    set(index, request.action == .restart ? .waiting : .stopped, message: request.action == .restart ? nil : "stopped on request")
                }
            case .start:
                if !running, [.stopped, .failed, .exited].contains(services[index].status.state) {
                    services[index].recentRestarts = []
                    set(index, .waiting)
                }
            }
        }
    }

    /// Starts services on both cores: a process in a node costs a few milliseconds of mount
    /// namespace work (as `ip netns exec` does), and 500 of them one at a time took 3 s.
    private func start(_ indices: [Int], _ now: Double) {
        guard !indices.isEmpty else { return }
        let lab = self.lab
        let entries = indices.map { services[$0].entry }
        let results = Parallel.map(entries) { entry in
            let node = NodeEnvironment(lab: lab, node: entry.node)
            if entry.inHost == true { return try NamespaceProcess.spawnDaemonHere(entry.arguments, cgroup: node.cgroup, log: entry.log) }
            return try NamespaceProcess.spawnDaemon(entry.arguments, in: node, log: entry.log)
        }
        for (index, result) in zip(indices, results) {
            switch result {
            case let .success(pid):
                services[index].status.pid = pid
                services[index].startedAt = now
                services[index].nextProbe = now
                set(index, .starting)
            case let .failure(error):
                append("netlab: could not start \(services[index].entry.service.name): \(error)\n", to: services[index].entry.log)
                exited(index, status: 127, now)
            }
        }
    }

    private func reap() {
        while true {
            var raw: Int32 = 0
            let pid = waitpid(-1, &raw, WNOHANG)
            guard pid > 0 else { return }
            let status = raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
            guard let index = services.firstIndex(where: { $0.status.pid == pid }) else { continue }
            // The rest of its process group goes with it: a restart must not find the old
            // server still holding its port.
            kill(-pid, SIGKILL)
            services[index].status.pid = nil
            services[index].status.exitStatus = status
            changed = true
            // One given up (not ready in time) was killed for it: that end is no news.
            if services[index].stopping {
                services[index].stopping = false
                set(index, .stopped, message: "stopped on request")
                if services[index].thenStart {
                    services[index].thenStart = false
                    services[index].recentRestarts = []
                    set(index, .waiting)
                }
            } else if !stopping && services[index].status.state != .failed {
                exited(index, status: status, Date().timeIntervalSince1970)
            }
        }
    }

    private func exited(_ index: Int, status: Int32, _ now: Double) {
        let service = services[index]
        let policy = service.entry.service.restart
        let failed = status != 0
        let wasReady = service.status.state == .ready
        guard policy == .always || (policy == .onFailure && failed) else {
            if failed { set(index, .failed, message: "exited with status \(status)\(wasReady ? "" : " before it was ready")") }
            else { set(index, wasReady ? .exited : .failed, message: wasReady ? nil : "exited before it was ready") }
            return
        }
        var recent = service.recentRestarts.filter { now - $0 < Self.restartWindow }
        recent.append(now)
        services[index].recentRestarts = recent
        if recent.count > Self.restartLimit {
            set(index, .failed, message: "gave up: \(Self.restartLimit) restarts within \(Int(Self.restartWindow)) s, last status \(status)")
            return
        }
        services[index].status.restarts += 1
        services[index].restartAt = now + Self.backoff(restart: recent.count)
        set(index, .restarting, message: "exited with status \(status)")
    }

    private func set(_ index: Int, _ state: ServiceStatus.State, message: String? = nil) {
        services[index].status.state = state
        services[index].status.since = Date().timeIntervalSince1970
        services[index].status.message = message
        changed = true
        if let message, state == .failed {
            append("netlab: service \(services[index].entry.service.name) failed: \(message)\n", to: services[index].entry.log)
        }
    }

    /// SIGTERM to every service's process group, up to 3 s, then SIGKILL.
    private func stopAll() {
        let groups = services.compactMap(\.status.pid)
        for pid in groups { kill(-pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(3)
        while services.contains(where: { $0.status.pid != nil }), Date() < deadline {
            reap()
            usleep(20_000)
        }
        for pid in services.compactMap(\.status.pid) { kill(-pid, SIGKILL) }
        reap()
        ServiceStatus.save(services.map(\.status), lab: lab)
    }

    private func trimLogs() {
        for log in Set(services.map(\.entry.log)) {
            guard let size = (try? FileManager.default.attributesOfItem(atPath: log))?[.size] as? UInt64, size > Self.logLimit,
                  let handle = FileHandle(forUpdatingAtPath: log)
            else { continue }
            try? handle.seek(toOffset: size - UInt64(Self.logKeep))
            let tail = handle.readDataToEndOfFile()
            try? handle.truncate(atOffset: 0)
            handle.write(Data("[netlab: log trimmed to its last \(Self.logKeep >> 20) MiB]\n".utf8) + tail)
            try? handle.close()
        }
    }

    private func append(_ text: String, to log: String) {
        let fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}

extension Service.Readiness {
    var isExec: Bool {
        if case .exec = self { return true }
        return false
    }
}
