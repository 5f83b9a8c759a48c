import Foundation
import Lab
import Netlink
import Testing

@Suite("Lab TUN and TAP interfaces", .serialized)
struct TunLabTests {
    @Test("tun and tap interfaces are created persistent, addressed and up, and go with the lab")
    func tunTap() throws {
        var parser = TopologyParser(text: """
            name = "nlttun\(getpid())-tun"
            [nodes.a.interfaces.tun0]
            kind = "tun"
            addresses = ["10.66.0.1/24"]
            [nodes.a.interfaces.tap0]
            kind = "tap"
            mtu = 1400
            """, file: "tun.toml")
        let topology = try parser.parse()
        defer { _ = try? LabTeardown.down(topology.name) }
        try LabBuilder(topology: topology).up()
        let status = try #require(LabStatus.read(topology.name))
        let interfaces = try #require(status.nodes.first?.interfaces)
        let tun = interfaces.first { $0.name == "tun0" }
        let tap = interfaces.first { $0.name == "tap0" }
        #expect(tun?.kind == "tun" && tun?.addresses == ["10.66.0.1/24"])
        #expect(tap?.kind == "tun" && tap?.mtu == 1400 && tap?.mac != nil)
        #expect(try LabTeardown.down(topology.name).namespaces == 1)
    }
}
