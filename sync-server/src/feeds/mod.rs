//! Push delivery of the outbox to back-office consumers, each with its own persisted cursor
//! so a restarted server resumes where it stopped (the pull feed is in [`crate::api`]):
//!
//! - [`webhooks`]: every event POSTed, signed, to each registered URL, retried with backoff,
//!   then dead-lettered;
//! - [`nats`]: every event published to NATS JetStream, one stream per event family.
//!
//! Both run as background tasks of `serve` and stop when their shutdown signal fires.

pub mod nats;
pub mod webhooks;

use chrono::{DateTime, Utc};
use pos_domain::clock::Clock;

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
