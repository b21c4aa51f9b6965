//! NATS JetStream publisher (`serve --nats URL`): every outbox event, in outbox order, is
//! published to the stream of its family, so accounting, the CRM and the web shop consume at
//! their own pace and a new consumer can replay a stream from its start.
//!
//! - **Streams**: one per event family ([`family`]): `POS_SALES` (tickets, training tickets,
//!   duplicates), `POS_ORDERS` (web orders), `POS_ACCOUNTING` (closures, cash, journal
//!   entries), `POS_CRM` (customers, purchases), `POS_STOCK` (per-shop stock levels),
//!   `POS_FLEET` (technical events, archives, alarms) and `POS_OTHER` for any type not listed.
//!   Each is created if missing, capturing the subjects `pos.<family>.>`; an event is
//!   published on `pos.<family>.<type>`, its type without the leading `pos.`,
//!   e.g. `pos.sales.record.ticket.accepted`.
//! - **No loss, no duplicate**: each event is published with its CloudEvent id as
//!   `Nats-Msg-Id`, so JetStream drops a second copy within its duplicate window; the
//!   publisher's cursor (a feed consumer named `nats-jetstream`, visible with the other
//!   consumers) moves only past events JetStream acknowledged, so a restart resumes there.
//! - **One publisher among replicas**: the publisher publishes only while its process leads the
//!   job `nats <cursor name>` ([`crate::feeds::lead`], a PostgreSQL advisory lock held on a
//!   connection of its own); the other servers stand by and one takes over within a poll
//!   interval of the leader's death. `Nats-Msg-Id` stays the second line of defence, for the
//!   moment a leader lost its lock but has not noticed yet.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, context::Context, message::PublishMessage};
use chrono::Utc;

use super::{Shutdown, stopped};
use crate::store::{Leadership, Store};

/// Any error of the publisher (connection, stream creation, publish, store).
pub type NatsError = async_nats::Error;

/// Event families, each with its own stream.
pub const FAMILIES: [&str; 7] = [
    "SALES",
    "ORDERS",
    "ACCOUNTING",
    "CRM",
    "STOCK",
    "FLEET",
    "OTHER",
];

/// The family of an event type.
pub fn family(event_type: &str) -> &'static str {
    let record = event_type.strip_prefix("pos.record.");
    let chain = record.and_then(|r| r.split('.').next());
    match chain {
        Some("ticket" | "training" | "duplicate") => return "SALES",
        Some("closure" | "cash") => return "ACCOUNTING",
        Some(_) => return "FLEET",
        None => {}
    }
    let area = event_type
        .strip_prefix("pos.")
        .and_then(|t| t.split('.').next())
        .unwrap_or_default();
    match area {
        "accounting" => "ACCOUNTING",
        "crm" => "CRM",
        "stock" => "STOCK",
        "alarm" => "FLEET",
        a if a.contains("order") => "ORDERS",
        _ => "OTHER",
    }
}

/// Where the publisher publishes.
#[derive(Clone, Debug)]
pub struct NatsConfig {
    /// `nats://HOST:PORT`.
    pub url: String,
    /// Stream names are `<stream_prefix>_<FAMILY>`.
    pub stream_prefix: String,
    /// Subjects are `<subject_prefix>.<family>.<event type>`.
    pub subject_prefix: String,
    /// The feed consumer holding the publisher's cursor.
    pub cursor_name: String,
    /// Events published per round.
    pub batch: u32,
    /// Pause between rounds when there is nothing new, and before retrying after an error.
    pub poll_interval: Duration,
}

impl NatsConfig {
    /// The defaults for a server publishing to `url`.
    pub fn new(url: &str) -> NatsConfig {
        NatsConfig {
            url: url.to_string(),
            stream_prefix: "POS".into(),
            subject_prefix: "pos".into(),
            cursor_name: "nats-jetstream".into(),
            batch: 500,
            poll_interval: Duration::from_millis(500),
        }
    }

    /// Streams named `<PREFIX>_<FAMILY>` and subjects `<prefix>.<family>...` for `prefix`
    /// (1 to 32 ASCII letters, digits, `-` or `_`).
    pub fn with_prefix(self, prefix: &str) -> Result<NatsConfig, String> {
        let ok = !prefix.is_empty()
            && prefix.len() <= 32
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(format!(
                "NATS prefix `{prefix}`: use 1 to 32 letters, digits, `-` or `_`"
            ));
        }
        Ok(NatsConfig {
            stream_prefix: prefix.to_uppercase(),
            subject_prefix: prefix.to_lowercase(),
            ..self
        })
    }

    /// The stream of a family.
    pub fn stream(&self, family: &str) -> String {
        format!("{}_{family}", self.stream_prefix)
    }

    /// The subjects a family's stream captures.
    pub fn stream_subjects(&self, family: &str) -> String {
        format!("{}.{}.>", self.subject_prefix, family.to_lowercase())
    }

    /// The subject of an event type; characters NATS gives a meaning to become `_`.
    pub fn subject(&self, event_type: &str) -> String {
        let own = event_type.strip_prefix("pos.").unwrap_or(event_type);
        let tokens: Vec<String> = own
            .split('.')
            .map(|t| {
                let clean: String = t
                    .chars()
                    .map(|c| {
                        if c == '*' || c == '>' || c.is_whitespace() {
                            '_'
                        } else {
                            c
                        }
                    })
                    .collect();
                if clean.is_empty() { "_".into() } else { clean }
            })
            .collect();
        format!(
            "{}.{}.{}",
            self.subject_prefix,
            family(event_type).to_lowercase(),
            tokens.join(".")
        )
    }
}

