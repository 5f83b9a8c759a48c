/// `up` found files where it would write the lab's (a node's /etc/netns hosts file) that
/// netlab did not write for this lab: it creates nothing and overwrites none of them.
public struct ForeignFileError: Error, CustomStringConvertible, Sendable {
    public let lab: String
    public let paths: [String]

    public var description: String {
        "\(paths.joined(separator: ", ")) already exist\(paths.count == 1 ? "s" : "") and \(paths.count == 1 ? "was" : "were") not written by netlab "
            + "for lab \(lab) (ip netns exec binds these files in its namespace); nothing was created. Move \(paths.count == 1 ? "it" : "them") away or rename the lab."
    }
}
