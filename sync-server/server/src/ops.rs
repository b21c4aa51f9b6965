//! Operations: liveness, readiness and Prometheus metrics.
//!
//! - `GET /healthz` answers 200 as long as the process serves requests (for a supervisor that
//!   restarts a hung process). It reads nothing.
//! - `GET /readyz` answers 200 when the database answers a trivial read (its migration count)
//!   within [`READINESS_TIMEOUT`] and holds every migration this build knows; otherwise 503
//!   with `{code, message}` ([`DATABASE_UNAVAILABLE`], [`MIGRATIONS_PENDING`]), so a proxy or
//!   an orchestrator sends requests to the replicas that can serve them. The database's own
//!   error goes to the log, never to the unauthenticated caller.
//! - `GET /metrics`, Prometheus text format ([`Metrics`]): requests by route template and status
//!   with latency histograms (the [`track_requests`] middleware: the matched route, never the
//!   raw path, so ids in paths never become labels; written `/api/v1/tills/:till_id/records`),
//!   records ingested, and gauges read from the
//!   database when scraped, in a few bounded reads ([`crate::store::Store::operations_gauges`]):
//!   tills waiting, outbox lag per consumer, webhook queues and dead letters.
//!
//! Who may read `/metrics`: only whoever reaches the address given to `serve --metrics-listen`
//! (`SYNC_METRICS_LISTEN`, `metrics_listen` in the config file), a listener of its own serving
//! plain HTTP, meant for loopback or a private interface that the Prometheus server reaches and
//! the tills do not. Without it, `/metrics` is not served at all, and it is never on the API's
//! address. A loopback check on the API's address would let everything in behind a local
//! reverse proxy (every request then comes from 127.0.0.1), and a bearer token would be one
//! more secret to rotate and to write into Prometheus' configuration. The metrics hold no
//! per-shop figure in any case: counts by route template, method and status, and fleet-wide
//! counts (tills, outbox positions, webhook queues by webhook id). `/healthz` and `/readyz`
//! are on both addresses, unauthenticated: they tell nothing but "up" and "ready".

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use pos_domain::wire::UploadResponse;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::api::{AppState, Failure};
use crate::store::OperationsGauges;

/// `/readyz` code: the database did not answer (down, refusing connections, or too slow).
pub const DATABASE_UNAVAILABLE: &str = "database_unavailable";
/// `/readyz` code: the database lacks migrations this build needs.
pub const MIGRATIONS_PENDING: &str = "migrations_pending";
/// How long `/readyz` waits for the database before answering 503.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a scrape waits for the database's gauges before answering without them.
pub const GAUGES_TIMEOUT: Duration = Duration::from_secs(5);
/// After how long without a word from a till it counts as waiting, by default.
pub const DEFAULT_TILLS_WAITING_AFTER: Duration = Duration::from_secs(3600);
/// The `route` label of requests that matched no route (one label, whatever the path).
pub const UNMATCHED_ROUTE: &str = "unmatched";
/// Latency buckets, in seconds: a feed poll takes milliseconds, a 5,000-record upload seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The answer of `/healthz` and of a ready `/readyz`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct Status {
    /// `alive` (`/healthz`) or `ready` (`/readyz`).
    pub status: String,
}

/// The server's metrics, in a registry of its own (so several servers in one process, as in
/// tests, keep their counts apart). Shared by every clone of [`crate::ServerConfig`].
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    records_ingested: IntCounter,
    database_up: IntGauge,
    outbox_end: IntGauge,
    consumer_lag: IntGaugeVec,
    webhook_pending: IntGaugeVec,
    webhook_dead: IntGaugeVec,
    tills_enrolled: IntGauge,
    tills_waiting: IntGauge,
    /// Held while the gauges are read and the registry gathered, so concurrent scrapes never
    /// see a half-refreshed set and never read the database at once.
    scrape: tokio::sync::Mutex<()>,
    tills_waiting_after: Duration,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("tills_waiting_after", &self.tills_waiting_after)
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(DEFAULT_TILLS_WAITING_AFTER)
    }
}