/// The publisher: the outbox after its cursor, to JetStream.
pub struct NatsPublisher {
    store: Arc<dyn Store>,
    config: NatsConfig,
    jetstream: Context,
    streams_ready: bool,
}

impl NatsPublisher {
    /// Connects (retrying in the background if the server is not up yet: the sync server
    /// never waits for NATS).
    pub async fn connect(store: Arc<dyn Store>, config: NatsConfig) -> Result<Self, NatsError> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(config.url.as_str())
            .await?;
        Ok(NatsPublisher {
            store,
            config,
            jetstream: jetstream::new(client),
            streams_ready: false,
        })
    }

    /// Creates the streams that are missing.
    pub async fn ensure_streams(&mut self) -> Result<(), NatsError> {
        for family in FAMILIES {
            self.jetstream
                .get_or_create_stream(jetstream::stream::Config {
                    name: self.config.stream(family),
                    subjects: vec![self.config.stream_subjects(family)],
                    description: Some(format!(
                        "Point-of-sale head-office events of the {} family (CloudEvents JSON)",
                        family.to_lowercase()
                    )),
                    ..Default::default()
                })
                .await?;
        }
        self.streams_ready = true;
        Ok(())
    }

    /// Publishes the events after the cursor, up to one batch, and moves the cursor past
    /// those JetStream acknowledged. Returns how many were published.
    pub async fn round(&mut self) -> Result<u32, NatsError> {
        if !self.streams_ready {
            self.ensure_streams().await?;
        }
        let name = &self.config.cursor_name;
        let after = self.store.consumer_cursor(name).await?.unwrap_or(0);
        let events = self.store.feed(after, self.config.batch).await?;
        if events.is_empty() {
            return Ok(0);
        }
        // Publish the whole batch, then collect the acknowledgements in order, so the round
        // trip is paid once per batch rather than once per event.
        let mut pending = Vec::with_capacity(events.len());
        for event in &events {
            let id = event.event["id"].as_str().unwrap_or_default();
            let event_type = event.event["type"].as_str().unwrap_or_default();
            let body = serde_json::to_vec(&event.event)?;
            let ack = self
                .jetstream
                .send_publish(
                    self.config.subject(event_type),
                    PublishMessage::build().payload(body.into()).message_id(id),
                )
                .await?;
            pending.push((event.cursor, ack));
        }
        let mut published = after;
        let mut result = Ok(());
        for (cursor, ack) in pending {
            match ack.await {
                Ok(_) => published = cursor,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if published > after {
            self.store
                .set_consumer_cursor(name, published, Utc::now())
                .await?;
        }
        result?;
        Ok(events.len() as u32)
    }

    /// The singleton job of this publisher, led by one server at a time.
    fn job(&self) -> String {
        format!("nats {}", self.config.cursor_name)
    }

    /// Publishes while this process leads the job (see the module's doc), until `shutdown`
    /// fires; a lost lead is waited for again.
    pub async fn run(mut self, mut shutdown: Shutdown) {
        let (store, job, retry) = (self.store.clone(), self.job(), self.config.poll_interval);
        while let Some(mut lead) = super::lead(store.as_ref(), &job, retry, &mut shutdown).await {
            if self
                .publish_while_leading(lead.as_mut(), &mut shutdown)
                .await
            {
                return;
            }
            tracing::warn!(
                job,
                "lost the lead (its database connection broke); standing by"
            );
        }
    }

    /// Publishes until `shutdown` fires (true) or the lead is lost (false); errors (NATS down,
    /// a stream refused) are logged and the round is tried again after the poll interval, from
    /// the saved cursor.
    async fn publish_while_leading(
        &mut self,
        lead: &mut dyn Leadership,
        shutdown: &mut Shutdown,
    ) -> bool {
        loop {
            if !lead.still_leading().await {
                return false;
            }
            let wait = tokio::select! {
                _ = stopped(shutdown) => return true,
                result = self.round() => match result {
                    Ok(n) => n < self.config.batch,
                    Err(e) => {
                        tracing::warn!(error = %e, url = %self.config.url, "NATS publishing failed; retrying");
                        self.streams_ready = false;
                        true
                    }
                },
            };
            if wait {
                tokio::select! {
                    _ = stopped(shutdown) => return true,
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_fall_in_their_family() {
        assert_eq!(family("pos.record.ticket.accepted"), "SALES");
        assert_eq!(family("pos.record.training.accepted"), "SALES");
        assert_eq!(family("pos.record.closure.accepted"), "ACCOUNTING");
        assert_eq!(family("pos.record.cash.accepted"), "ACCOUNTING");
        assert_eq!(family("pos.accounting.entry.posted"), "ACCOUNTING");
        assert_eq!(family("pos.record.event.accepted"), "FLEET");
        assert_eq!(family("pos.alarm.raised"), "FLEET");
        assert_eq!(family("pos.crm.customer.created"), "CRM");
        assert_eq!(family("pos.stock.level.changed"), "STOCK");
        assert_eq!(family("pos.web_order.ready"), "ORDERS");
        assert_eq!(family("pos.order.collected"), "ORDERS");
        assert_eq!(family("something.else"), "OTHER");
    }

    #[test]
    fn subjects_fall_under_their_stream() {
        let config = NatsConfig::new("nats://127.0.0.1:4222");
        assert_eq!(
            config.subject("pos.record.ticket.accepted"),
            "pos.sales.record.ticket.accepted"
        );
        assert_eq!(config.stream_subjects("SALES"), "pos.sales.>");
        assert_eq!(config.stream("CRM"), "POS_CRM");
        assert_eq!(config.subject("pos.x y.*..>"), "pos.other.x_y._._._");
    }
}
