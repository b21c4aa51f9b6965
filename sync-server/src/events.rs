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

/// The event of an accepted record: its identity, hash, time and payload.
pub fn record_accepted(shop_id: &str, signed: &SignedRecord, hash: &str) -> OutboxEvent {
    let r = &signed.record;
    let subject = format!("tills/{}/{}/{}", r.till, r.chain, r.seq);
    let event_type = record_type(r.chain.name());
    let id = format!("record/{}/{}/{}", r.till, r.chain, r.seq);
    let envelope = json!({
        "specversion": "1.0",
        "id": id,
        "source": format!("/shops/{shop_id}/tills/{}", r.till),
        "type": event_type,
        "subject": subject,
        "time": timestamp::format(&r.at),
        "datacontenttype": "application/json",
        "data": {
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
        },
    });
    OutboxEvent {
        id,
        event_type,
        subject,
        envelope,
    }
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
    let envelope = json!({
        "specversion": "1.0",
        "id": id,
        "source": format!("/shops/{shop_id}/tills/{till_id}"),
        "type": ALARM_TYPE,
        "subject": subject,
        "time": timestamp::format(&now),
        "datacontenttype": "application/json",
        "data": {
            "shop": shop_id,
            "till": till_id,
            "chain": alarm.chain,
            "seq": alarm.seq,
            "kind": kind,
            "reason": alarm.reason,
            "received_hash": alarm.received_hash,
        },
    });
    OutboxEvent {
        id,
        event_type: ALARM_TYPE.to_string(),
        subject,
        envelope,
    }
}
