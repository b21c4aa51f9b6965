//! Webhook delivery: each outbox event is POSTed to each registered webhook that wants its
//! type, as a CloudEvent in structured mode (`Content-Type: application/cloudevents+json`,
//! the body being the event exactly as stored in the outbox).
//!
//! - **Signature**: `X-Pos-Timestamp: <unix seconds>` and
//!   `X-Pos-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`; the timestamp
//!   is in the signed bytes so a captured request cannot be replayed later with a new one.
//!   The secret is stored sealed under the server key and opened for each pass (see
//!   [`crate::server_key`]); a webhook whose secret does not open is not attempted at all, its
//!   events stay queued, and the error is logged.
//! - **At least once**: an event leaves a webhook's queue only when the receiver answered 2xx;
//!   queues and attempts are in the store, so a restarted server resumes.
//! - **Once per webhook across servers**: each pass claims the deliveries it sends, for
//!   [`DeliveryTiming::claim_lease`] (one attempt and its recording, with room to spare), so
//!   other servers over the same database leave them alone; a claim whose server died expires
//!   and another server takes the event over. An event is sent twice only when its server died
//!   after the receiver got it and before its answer was recorded (receivers de-duplicate by
//!   `X-Pos-Event-Id`).
//! - **In order per subject**: an event is attempted only when no earlier event of the same
//!   subject is still queued or dead-lettered for that webhook, and is claimed with it, so one
//!   subject is in the hands of one server at a time; different subjects proceed in
//!   parallel.
//! - **Backoff**: after the n-th failure the next attempt waits `first_retry * 2^(n-1)`
//!   (capped at `max_retry`), half of it fixed and half random (jitter), so receivers coming
//!   back are not hit by every server at once; after `max_attempts` failures the event is a
//!   dead letter, visible at head office, until an admin retries it.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, header};
use futures_util::StreamExt;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::Full;
use pos_domain::clock::Clock;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::Sha256;

use super::{Shutdown, stopped};
use crate::server_key::ServerKeys;
use crate::store::{Claim, DueDelivery, Store, StoreError, Webhook};

/// The header carrying the signature, `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Pos-Signature";
/// The header carrying the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Pos-Timestamp";
/// The header repeating the CloudEvent id, for receivers that de-duplicate before parsing.
pub const EVENT_ID_HEADER: &str = "X-Pos-Event-Id";
/// The content type of a structured-mode CloudEvent.
pub const CONTENT_TYPE: &str = "application/cloudevents+json; charset=utf-8";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Pos-Signature` value of `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Whether `signature_header` is the signature of `body` at `timestamp_header`, compared in
/// constant time (what a receiver does; also used by the tests).
pub fn verify(secret: &str, timestamp_header: &str, signature_header: &str, body: &[u8]) -> bool {
    let Ok(timestamp) = timestamp_header.parse::<i64>() else {
        return false;
    };
    let Some(bytes) = signature_header
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&bytes).is_ok()
}

/// Timing of the delivery worker.
#[derive(Clone, Debug)]
pub struct DeliveryTiming {
    /// Pause between passes over the queues.
    pub poll_interval: Duration,
    /// Base wait after the first failure; doubles with each further failure.
    pub first_retry: Duration,
    /// Longest wait between attempts.
    pub max_retry: Duration,
    /// Failed attempts after which an event is dead-lettered.
    pub max_attempts: u32,
    /// Time a receiver has to answer.
    pub request_timeout: Duration,
    /// Deliveries in flight at once per webhook (each to a different subject): also how many a
    /// pass claims at a time.
    pub parallel: usize,
    /// Outbox events looked at per query when queueing them for a webhook.
    pub batch: u32,
}

impl Default for DeliveryTiming {
    fn default() -> Self {
        DeliveryTiming {
            poll_interval: Duration::from_secs(1),
            first_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(3600),
            max_attempts: 12,
            request_timeout: Duration::from_secs(10),
            parallel: 8,
            batch: 200,
        }
    }
}

impl DeliveryTiming {
    /// How long a claim on a delivery lasts: three times the receiver's time to answer, so the
    /// attempt, its recording and some clock skew between servers fit in it, while an event
    /// claimed by a server that died waits little before another server takes it over.
    pub fn claim_lease(&self) -> Duration {
        self.request_timeout.saturating_mul(3)
    }
}

/// The wait before the next attempt after `failures` failed ones (1 or more), with `jitter`
/// in `[0, 1)`: half of the exponential delay fixed, the other half scaled by the jitter.
pub fn retry_delay(timing: &DeliveryTiming, failures: u32, jitter: f64) -> Duration {
    let exponent = failures.saturating_sub(1).min(30);
    let full = timing
        .first_retry
        .saturating_mul(1u32 << exponent)
        .min(timing.max_retry);
    let half = full / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub delivered: u32,
    pub failed: u32,
    pub dead_lettered: u32,
}

