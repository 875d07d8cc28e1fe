//! Prometheus metrics, served at `/metrics` in the text exposition format:
//! requests by method, route pattern and status, their latency, and a few
//! gauges of the archive's state. Route patterns (`/api/v1/documents/{id}`)
//! keep label cardinality bounded; no ids, users or queries appear here.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Histogram,
    pub documents: Gauge,
    pub audit_records: Gauge,
    /// 1 if the catalog came from its snapshot at start, 0 if from the store.
    pub catalog_from_snapshot: Gauge,
    /// Manifests read from the store to load the catalog at start.
    pub catalog_manifests_read: Gauge,
    /// 1 while the sweep for leftovers of interrupted writes runs.
    pub leftover_sweep_running: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("dangan");
        let requests = Family::<Labels, Counter>::default();
        let latency = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let documents = Gauge::default();
        let audit_records = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register("documents", "documents in the archive", documents.clone());
        registry.register(
            "audit_records",
            "records in the retrieval log",
            audit_records.clone(),
        );
        let catalog_from_snapshot = Gauge::default();
        let catalog_manifests_read = Gauge::default();
        registry.register(
            "start_catalog_from_snapshot",
            "1 if the catalog was loaded from its snapshot at start, 0 if from the store",
            catalog_from_snapshot.clone(),
        );
        registry.register(
            "start_catalog_manifests_read",
            "manifests read from the store to load the catalog at start",
            catalog_manifests_read.clone(),
        );
        let leftover_sweep_running = Gauge::default();
        registry.register(
            "leftover_sweep_running",
            "1 while leftovers of writes a crash interrupted are being removed",
            leftover_sweep_running.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            documents,
            audit_records,
            catalog_from_snapshot,
            catalog_manifests_read,
            leftover_sweep_running,
        }
    }
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = vec![
            ("method", method.to_string()),
            ("route", route.to_string()),
            ("status", status.to_string()),
        ];
        self.requests.get_or_create(&labels).inc();
        self.latency.observe(seconds);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
