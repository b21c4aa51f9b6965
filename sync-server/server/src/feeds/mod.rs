//! Push delivery of the outbox to back-office consumers, each with its own persisted cursor
//! so a restarted server resumes where it stopped (the pull feed is in [`crate::api`]):
//!
//! - [`webhooks`]: every event POSTed, signed, to each registered URL, retried with backoff,
//!   then dead-lettered;
//! - [`nats`]: every event published to NATS JetStream, one stream per event family.
//!
//! Both run as background tasks of `serve` and stop when their shutdown signal fires.
//!
//! **Any number of `serve` processes over one PostgreSQL database** (replicas): webhook
//! workers claim each delivery before sending it, for a lease (see
//! [`crate::store::Store::claim_webhook_deliveries`]), so each event goes out once per webhook
//! and in order per subject, and a claim left by a dead process expires and is taken over;
//! singleton jobs (the NATS publisher) run only in the process that holds their lead
//! ([`crate::store::Store::try_lead`], a PostgreSQL advisory lock), and another takes over
//! when it dies. Claims and leads name their process by [`replica_id`].

pub mod nats;
pub mod webhooks;

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pos_domain::clock::Clock;

use crate::store::{Leadership, Store};

/// The operating system's clock, for the delivery workers of a running server (tests give a
/// [`pos_domain::clock::ManualClock`] instead).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Tells background workers to stop: `send(true)` (or dropping the sender) stops them.
pub type Shutdown = tokio::sync::watch::Receiver<bool>;

/// Waits until `shutdown` fires.
pub async fn stopped(shutdown: &mut Shutdown) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// This process's name in claims and leads: `<host>/<pid>/<random>` (the random part tells a
/// restarted process from a dead one that had the same pid). The same for the whole process.
pub fn replica_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::env::var("HOSTNAME"))
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".into());
        format!(
            "{host}/{}/{:08x}",
            std::process::id(),
            rand::random::<u32>()
        )
    })
}

/// Waits until this process leads the singleton job `job`, trying every `retry`; `None` if
/// `shutdown` fires first. Errors of the store are logged and tried again.
pub async fn lead(
    store: &dyn Store,
    job: &str,
    retry: Duration,
    shutdown: &mut Shutdown,
) -> Option<Box<dyn Leadership>> {
    let mut waiting_logged = false;
    loop {
        match store.try_lead(job).await {
            Ok(Some(lead)) => {
                tracing::info!(job, replica = replica_id(), "leading");
                return Some(lead);
            }
            Ok(None) if !waiting_logged => {
                tracing::info!(job, "another server leads; standing by to take over");
                waiting_logged = true;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(job, error = %e, "could not try to lead; retrying"),
        }
        tokio::select! {
            _ = stopped(shutdown) => return None,
            _ = tokio::time::sleep(retry) => {}
        }
    }
}
