import Netlink
import Packet

/// A machine a lab spans (`[hosts.NAME]`): its underlay address, where the VXLAN of its
/// stitched links ends. Every host derives the same plan from the same file and builds its share.
public struct LabHost: Sendable, Equatable {
    public var name: String
    public var address: IPAddress

    public init(name: String, address: IPAddress) {
        self.name = name
        self.address = address
    }
}

/// How links between hosts are stitched (`[stitch]`).
public struct StitchSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The kernel's VXLAN: a vxlan device per stitched link end, made from the host's own
        /// network namespace (its socket stays there) straight into the node.
        case vxlan
        /// netlab proxies: each stitched end a TUN device in the node, served by a proxy in the
        /// host's network on a port of its own (`ProxyStitchEnd`). IP only.
        case proxy
    }

    /// The UDP port of the stitches' VXLAN.
    public var port: UInt16 = 4789
    public var kind: Kind = .vxlan
    /// The hosts' underlay MTU, which a stitched link's MTU must leave 50 bytes of (`underlay_mtu`).
    public var underlayMTU: Int = 1500

    public init() {}

    /// What VXLAN adds: outer Ethernet, IP (20 bytes for IPv4, 40 for IPv6), UDP and VXLAN headers.
    public static func overhead(ipv6: Bool) -> Int { ipv6 ? 70 : 50 }

    /// The largest MTU a stitched link over this family of underlay may have.
    public func linkMTU(ipv6: Bool) -> Int { underlayMTU - Self.overhead(ipv6: ipv6) }
}

/// A link whose two ends are on different hosts, as both hosts build it.
public struct Stitch: Sendable, Equatable {
    public var link: Link
    public var vni: UInt32
    /// The hosts of `link.a` and `link.b`.
    public var hosts: (a: LabHost, b: LabHost)
    public var mtu: Int

    public static func == (lhs: Stitch, rhs: Stitch) -> Bool {
        lhs.link == rhs.link && lhs.vni == rhs.vni && lhs.hosts.a == rhs.hosts.a && lhs.hosts.b == rhs.hosts.b && lhs.mtu == rhs.mtu
    }

    /// The VNI a link without `vni` gets: 1048576 + FNV-1a of its endpoints (sorted, joined by
    /// "|") modulo 14680064, so it is the same on every host and across runs; on a clash with a
    /// VNI taken before it (links in file order), the next free one.
    static func derivedVNI(_ link: Link) -> UInt32 {
        let key = [link.a.description, link.b.description].sorted().joined(separator: "|")
        var hash: UInt32 = 2_166_136_261
        for byte in key.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return derivedBase + hash % derivedRange
    }

    static let derivedBase: UInt32 = 1 << 20
    static let derivedRange: UInt32 = 0xE0_0000
}
