import ConfigFile
import Glibc

/// The container keys of a node: `hostname`, `isolation`, `limits`, `files` and `services`.
extension TopologyParser {
    static let containerKeys = ["hostname", "isolation", "limits", "files", "services"]

    mutating func parseContainer(into node: inout Node, _ t: ConfigTable) {
        let path = t.path
        if let hostname = string(t, "hostname") {
            if Self.isValidHostname(hostname) { node.hostname = hostname }
            else { fail(path + ["hostname"], "'\(hostname)' is not a hostname: letters, digits, '-' and '.', up to 64, not starting with '-' or '.'") }
        }
        for text in stringArray(t, "isolation") ?? [] {
            if let isolation = Isolation(rawValue: text) { node.isolation.insert(isolation) }
            else { fail(path + ["isolation"], "'\(text)' is not an isolation: use \"pid\" and/or \"mount\" (net and uts are always there)") }
        }
        // A PID namespace needs its own /proc, and so a mount namespace to mount it in.
        if node.isolation.contains(.pid) { node.isolation.insert(.mount) }
        if let table = table(t, "limits") { node.limits = parseLimits(table) }
        if let table = table(t, "files") {
            for target in table.keys.sorted() {
                let filePath = path + ["files", target]
                guard let source = table[target]?.string else {
                    fail(filePath, "a file's source is a string: \"/etc/motd\" = \"files/motd\"")
                    continue
                }
                guard target.hasPrefix("/"), !target.split(separator: "/").contains("..") else {
                    fail(filePath, "'\(target)' is not an absolute path inside the node")
                    continue
                }
                let absolute = source.hasPrefix("/") ? source : directoryOfFile + "/" + source
                var info = stat()
                if stat(absolute, &info) != 0 {
                    fail(filePath, "\(source) does not exist (\(absolute))")
                    continue
                }
                node.files.append(FileMount(target: target, source: absolute))
            }
            if !node.files.isEmpty && !node.isolation.contains(.mount) {
                fail(path + ["files"], "files are bound into the node's own mount namespace: add isolation = [\"mount\"]")
            }
        }
        for serviceTable in reader.tables(t, "services") {
            if let service = parseService(serviceTable, node: node.name) {
                if node.services.contains(where: { $0.name == service.name }) {
                    fail(serviceTable.path + ["name"], "node \(node.name) has two services named \(service.name)")
                } else {
                    node.services.append(service)
                }
            }
        }
    }

    /// The directory of the topology file, which relative `files` sources start from.
    var directoryOfFile: String {
        let absolute = file.hasPrefix("/") ? file : (currentDirectory() + "/" + file)
        guard let slash = absolute.lastIndex(of: "/") else { return "." }
        return String(absolute[..<slash])
    }

    private func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    mutating func parseLimits(_ t: ConfigTable) -> ResourceLimits {
        let path = t.path
        checkKeys(t, allowed: ["cpu", "memory", "pids"])
        var limits = ResourceLimits()
        if let value = t["cpu"] {
            if let cores = value.double ?? value.int.map(Double.init), cores >= 0.01, cores <= 1024 { limits.cpu = cores }
            else { fail(path + ["cpu"], "cpu is a number of cores from 0.01 to 1024 (like 0.5 or 2)") }
        }
        if let value = t["memory"] {
            let bytes = value.string.flatMap(Units.bytes) ?? value.int.flatMap { $0 > 0 ? UInt64($0) : nil }
            if let bytes, bytes >= 1 << 20 { limits.memory = bytes }
            else { fail(path + ["memory"], "memory is a size of at least 1M (like \"128M\", \"1G\", or bytes)") }
        }
        limits.pids = int(t, "pids", range: 1...4_194_304)
        return limits
    }