/// What became of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Failed,
    DeadLettered,
}

impl PassReport {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Delivered => self.delivered += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::DeadLettered => self.dead_lettered += 1,
        }
    }
}

/// The webhook delivery worker.
pub struct WebhookWorker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    timing: DeliveryTiming,
    keys: Arc<ServerKeys>,
    http: HttpClient,
    /// The name of this worker's claims.
    claimant: String,
}

/// The HTTP(S) client of the worker.
type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

impl WebhookWorker {
    /// A worker trusting the system's certificate authorities for `https://` webhooks.
    /// `keys` opens the webhooks' sealed secrets.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        timing: DeliveryTiming,
        keys: Arc<ServerKeys>,
    ) -> Result<Self, String> {
        WebhookWorker::with_extra_roots(store, clock, timing, keys, Vec::new())
    }

    /// A worker also trusting `roots` (a private certificate authority of the receivers).
    pub fn with_extra_roots(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        timing: DeliveryTiming,
        keys: Arc<ServerKeys>,
        roots: Vec<CertificateDer<'static>>,
    ) -> Result<Self, String> {
        let mut trusted = rustls::RootCertStore::empty();
        // Unreadable system certificates are skipped: a receiver they would have vouched for
        // then fails its deliveries with a certificate error, visible in the dead letters.
        trusted.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let (_, refused) = trusted.add_parsable_certificates(roots);
        if refused > 0 {
            return Err(format!(
                "{refused} of the extra certificate authorities are not valid certificates"
            ));
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS for webhooks: {e}"))?
        .with_root_certificates(trusted)
        .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let http =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(WebhookWorker {
            store,
            clock,
            timing,
            keys,
            http,
            claimant: super::replica_id().to_string(),
        })
    }

    /// The same worker claiming under another name than its process's (tests run several
    /// servers' workers in one process this way).
    pub fn claiming_as(self, claimant: &str) -> Self {
        WebhookWorker {
            claimant: claimant.to_string(),
            ..self
        }
    }

    /// Reads a PEM file of certificate authorities to trust besides the system's.
    pub fn read_roots(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
        let pem = std::fs::read(path)
            .map_err(|e| format!("reading the certificates in {}: {e}", path.display()))?;
        let roots = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{} is not a PEM file of certificates: {e}", path.display()))?;
        if roots.is_empty() {
            return Err(format!("{} holds no PEM certificate", path.display()));
        }
        Ok(roots)
    }

    /// One pass: queues the new outbox events for every webhook, then claims and attempts the
    /// deliveries that are due, repeating while deliveries succeed (a delivery can free the
    /// next event of its subject). Webhooks are served concurrently, so a slow receiver delays
    /// only itself.
    pub async fn pass(&self) -> Result<PassReport, StoreError> {
        let hooks = self.store.webhook_targets().await?;
        let reports =
            futures_util::future::join_all(hooks.iter().map(|hook| self.pass_one(hook))).await;
        let mut total = PassReport::default();
        for report in reports {
            let report = report?;
            total.delivered += report.delivered;
            total.failed += report.failed;
            total.dead_lettered += report.dead_lettered;
        }
        Ok(total)
    }

    async fn pass_one(&self, hook: &Webhook) -> Result<PassReport, StoreError> {
        let mut report = PassReport::default();
        let secret = match self.keys.get() {
            Ok(key) => key.open(&hook.id, &hook.sealed_secret),
            Err(e) => {
                tracing::error!(webhook = %hook.id, error = %e, "webhook not attempted: no server key");
                return Ok(report);
            }
        };
        let Some(secret) = secret else {
            tracing::error!(webhook = %hook.id,
                "webhook not attempted: its secret does not open with the server key (restart with the key it was sealed with)");
            return Ok(report);
        };
        while self
            .store
            .queue_webhook_events(hook, self.timing.batch, self.clock.now())
            .await?
            == self.timing.batch
        {}
        let parallel = self.timing.parallel.max(1);
        let secret = secret.as_str();
        loop {
            let claimed = self
                .store
                .claim_webhook_deliveries(&hook.id, &self.claim(), parallel as u32)
                .await?;
            if claimed.is_empty() {
                break;
            }
            // Each outcome is recorded as soon as it is known: the claim is released (or the
            // event removed) at once, and a server dying now leaves the fewest deliveries sent
            // but not recorded.
            let outcomes: Vec<_> = futures_util::stream::iter(claimed)
                .map(|delivery| async move {
                    let sent = self.attempt(hook, secret, &delivery).await;
                    self.record(hook, &delivery, sent).await
                })
                .buffer_unordered(parallel)
                .collect()
                .await;
            let before = report.delivered;
            for outcome in outcomes {
                report.count(outcome?);
            }
            if report.delivered == before {
                break;
            }
        }
        Ok(report)
    }

    /// A claim made now, for one lease.
    fn claim(&self) -> Claim {
        let now = self.clock.now();
        let lease =
            chrono::Duration::from_std(self.timing.claim_lease()).unwrap_or(chrono::Duration::MAX);
        Claim {
            by: self.claimant.clone(),
            now,
            until: now + lease,
        }
    }

    async fn record(
        &self,
        hook: &Webhook,
        delivery: &DueDelivery,
        sent: Result<(), String>,
    ) -> Result<Outcome, StoreError> {
        match sent {
            Ok(()) => {
                self.store
                    .webhook_delivered(&hook.id, delivery.cursor)
                    .await?;
                Ok(Outcome::Delivered)
            }
            Err(error) => {
                let failures = delivery.attempts + 1;
                let now = self.clock.now();
                let retry_at = (failures < self.timing.max_attempts).then(|| {
                    let wait = retry_delay(&self.timing, failures, rand::random::<f64>());
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
                });
                let outcome = if retry_at.is_some() {
                    Outcome::Failed
                } else {
                    tracing::warn!(webhook = %hook.id, event = %delivery.event_id, %error,
                        "webhook delivery dead-lettered after {failures} attempts");
                    Outcome::DeadLettered
                };
                self.store
                    .webhook_failed(
                        &hook.id,
                        delivery.cursor,
                        &self.claimant,
                        &error,
                        retry_at,
                        now,
                    )
                    .await?;
                Ok(outcome)
            }
        }
    }

    /// POSTs one event; `Err` says why it did not count as delivered.
    async fn attempt(
        &self,
        hook: &Webhook,
        secret: &str,
        delivery: &DueDelivery,
    ) -> Result<(), String> {
        let timestamp = self.clock.now().timestamp();
        let body = delivery.body.clone().into_bytes();
        let signed = signature(secret, timestamp, &body);
        let request = Request::post(hook.url.as_str())
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .header(EVENT_ID_HEADER, delivery.event_id.as_str())
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signed)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("the webhook URL `{}` is not usable: {e}", hook.url))?;
        let limit = self.timing.request_timeout;
        let response = tokio::time::timeout(limit, self.http.request(request))
            .await
            .map_err(|_| format!("the receiver did not answer within {limit:?} (timed out)"))?
            .map_err(|e| error_chain(&e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered HTTP {status}"))
        }
    }

    /// Runs passes every `poll_interval` until `shutdown` fires. Store errors are logged and
    /// the pass is tried again later: nothing is lost, events stay queued.
    pub async fn run(self, mut shutdown: Shutdown) {
        loop {
            tokio::select! {
                _ = stopped(&mut shutdown) => return,
                result = self.pass() => if let Err(e) = result {
                    tracing::error!(error = %e, "webhook delivery pass failed; retrying");
                },
            }
            tokio::select! {
                _ = stopped(&mut shutdown) => return,
                _ = tokio::time::sleep(self.timing.poll_interval) => {}
            }
        }
    }
}

