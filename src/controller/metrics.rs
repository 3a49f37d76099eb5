//! Prometheus metrics (Chains' names, plus hallmark's own) and the `/metrics`, `/healthz`
//! and `/readyz` endpoints.
//!
//! Chains' counters, per kind (`taskrun`, `pipelinerun`): `watcher_<kind>_sign_created_total`
//! (signed), `watcher_<kind>_payload_uploaded_total` (logged in Rekor),
//! `watcher_<kind>_payload_stored_total` (stored in a backend),
//! `watcher_<kind>_marked_signed_total` (recorded `signed=true`), and
//! `watcher_<kind>_signing_failures_total` (recorded `failed`).
//!
//! hallmark's: `hallmark_publish_latency_seconds{kind}` (completion to recorded),
//! `hallmark_queue_depth`, `hallmark_queue_oldest_seconds`,
//! `hallmark_sink_errors_total{sink,cause}`, `hallmark_retries_total{kind}`,
//! `hallmark_fulcio_certificate_requests_total` and `hallmark_signatures_total` (their
//! ratio is the Fulcio certificate reuse), `hallmark_config_errors_total`, `hallmark_leader`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels `kind`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// `taskrun` / `pipelinerun`.
    pub kind: String,
}

/// Labels `sink`, `cause`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    /// `rekor`, `oci-legacy`, `oci-referrers`, `oci-signature`, `tekton`.
    pub sink: String,
    /// A short cause (`timeout`, `http-5xx`, `conflict`, `other`).
    pub cause: String,
}

/// Chains' counters for one kind.
#[derive(Clone, Default)]
pub struct KindCounters {
    /// Signed.
    pub sign_created: Counter,
    /// Logged.
    pub payload_uploaded: Counter,
    /// Stored.
    pub payload_stored: Counter,
    /// Recorded `signed=true`.
    pub marked_signed: Counter,
    /// Recorded `failed`.
    pub signing_failures: Counter,
}

/// Every metric.
pub struct Metrics {
    registry: Registry,
    /// TaskRun counters.
    pub taskrun: KindCounters,
    /// PipelineRun counters.
    pub pipelinerun: KindCounters,
    /// Completion to recorded.
    pub latency: Family<KindLabel, Histogram>,
    /// Queue depth.
    pub queue_depth: Gauge,
    /// Age of the oldest queued item (seconds, as a float gauge).
    pub queue_oldest: Gauge<f64, AtomicU64>,
    /// Sink errors.
    pub sink_errors: Family<SinkLabel, Counter>,
    /// Retries.
    pub retries: Family<KindLabel, Counter>,
    /// Fulcio certificate requests (set from the keyless signer at scrape time).
    pub fulcio_requests: Counter,
    /// Signatures made.
    pub signatures: Counter,
    /// Configuration problems seen.
    pub config_errors: Counter,
    /// 1 while this process is the leader.
    pub leader: Gauge,
}

fn latency_histogram() -> Histogram {
    Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0])
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let taskrun = KindCounters::default();
        let pipelinerun = KindCounters::default();
        for (kind, c) in [("taskrun", &taskrun), ("pipelinerun", &pipelinerun)] {
            registry.register(
                format!("watcher_{kind}_sign_created"),
                format!("{kind}s signed"),
                c.sign_created.clone(),
            );
            registry.register(
                format!("watcher_{kind}_payload_uploaded"),
                format!("{kind} attestations logged in the transparency log"),
                c.payload_uploaded.clone(),
            );
            registry.register(
                format!("watcher_{kind}_payload_stored"),
                format!("{kind} attestations stored"),
                c.payload_stored.clone(),
            );
            registry.register(
                format!("watcher_{kind}_marked_signed"),
                format!("{kind}s recorded signed=true"),
                c.marked_signed.clone(),
            );
            registry.register(
                format!("watcher_{kind}_signing_failures"),
                format!("{kind}s recorded signed=failed"),
                c.signing_failures.clone(),
            );
        }
        let latency = Family::<KindLabel, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let m = Self {
            taskrun,
            pipelinerun,
            latency,
            queue_depth: Gauge::default(),
            queue_oldest: Gauge::default(),
            sink_errors: Family::default(),
            retries: Family::default(),
            fulcio_requests: Counter::default(),
            signatures: Counter::default(),
            config_errors: Counter::default(),
            leader: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "hallmark_publish_latency_seconds",
            "Seconds from a run's completion to its record",
            m.latency.clone(),
        );
        registry.register("hallmark_queue_depth", "Runs queued", m.queue_depth.clone());
        registry.register(
            "hallmark_queue_oldest_seconds",
            "Age of the oldest queued run",
            m.queue_oldest.clone(),
        );
        registry.register(
            "hallmark_sink_errors",
            "Sink errors by sink and cause",
            m.sink_errors.clone(),
        );
        registry.register(
            "hallmark_retries",
            "Failed attempts that will be retried",
            m.retries.clone(),
        );
        registry.register(
            "hallmark_fulcio_certificate_requests",
            "Fulcio certificate requests",
            m.fulcio_requests.clone(),
        );
        registry.register(
            "hallmark_signatures",
            "Signatures made",
            m.signatures.clone(),
        );
        registry.register(
            "hallmark_config_errors",
            "Configuration problems seen",
            m.config_errors.clone(),
        );
        registry.register(
            "hallmark_leader",
            "1 while this process leads",
            m.leader.clone(),
        );
        Self { registry, ..m }
    }
}

