//! CloudEvents 1.0 (structured JSON mode) for the outbox. Ids are stable, derived from what the
//! event describes, so a consumer can de-duplicate deliveries and a replay produces the same ids.

use chrono::{DateTime, Utc};
use pos_domain::record::{SignedRecord, timestamp};
use serde_json::{Value, json};

use crate::ingest::NewAlarm;

/// Event type of an accepted record: `pos.record.<chain>.accepted`.
pub fn record_type(chain: &str) -> String {
    format!("pos.record.{chain}.accepted")
}

/// Event type of an alarm.
pub const ALARM_TYPE: &str = "pos.alarm.raised";

/// An event to write to the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEvent {
    /// Stable id (CloudEvents `id`); unique in the outbox.
    pub id: String,
    pub event_type: String,
    pub subject: String,
    /// The whole CloudEvent, as JSON.
    pub envelope: Value,
}

impl OutboxEvent {
    /// A CloudEvents 1.0 event with JSON `data`; its id, type and subject are kept beside the
    /// envelope for the outbox's columns.
    pub fn new(
        id: impl Into<String>,
        event_type: impl Into<String>,
        source: impl Into<String>,
        subject: impl Into<String>,
        time: impl Into<String>,
        data: Value,
    ) -> OutboxEvent {
        let (id, event_type, subject) = (id.into(), event_type.into(), subject.into());
        let envelope = json!({
            "specversion": "1.0",
            "id": id,
            "source": source.into(),
            "type": event_type,
            "subject": subject,
            "time": time.into(),
            "datacontenttype": "application/json",
            "data": data,
        });
        OutboxEvent {
            id,
            event_type,
            subject,
            envelope,
        }
    }
}

/// The event of an accepted record: its identity, hash, time and payload.
pub fn record_accepted(shop_id: &str, signed: &SignedRecord, hash: &str) -> OutboxEvent {
    let r = &signed.record;
    let subject = format!("tills/{}/{}/{}", r.till, r.chain, r.seq);
    let event_type = record_type(r.chain.name());
    let id = format!("record/{}/{}/{}", r.till, r.chain, r.seq);
    OutboxEvent::new(
        id,
        event_type,
        format!("/shops/{shop_id}/tills/{}", r.till),
        subject,
        timestamp::format(&r.at),
        json!({
            "shop": shop_id,
            "till": r.till,
            "chain": r.chain,
            "seq": r.seq,
            "at": timestamp::format(&r.at),
            "tz": r.tz,
            "operator": r.operator,
            "software": r.software,
            "hash": hash,
            "payload": r.payload,
        }),
    )
}

/// The event of an alarm raised at `now`.
pub fn alarm_raised(
    shop_id: &str,
    till_id: &str,
    alarm: &NewAlarm,
    now: DateTime<Utc>,
) -> OutboxEvent {
    let kind = alarm.kind.name();
    let id = format!(
        "alarm/{till_id}/{}/{}/{kind}/{}",
        alarm.chain, alarm.seq, alarm.received_hash
    );
    let subject = format!("tills/{till_id}/{}/{}", alarm.chain, alarm.seq);
    OutboxEvent::new(
        id,
        ALARM_TYPE,
        format!("/shops/{shop_id}/tills/{till_id}"),
        subject,
        timestamp::format(&now),
        json!({
            "shop": shop_id,
            "till": till_id,
            "chain": alarm.chain,
            "seq": alarm.seq,
            "kind": kind,
            "reason": alarm.reason,
            "received_hash": alarm.received_hash,
        }),
    )
}