/// An error with its causes, for the dead-letter list (the client's own message is terse).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_timestamp_and_body() {
        let sig = signature("s3cret", 1_700_000_000, b"{\"id\":\"a\"}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify("s3cret", "1700000000", &sig, b"{\"id\":\"a\"}"));
        assert!(!verify("other", "1700000000", &sig, b"{\"id\":\"a\"}"));
        assert!(!verify("s3cret", "1700000001", &sig, b"{\"id\":\"a\"}"));
        assert!(!verify("s3cret", "1700000000", &sig, b"{\"id\":\"b\"}"));
        assert!(!verify(
            "s3cret",
            "1700000000",
            "sha256=zz",
            b"{\"id\":\"a\"}"
        ));
    }

    #[test]
    fn a_known_signature_vector() {
        // printf '1700000000.hello' | openssl dgst -sha256 -hmac key
        assert_eq!(
            signature("key", 1_700_000_000, b"hello"),
            "sha256=4d583a269f4f276a3fa80ff31b5a01879a848096983222a17893d198418939aa"
        );
    }

    #[test]
    fn retries_back_off_exponentially_with_half_jitter_and_a_cap() {
        let timing = DeliveryTiming {
            first_retry: Duration::from_secs(4),
            max_retry: Duration::from_secs(60),
            ..DeliveryTiming::default()
        };
        assert_eq!(retry_delay(&timing, 1, 0.0), Duration::from_secs(2));
        assert_eq!(retry_delay(&timing, 1, 1.0), Duration::from_secs(4));
        assert_eq!(retry_delay(&timing, 3, 0.0), Duration::from_secs(8));
        assert_eq!(retry_delay(&timing, 3, 0.5), Duration::from_secs(12));
        assert_eq!(retry_delay(&timing, 10, 0.0), Duration::from_secs(30));
        assert_eq!(retry_delay(&timing, 40, 1.0), Duration::from_secs(60));
    }
}
