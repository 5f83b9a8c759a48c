import Netlink

/// The mark netlab leaves inside every namespace it creates, so that it recognises its own even
/// when the state file is lost: an alias on the namespace's loopback, `netlab lab=LAB up=ID`.
///
/// A name proves nothing: anyone may `ip netns add LAB.x`. netlab deletes a namespace, and ends
/// the processes in it, only when the mark inside says the lab is the one being taken down; a
/// namespace with a node's name but without the mark makes `up` stop, naming it. The alias
/// lives in the namespace itself, so it goes when the namespace goes and cannot point at a
/// namespace made later under the same name.
public struct LabMark: Equatable, Sendable, CustomStringConvertible {
    public let lab: String
    /// Which `up` created the namespace.
    public let upID: String

    public init(lab: String, upID: String) {
        self.lab = lab
        self.upID = upID
    }

    /// A fresh id for one `up`.
    public static func newUpID() -> String {
        String((0..<12).map { _ in "0123456789abcdef".randomElement() ?? "0" })
    }

    public var description: String { "netlab lab=\(lab) up=\(upID)" }

    /// Reads the alias text back.
    public init?(alias: String) {
        let words = alias.split(separator: " ")
        guard words.count == 3, words[0] == "netlab", words[1].hasPrefix("lab="), words[2].hasPrefix("up=") else { return nil }
        lab = String(words[1].dropFirst(4))
        upID = String(words[2].dropFirst(3))
    }

    /// The mark inside `namespace`, nil when it has none (or cannot be entered).
    public static func read(in namespace: NetworkNamespace) -> LabMark? {
        guard namespace.exists,
              let alias = try? namespace.run({ try RouteSocket().links().first { $0.name == "lo" }?.alias })
        else { return nil }
        return LabMark(alias: alias)
    }

    /// Writes the mark on the loopback of the calling thread's namespace (and brings it up).
    func write(with socket: RouteSocket) throws(NetlinkError) {
        try socket.change("lo", up: true, alias: description)
    }
}
