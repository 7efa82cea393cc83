//! Logs (tracing; JSON lines in production) and Prometheus metrics.

use std::{cell::Cell, future::Future, sync::atomic::AtomicU64};

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatementLabels {
    pub outcome: &'static str,
}

tokio::task_local! {
    /// The statements the current request has run (see [`counting_statements`]).
    static REQUEST_STATEMENTS: Cell<u32>;
}

/// Runs a request's future, counting the database statements it runs: the
/// statement observer adds to the count of the task it runs in.
pub async fn counting_statements<F: Future>(request: F) -> (F::Output, u32) {
    REQUEST_STATEMENTS
        .scope(Cell::new(0), async {
            let output = request.await;
            (output, REQUEST_STATEMENTS.with(Cell::get))
        })
        .await
}

fn statement_histogram() -> Histogram {
    // 25 µs .. ~0.8 s
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.000_025, 2.0, 16,
    ))
}

fn statements_per_request_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::linear_buckets(
        0.0, 1.0, 17,
    ))
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
    pub db_statements: Family<StatementLabels, Counter>,
    pub db_statement_duration: Histogram,
    pub request_statements: HistogramFamily,
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
        let db_statements = Family::default();
        let db_statement_duration = statement_histogram();
        let request_statements: HistogramFamily =
            Family::new_with_constructor(statements_per_request_histogram);
        let build_info = Counter::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "db_statements",
            "Database statements run, by outcome",
            db_statements.clone(),
        );
        registry.register(
            "db_statement_duration_seconds",
            "Time a database statement took",
            db_statement_duration.clone(),
        );
        registry.register(
            "http_request_db_statements",
            "Database statements one HTTP request ran",
            request_statements.clone(),
        );
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
            db_statements,
            db_statement_duration,
            request_statements,
            build_info,
        }
    }

    /// What the database connection calls after each statement: the counters,
    /// and the count of the request running it.
    pub fn statement_observer(&self) -> impl Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static {
        let (statements, duration) = (self.db_statements.clone(), self.db_statement_duration.clone());
        move |info| {
            let outcome = if info.failed { "error" } else { "ok" };
            statements.get_or_create(&StatementLabels { outcome }).inc();
            duration.observe(info.elapsed.as_secs_f64());
            let _outside_a_request = REQUEST_STATEMENTS.try_with(|count| count.set(count.get() + 1));
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
