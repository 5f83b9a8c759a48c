import Benchmark
import Packet
import Proxy

/// ns per packet and mallocs for the proxy's per-packet decisions, without I/O: what a worker
/// does between reading a packet and handing it to the kernel. The target is 0 mallocs. (Egress
/// once hashed the listen address's text for every source MAC it wrote: 195 ns a packet instead
/// of 59, and a malloc whenever the text outgrew a small string, as an IPv6 address does.)
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 1000,
        maxDuration: .seconds(3),
        maxIterations: 100_000)
    guard let bench = try? ProxyBench() else { fatalError("the benchmark configuration does not parse") }

    Benchmark("engine egress: an 84-byte ICMP packet to a VXLAN payload", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(bench.egress())
        }
    }

    Benchmark("engine ingress: a VXLAN datagram to a TCP packet for the TUN device", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(bench.ingress())
        }
    }

    Benchmark("flow table: key and record one packet", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(bench.record(now: UInt64(i)))
        }
    }
}
