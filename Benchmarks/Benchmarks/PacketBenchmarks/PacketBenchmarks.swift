import Benchmark
import Decode
import Packet

/// ns per packet and mallocs for the Packet hot paths (issue targets: 0 mallocs, the 7-layer
/// walk in 25 ns or less, checksum verification at 5 GB/s or more).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 1000,
        maxDuration: .seconds(3),
        maxIterations: 100_000)
    let frames = BenchFrames()
    let randomData = BenchFrames.randomBytes(count: 1 << 20)

    Benchmark("walk 7 layers (eth/ipv4/udp/vxlan/eth/ipv4/tcp)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        frames.small.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                var walker = LayerWalker(raw)
                var n = 0
                while let layer = try? walker.next() { n &+= BenchFrames.weight(layer) }
                blackHole(n)
            }
        }
    }

    // The same frame in one pass: every layer's kind and offsets recorded, the views built when
    // asked for. The C walker and gopacket's DecodingLayerParser figures are for this shape.
    Benchmark("walk 7 layers in one pass (LayerStack)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        frames.small.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                blackHole(LayerStack.walk(raw) { layers in layers.count &+ (layers.error == nil ? 0 : 100) })
            }
        }
    }

    Benchmark("walk 7 layers + verify every checksum, 1500 bytes", configuration: .init(scalingFactor: .kilo)) { benchmark in
        frames.large.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                blackHole(BenchFrames.walkAndVerify(raw))
            }
        }
    }

    Benchmark("walk 7 layers in one pass + verify every checksum, 1500 bytes", configuration: .init(scalingFactor: .kilo)) { benchmark in
        frames.large.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                blackHole(BenchFrames.stackAndVerify(raw))
            }
        }
    }

    // 1500-byte windows walking through 1 MiB of random bytes (it fits in L2): no two calls in a
    // row see the same data, as in the proxy, so no branch predictor can learn the input.
    Benchmark("checksum 1500 bytes", configuration: .init(scalingFactor: .kilo)) { benchmark in
        randomData.withUnsafeBytes { raw in
            var offset = 0
            for _ in benchmark.scaledIterations {
                blackHole(InternetChecksum.of(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 1500)])))
                offset += 1504
                if offset + 1500 > raw.count { offset = 0 }
            }
        }
    }

    Benchmark("write outer VXLAN headers (eth/ipv4/udp/vxlan)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var buffer = [UInt8](repeating: 0, count: 2048)
        let inner = frames.innerLength
        buffer.withUnsafeMutableBytes { raw in
            for i in benchmark.scaledIterations {
                let result = try? frames.encapsulator.encapsulate(
                    in: raw, innerOffset: 128, innerLength: inner, sourcePort: UInt16(truncatingIfNeeded: 49152 &+ i))
                blackHole(result?.start)
            }
        }
    }

    Benchmark("format one VXLAN packet as a JSON line", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let out = OutputBuffer()
        let formatter = JSONLinesFormatter()
        frames.small.withUnsafeBytes { raw in
            let packet = FramedPacket(number: 1, seconds: 0, microseconds: 0, originalLength: raw.count,
                                      linkType: .ethernet, bytes: raw)
            for _ in benchmark.scaledIterations {
                formatter.format(packet, into: out)
                out.removeAll()
            }
        }
    }
}
