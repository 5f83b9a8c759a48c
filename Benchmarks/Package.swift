// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so that building or testing netlab never builds
// package-benchmark and its dependencies. Run them with bench/packet.sh.
let package = Package(
    name: "netlab-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "netlab", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "PacketBenchmarks",
            dependencies: [
                .product(name: "Packet", package: "netlab"),
                .product(name: "Decode", package: "netlab"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/PacketBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "ProxyBenchmarks",
            dependencies: [
                .product(name: "Packet", package: "netlab"),
                .product(name: "Proxy", package: "netlab"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ProxyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
