// swift-tools-version: 6.1
import PackageDescription

/// netlab: a Linux network laboratory and userspace VXLAN tunnel.
///
/// Layers, from the bottom up:
/// - `Packet`: zero-copy views, checksums, builders and a layer walker (no system dependencies).
/// - `Capture`: pcap/pcapng files and live captures through libpcap.
/// - `Decode`: tcpdump-style text and the JSON Lines contract of `netlab decode`.
/// - `Netlink`, `Tun`: links, addresses, routes and namespaces through libnl; TUN devices.
/// - `ConfigFile`, `Lab`: TOML topologies with line-numbered errors; building labs.
/// - `Proxy`: the VXLAN forwarding daemon (workers, control socket, metrics, captures).
/// - `Web`: `netlab web`, the running labs live in a browser (SwiftNIO, server-sent events).
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
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
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
            name: "Proxy",
            dependencies: [
                "ConfigFile", "Packet", "Tun", "Netlink", "Capture", "CShim",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwift),
        .target(name: "Capture", dependencies: ["CPcap", "Packet"], swiftSettings: strictSwift),
        .target(name: "Decode", dependencies: ["Packet"], swiftSettings: strictSwift),
        .target(name: "ConfigFile", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")], swiftSettings: strictSwift),
        .target(
            name: "Lab",
            dependencies: [
                "ConfigFile", "Proxy", "Netlink", "Packet", "CShim",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift),
        .target(
            name: "Web",
            dependencies: [
                "Lab", "Capture", "Decode", "Netlink", "Packet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwift),
        .executableTarget(
            name: "netlab",
            dependencies: [
                "Packet", "Capture", "Decode", "Lab", "Netlink", "Proxy", "ConfigFile", "Web",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift),

        // The TUN-to-TUN forwarder of bench/tun.sh and the Tun tests.
        .executableTarget(name: "tun-forward", dependencies: ["Tun", "Netlink", "Packet"], swiftSettings: strictSwift),

        // libFuzzer entry point for the layer walker; a plain build gives a stub (see scripts/fuzz.sh).
        .executableTarget(name: "PacketFuzz", dependencies: ["Packet", "Decode"], swiftSettings: strictSwift),

        // What every test target shares: running helper programs and the netlab binary.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strictSwift),
        .testTarget(
            name: "LabTests", dependencies: ["Lab", "Netlink", "Packet", "Proxy", "TestSupport"],
            swiftSettings: strictSwift),
        .testTarget(name: "WebTests", dependencies: ["Web", "Lab", "Netlink", "TestSupport"], exclude: ["Browser"], swiftSettings: strictSwift),
        .testTarget(name: "ProxyTests", dependencies: ["Proxy", "ConfigFile", "Packet", "Netlink", "Tun", "TestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "TunTests", dependencies: ["Tun", "Netlink", "Packet", "TestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "Packet", "TestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "PacketTests", dependencies: ["Packet"], swiftSettings: strictSwift),
        .testTarget(
            name: "DecodeTests", dependencies: ["Packet", "Capture", "Decode", "TestSupport"],
            resources: [.copy("Captures")], swiftSettings: strictSwift),
    ]
)
