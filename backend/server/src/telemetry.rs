//! Logs (tracing; JSON lines in production) and Prometheus metrics.

use std::sync::atomic::AtomicU64;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use tracing_subscriber::{fmt, layer::SubscriberExt as _, util::SubscriberInitExt as _, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG` overrides the default filter.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,actix_server=warn")
    });
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
    // A second call (tests starting several apps) keeps the first subscriber.
    let _ = result;
}

/// Labels of the per-request series: the route template, never the raw path, so
/// ids in URLs cannot explode the series count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    pub state: &'static str,
}

type HistogramFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 15,
    ))
}

/// The process's metrics registry and the series the middleware feeds.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<HttpLabels, Counter>,
    pub latency: HistogramFamily,
    pub in_flight: Gauge<i64, std::sync::atomic::AtomicI64>,
    pub db_connections: Family<PoolLabels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    pub db_max_connections: Gauge<i64, std::sync::atomic::AtomicI64>,
    pub build_info: Counter<u64, AtomicU64>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("attest");
        let requests = Family::<HttpLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let in_flight = Gauge::default();
        let db_connections = Family::default();
        let db_max_connections = Gauge::default();
        let build_info = Counter::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            latency.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being answered now",
            in_flight.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state",
            db_connections.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Database pool size limit",
            db_max_connections.clone(),
        );
        registry.register(
            "process_starts",
            "Process starts of this build",
            build_info.clone(),
        );
        build_info.inc();
        Self {
            registry,
            requests,
            latency,
            in_flight,
            db_connections,
            db_max_connections,
            build_info,
        }
    }

    /// The OpenMetrics text of every series.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