impl Metrics {
    /// The counters of a kind.
    #[must_use]
    pub fn kind(&self, kind: super::record::Kind) -> &KindCounters {
        match kind {
            super::record::Kind::TaskRun => &self.taskrun,
            super::record::Kind::PipelineRun => &self.pipelinerun,
        }
    }

    /// The text exposition.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut s = String::new();
        if prometheus_client::encoding::text::encode(&mut s, &self.registry).is_err() {
            s.clear();
        }
        s
    }
}

/// Advance `counter` to a running total read elsewhere (`now`), given the total it was
/// last advanced to (`last`). A total that went down (its source was rebuilt) starts
/// counting again from there.
pub fn advance(counter: &Counter, last: &AtomicU64, now: u64) {
    let before = last.swap(now, Ordering::Relaxed);
    if now > before {
        counter.inc_by(now - before);
    } else if now < before {
        counter.inc_by(now);
    }
}

/// A short cause of a sink error message, for the `cause` label.
#[must_use]
pub fn cause(reason: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    if r.contains("timed out") || r.contains("timeout") {
        "timeout"
    } else if r.contains("connect") || r.contains("connection") {
        "connection"
    } else if r.contains(" 5") && (r.contains("http") || r.contains("status")) {
        "http-5xx"
    } else if r.contains("401")
        || r.contains("403")
        || r.contains("unauthorized")
        || r.contains("denied")
    {
        "auth"
    } else if r.contains("digest") {
        "digest"
    } else {
        "other"
    }
}

/// Serve `/metrics`, `/healthz` (alive) and `/readyz` (`ready` is set: watches synced)
/// on `listener` until the future is dropped. `refresh` runs before each scrape.
///
/// # Errors
///
/// The server's I/O error.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    refresh: Arc<dyn Fn() + Send + Sync>,
) -> std::io::Result<()> {
    use axum::routing::get;
    let m = Arc::clone(&metrics);
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = Arc::clone(&m);
                let refresh = Arc::clone(&refresh);
                async move {
                    refresh();
                    (
                        [(
                            "content-type",
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        m.encode(),
                    )
                }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let ready = Arc::clone(&ready);
                async move {
                    if ready.load(Ordering::Relaxed) {
                        (axum::http::StatusCode::OK, "ready")
                    } else {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "not ready")
                    }
                }
            }),
        );
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_metric_names_are_exported() {
        let m = Metrics::default();
        m.taskrun.sign_created.inc();
        m.latency
            .get_or_create(&KindLabel {
                kind: "taskrun".into(),
            })
            .observe(0.3);
        let text = m.encode();
        for name in [
            "watcher_taskrun_sign_created_total 1",
            "watcher_pipelinerun_marked_signed_total 0",
            "hallmark_publish_latency_seconds_bucket",
            "hallmark_queue_depth",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
        assert_eq!(cause("GET http://x: operation timed out"), "timeout");
        let last = AtomicU64::new(0);
        advance(&m.signatures, &last, 3);
        advance(&m.signatures, &last, 5);
        advance(&m.signatures, &last, 1); // rebuilt source: counts again from there
        assert_eq!(m.signatures.get(), 6);
        assert_eq!(cause("registry 127.0.0.1: HTTP status 503"), "http-5xx");
    }
}
