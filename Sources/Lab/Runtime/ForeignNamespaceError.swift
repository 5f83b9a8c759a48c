/// `up` found namespaces with its nodes' names that netlab did not make for this lab: it
/// creates nothing and touches none of them.
public struct ForeignNamespaceError: Error, CustomStringConvertible, Sendable {
    public let lab: String
    public let names: [String]

    public init(lab: String, names: [String]) {
        self.lab = lab
        self.names = names
    }

    public var description: String {
        let list = names.joined(separator: ", ")
        let commands = names.map { "ip netns del \($0)" }.joined(separator: "; ")
        return "namespace\(names.count == 1 ? "" : "s") \(list) already exist\(names.count == 1 ? "s" : "") and "
            + "\(names.count == 1 ? "was" : "were") not made by netlab for lab \(lab); nothing was created. "
            + "If \(names.count == 1 ? "it is" : "they are") not in use, remove \(names.count == 1 ? "it" : "them") (\(commands)) or rename the lab."
    }
}
