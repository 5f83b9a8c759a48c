// swift-tools-version: 6.1
import PackageDescription

/// netlab: a Linux network laboratory and userspace VXLAN tunnel.
///
/// Layers, from the bottom up:
/// - `Packet`: zero-copy views, checksums, builders and a layer walker (no system dependencies).
/// - `Capture`: pcap/pcapng files and live captures through libpcap.
/// - `Decode`: tcpdump-style text and the JSON Lines contract of `netlab decode`.
/// - `netlab`: the command-line tool.
let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "netlab",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Packet", targets: ["Packet"]),
        .library(name: "Capture", targets: ["Capture"]),
        .library(name: "Decode", targets: ["Decode"]),
        .library(name: "Netlink", targets: ["Netlink"]),
        .library(name: "Tun", targets: ["Tun"]),
        .library(name: "Proxy", targets: ["Proxy"]),
        .executable(name: "netlab", targets: ["netlab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C stays behind these thin targets.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(
            name: "CNetlink", pkgConfig: "libnl-route-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),

        .target(name: "CShim", dependencies: ["CNetlink"]),

        .target(name: "Packet", swiftSettings: strictSwift),
        .target(name: "Netlink", dependencies: ["CNetlink", "CShim", "Packet"], swiftSettings: strictSwift),
        .target(name: "Tun", dependencies: ["CShim", "Packet"], swiftSettings: strictSwift),
        .target(
            name: "Proxy", dependencies: ["ConfigFile", "Packet", "Tun", "Netlink", "CShim", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: strictSwift),
        .target(name: "Capture", dependencies: ["CPcap", "Packet"], swiftSettings: strictSwift),
        .target(name: "Decode", dependencies: ["Packet"], swiftSettings: strictSwift),
        .target(name: "ConfigFile", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")], swiftSettings: strictSwift),
        .target(
            name: "Lab",
            dependencies: ["ConfigFile", "Netlink", "Packet", "Capture", "Decode", "CShim", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: strictSwift),
        .executableTarget(
            name: "netlab",
            dependencies: [
                "Packet", "Capture", "Decode", "Lab", "Netlink", "Proxy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift),

        // The TUN-to-TUN forwarder of bench/tun.sh and the Tun tests.
        .executableTarget(name: "tun-forward", dependencies: ["Tun", "Netlink", "Packet"], swiftSettings: strictSwift),

        // libFuzzer entry point for the layer walker; a plain build gives a stub (see scripts/fuzz.sh).
        .executableTarget(name: "PacketFuzz", dependencies: ["Packet", "Decode"], swiftSettings: strictSwift),

        .testTarget(
            name: "LabTests", dependencies: ["Lab", "Netlink", "Packet"],
            swiftSettings: strictSwift),
        .testTarget(name: "ProxyTests", dependencies: ["Proxy", "ConfigFile", "Packet", "Netlink"], swiftSettings: strictSwift),
        .testTarget(name: "TunTests", dependencies: ["Tun", "Netlink", "Packet"], swiftSettings: strictSwift),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "Packet"], swiftSettings: strictSwift),
        .testTarget(name: "PacketTests", dependencies: ["Packet"], swiftSettings: strictSwift),
        .testTarget(
            name: "DecodeTests", dependencies: ["Packet", "Capture", "Decode"],
            resources: [.copy("Captures")], swiftSettings: strictSwift),
    ]
)