    mutating func parseService(_ t: ConfigTable, node: String) -> Service? {
        let path = t.path
        checkKeys(t, allowed: ["name", "command", "after", "ready", "restart", "ready_timeout"])
        guard let name = string(t, "name") else {
            fail(path, "a service needs a `name`")
            return nil
        }
        if !Self.isValidNodeName(name) {
            fail(path + ["name"], "'\(name)' is not a service name: use lowercase letters, digits, '-' and '_', up to 32")
        }
        guard let command = string(t, "command"), command.contains(where: { !$0.isWhitespace }) else {
            fail(path, "service \(name) needs a `command`")
            return nil
        }
        var service = Service(name: name, command: command)
        for text in stringArray(t, "after") ?? [] {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 1, !parts[0].isEmpty {
                service.after.append(ServiceReference(node: node, service: parts[0]))
            } else if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty {
                service.after.append(ServiceReference(node: parts[0], service: parts[1]))
            } else {
                fail(path + ["after"], "'\(text)' is not SERVICE or NODE:SERVICE")
            }
        }
        if let text = string(t, "ready") {
            if let ready = Service.Readiness(text) { service.ready = ready }
            else { fail(path + ["ready"], "'\(text)' is not a readiness check: use \"tcp:PORT\" or \"exec:COMMAND\"") }
        }
        if let text = string(t, "restart") {
            if let policy = Service.RestartPolicy(rawValue: text) { service.restart = policy }
            else { fail(path + ["restart"], "restart is \"no\", \"on-failure\" or \"always\", not '\(text)'") }
        }
        if let text = string(t, "ready_timeout") {
            if let micros = Units.microseconds(text), micros > 0 { service.readyTimeout = Double(micros) / 1_000_000 }
            else { fail(path + ["ready_timeout"], "'\(text)' is not a duration (like 30s)") }
        }
        return service
    }

    /// `after` names services that exist, and never in a circle.
    mutating func checkServices(_ nodes: [Node]) {
        var known: [ServiceReference: [String]] = [:]
        for node in nodes {
            if node.proxy != nil, let index = node.services.firstIndex(where: { $0.name == "proxy" }) {
                fail(["nodes", node.name, "services", "\(index)", "name"], "\"proxy\" is the service of node \(node.name)'s [nodes.\(node.name).proxy]; choose another name")
            }
            for (index, service) in node.services.enumerated() {
                known[ServiceReference(node: node.name, service: service.name)] = ["nodes", node.name, "services", "\(index)"]
            }
            if node.proxy != nil { known[ServiceReference(node: node.name, service: "proxy")] = ["nodes", node.name, "proxy"] }
        }
        var edges: [ServiceReference: [ServiceReference]] = [:]
        for node in nodes {
            for (index, service) in node.services.enumerated() {
                let me = ServiceReference(node: node.name, service: service.name)
                for dependency in service.after {
                    if known[dependency] == nil {
                        fail(["nodes", node.name, "services", "\(index)", "after"], "\(dependency) is no service of the lab")
                    } else if dependency == me {
                        fail(["nodes", node.name, "services", "\(index)", "after"], "service \(me) cannot come after itself")
                    } else {
                        edges[me, default: []].append(dependency)
                    }
                }
            }
        }
        // Depth-first search for a circle; each one is reported once, at one of its members.
        var state: [ServiceReference: Int] = [:]  // 1: on the path, 2: done
        func visit(_ service: ServiceReference, _ trail: [ServiceReference]) -> [ServiceReference]? {
            if state[service] == 2 { return nil }
            if state[service] == 1 { return trail.drop { $0 != service } + [service] }
            state[service] = 1
            for next in edges[service] ?? [] {
                if let circle = visit(next, trail + [service]) { return circle }
            }
            state[service] = 2
            return nil
        }
        for service in edges.keys.sorted(by: { $0.description < $1.description }) where state[service] == nil {
            if let circle = visit(service, []) {
                fail(known[service].map { $0 + ["after"] } ?? [], "services wait for each other in a circle: " + circle.map(\.description).joined(separator: " -> "))
                for member in circle { state[member] = 2 }
            }
        }
    }

    /// A hostname as sethostname(2) and resolvers take it.
    static func isValidHostname(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && !name.hasPrefix("-") && !name.hasPrefix(".")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
    }
}
