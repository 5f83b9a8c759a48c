import CoreMetrics
import Prometheus
import Synchronization

/// The proxy's Prometheus metrics, kept with swift-metrics in a registry of the daemon's own
/// (not the process-wide bootstrap, so tests may run several daemons).
///
/// Workers never touch a metric: they count in plain memory, and each scrape adds what was
/// counted since the previous scrape to the metrics. The hot path pays nothing for metrics.
final class ProxyMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// The totals at the previous scrape, by metric and labels.
    private let previous = Mutex<[String: UInt64]>([:])

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Brings the metrics up to `status` and renders them in the Prometheus text format.
    func render(_ status: ProxyStatus) -> [UInt8] {
        previous.withLock { last in
            func counter(_ name: String, _ labels: [(String, String)], _ total: UInt64) {
                let key = name + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                let delta = total &- (last[key] ?? 0)
                last[key] = total
                guard total >= delta else { return }
                Counter(label: name, dimensions: labels, factory: factory).increment(by: Int64(clamping: delta))
            }
            for peer in status.peers {
                let labels = [("peer", peer.endpoint), ("vni", "\(peer.vni)")]
                counter("netlab_proxy_packets_total", labels + [("direction", "out")], peer.packetsOut)
                counter("netlab_proxy_packets_total", labels + [("direction", "in")], peer.packetsIn)
                counter("netlab_proxy_bytes_total", labels + [("direction", "out")], peer.bytesOut)
                counter("netlab_proxy_bytes_total", labels + [("direction", "in")], peer.bytesIn)
            }
            for (reason, count) in status.drops.sorted(by: { $0.key < $1.key }) {
                counter("netlab_proxy_drops_total", [("reason", reason)], count)
            }
            counter("netlab_proxy_errors_total", [], status.errors)
            counter("netlab_proxy_device_dropped_total", [], status.deviceDropped ?? 0)
            counter("netlab_proxy_tun_packets_total", [("direction", "in")], status.tunPacketsIn)
            counter("netlab_proxy_tun_packets_total", [("direction", "out")], status.tunPacketsOut)
            counter("netlab_proxy_underlay_datagrams_total", [("direction", "in")], status.underlayDatagramsIn)
            counter("netlab_proxy_underlay_datagrams_total", [("direction", "out")], status.underlayDatagramsOut)
            counter("netlab_proxy_reloads_total", [], UInt64(status.reloads))
            counter("netlab_proxy_neighbors_refused_total", [], status.neighborsRefused)
        }
        Gauge(label: "netlab_proxy_active_flows", dimensions: [], factory: factory).record(status.activeFlows)
        Gauge(label: "netlab_proxy_peers", dimensions: [], factory: factory).record(status.peers.count)
        Gauge(label: "netlab_proxy_uptime_seconds", dimensions: [], factory: factory).record(status.uptimeSeconds)
        Gauge(label: "netlab_proxy_neighbors", dimensions: [], factory: factory).record(status.neighbors.count)
        for peer in status.peers {
            Gauge(label: "netlab_proxy_path_mtu_bytes", dimensions: [("peer", peer.endpoint), ("vni", "\(peer.vni)")], factory: factory)
                .record(peer.pathMTU)
        }
        return registry.emitToBuffer()
    }
}
