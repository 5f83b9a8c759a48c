/// What a lab claims to show, as a command that proves it (`[[checks]]`): run inside a node,
/// it must end with the expected status, within a number of tries a second apart.
public struct Check: Sendable, Equatable, Codable {
    public var name: String
    public var node: String
    /// A shell command line (`/bin/sh -c`).
    public var run: String
    /// The exit status that means it holds (default 0).
    public var expect: Int32
    /// Tries after the first failing one, 1 s apart (default 0): BGP, ARP and friends take a
    /// moment after `up`.
    public var retries: Int

    public init(name: String, node: String, run: String, expect: Int32 = 0, retries: Int = 0) {
        self.name = name
        self.node = node
        self.run = run
        self.expect = expect
        self.retries = retries
    }
}