impl Metrics {
    /// Fresh metrics; a till not heard from for `tills_waiting_after` counts as waiting.
    pub fn new(tills_waiting_after: Duration) -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "sync_http_requests_total",
                "HTTP requests answered, by method, route template and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric options");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "sync_http_request_duration_seconds",
                "Time to answer an HTTP request, by method and route template",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("valid metric options");
        let gauge =
            |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric options");
        let gauges = |name: &str, help: &str, label: &str| {
            IntGaugeVec::new(Opts::new(name, help), &[label]).expect("valid metric options")
        };
        let metrics = Metrics {
            requests,
            latency,
            records_ingested: IntCounter::new(
                "sync_ingest_records_total",
                "Records newly stored from the tills' uploads (resends not counted)",
            )
            .expect("valid metric options"),
            database_up: gauge(
                "sync_database_up",
                "1 if the last scrape read the database, 0 if it failed (the gauges read from it then keep their previous values)",
            ),
            outbox_end: gauge("sync_outbox_end_cursor", "The newest outbox cursor"),
            consumer_lag: gauges(
                "sync_outbox_consumer_lag_events",
                "Newest outbox cursor minus the consumer's acknowledged cursor (the NATS publisher is the consumer nats-jetstream)",
                "consumer",
            ),
            webhook_pending: gauges(
                "sync_webhook_pending_deliveries",
                "Events queued for a webhook and not delivered yet",
                "webhook",
            ),
            webhook_dead: gauges(
                "sync_webhook_dead_letters",
                "Events parked for a webhook after their last allowed attempt",
                "webhook",
            ),
            tills_enrolled: gauge("sync_tills_enrolled", "Enrolled tills not revoked"),
            tills_waiting: gauge(
                "sync_tills_waiting",
                "Enrolled tills not heard from for longer than serve --tills-waiting-after (their records wait on them)",
            ),
            registry,
            scrape: tokio::sync::Mutex::new(()),
            tills_waiting_after,
        };
        metrics.register_all();
        metrics
    }

    fn register_all(&self) {
        let collectors: [Box<dyn prometheus::core::Collector>; 11] = [
            Box::new(self.requests.clone()),
            Box::new(self.latency.clone()),
            Box::new(self.records_ingested.clone()),
            Box::new(self.database_up.clone()),
            Box::new(self.outbox_end.clone()),
            Box::new(self.consumer_lag.clone()),
            Box::new(self.webhook_pending.clone()),
            Box::new(self.webhook_dead.clone()),
            Box::new(self.tills_enrolled.clone()),
            Box::new(self.tills_waiting.clone()),
            Box::new(start_time_gauge()),
        ];
        for collector in collectors {
            self.registry
                .register(collector)
                .expect("each metric is registered once");
        }
    }

    /// Counts one answered request.
    pub fn observe_request(
        &self,
        method: &Method,
        route: &str,
        status: StatusCode,
        took: Duration,
    ) {
        let method = method_label(method);
        self.requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(took.as_secs_f64());
    }

    /// Counts the records an upload newly stored.
    pub fn count_ingested(&self, answer: &UploadResponse) {
        let stored: u64 = answer.chains.iter().map(|ack| ack.stored).sum();
        self.records_ingested.inc_by(stored);
    }

    /// The metrics in Prometheus text format, with the database's gauges read now.
    pub async fn scrape(&self, state: &AppState) -> String {
        let _one_at_a_time = self.scrape.lock().await;
        let silent_since = Utc::now()
            - chrono::Duration::from_std(self.tills_waiting_after)
                .unwrap_or_else(|_| chrono::Duration::days(3650));
        // Bounded in time too: a database that hangs must not hang every later scrape.
        let read = state.store.operations_gauges(silent_since);
        match tokio::time::timeout(GAUGES_TIMEOUT, read).await {
            Ok(Ok(gauges)) => {
                self.set_gauges(&gauges);
                self.database_up.set(1);
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "metrics: the database's gauges could not be read");
                self.database_up.set(0);
            }
            Err(_) => {
                tracing::warn!(timeout = ?GAUGES_TIMEOUT, "metrics: the database is too slow to read the gauges");
                self.database_up.set(0);
            }
        }
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .expect("the text format encodes every metric");
        String::from_utf8(text).expect("the text format is UTF-8")
    }

    fn set_gauges(&self, gauges: &OperationsGauges) {
        self.outbox_end.set(gauges.outbox_end);
        // Reset first: a consumer or webhook gone since the last scrape leaves no stale series.
        self.consumer_lag.reset();
        for (name, cursor) in &gauges.consumer_cursors {
            self.consumer_lag
                .with_label_values(&[name.as_str()])
                .set((gauges.outbox_end - cursor).max(0));
        }
        self.webhook_pending.reset();
        self.webhook_dead.reset();
        for queue in &gauges.webhook_queues {
            let webhook = [queue.webhook_id.as_str()];
            self.webhook_pending
                .with_label_values(&webhook)
                .set(queue.pending);
            self.webhook_dead
                .with_label_values(&webhook)
                .set(queue.dead);
        }
        self.tills_enrolled.set(gauges.tills_enrolled as i64);
        self.tills_waiting.set(gauges.tills_waiting as i64);
    }
}

/// When these metrics started counting, so a restart (and its counters' reset) shows.
fn start_time_gauge() -> IntGauge {
    let started = IntGauge::new(
        "sync_start_time_seconds",
        "When this server's metrics started counting, in seconds since the Unix epoch",
    )
    .expect("valid metric options");
    started.set(Utc::now().timestamp());
    started
}

/// The `method` label: the standard methods by name, anything else as `other`, so a client
/// inventing methods cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware counting every request by method, matched route template and status, with its
/// latency (to the response's head), and logging it at debug level.
pub async fn track_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || UNMATCHED_ROUTE.to_owned(),
        |path| route_label(path.as_str()),
    );
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let took = started.elapsed();
    metrics.observe_request(&method, &route, response.status(), took);
    tracing::debug!(
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        millis = took.as_millis() as u64,
        "request"
    );
    response
}

/// The `route` label of a route template, its parameters written `:name` rather than `{name}`:
/// the same template, but with no brace inside a label value, which line-oriented readers of
/// the text format (`prometheus-parse` among them) take for the end of the labels.
fn route_label(template: &str) -> String {
    template.replace('{', ":").replace('}', "")
}

/// Alive as long as the process serves requests.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "The process serves requests (it reads nothing, not even the database)", body = Status)))]
pub(crate) async fn healthz() -> Json<Status> {
    Json(Status {
        status: "alive".into(),
    })
}

/// Ready when the database answers and is migrated.
#[utoipa::path(get, path = "/readyz", tag = "meta",
    responses(
        (status = 200, description = "The database answers and holds every migration this server needs: send it requests", body = Status),
        (status = 503, description = "The database does not answer within 2 s (`database_unavailable`) or lacks migrations (`migrations_pending`): send requests to another replica", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, Failure> {
    let unavailable = || {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            DATABASE_UNAVAILABLE,
            "the database does not answer: check that it runs and that this server reaches it (the reason is in the server's log)",
        )
    };
    let schema = match tokio::time::timeout(READINESS_TIMEOUT, state.store.schema_state()).await {
        Ok(Ok(schema)) => schema,
        Ok(Err(error)) => {
            tracing::warn!(%error, "not ready: the database does not answer");
            return Err(unavailable());
        }
        Err(_) => {
            tracing::warn!(timeout = ?READINESS_TIMEOUT, "not ready: the database is too slow to answer");
            return Err(unavailable());
        }
    };
    if schema.applied < schema.known {
        return Err(Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            MIGRATIONS_PENDING,
            format!(
                "the database holds {} of the {} migrations this server needs: restart a server of this version, which migrates it as it starts",
                schema.applied, schema.known
            ),
        ));
    }
    Ok(Json(Status {
        status: "ready".into(),
    }))
}

/// The metrics in Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.config.metrics.scrape(&state).await;
    ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response()
}

/// The probes, for the API's router.
pub fn probe_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The router of the `--metrics-listen` address: `/metrics` and the probes.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .merge(probe_routes())
        .with_state(state)
}

/// Serves [`metrics_router`] on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
