//! CloudEvents 1.0 (structured JSON mode) for the outbox. Ids are stable, derived from what the
//! event describes, so a consumer can de-duplicate deliveries and a replay produces the same ids.
//!
//! An event is written as an [`OutboxRow`], its envelope serialized once. A record's event, one
//! per record ingested, is not written whole: its row names the record ([`RecordRef`]) and its
//! envelope is rendered from the stored record when the outbox is read
//! ([`record_event_envelope`]), straight from the record with no JSON tree copied from its
//! payload. Otherwise a catch-up would write every record's payload twice, once in `records` and
//! once in the outbox; the text delivered is the same either way (a test says so).

use chrono::{DateTime, Utc};
use pos_domain::record::{Chain, SignedRecord, timestamp};
use serde::Serialize;
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

/// An event as the outbox stores it: its columns, and its envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    pub id: String,
    pub event_type: String,
    pub subject: String,
    pub envelope: StoredEnvelope,
}

/// How an outbox row holds its envelope.
#[derive(Clone, Debug, PartialEq)]
pub enum StoredEnvelope {
    /// The whole CloudEvent, as JSON text.
    Text(String),
    /// A record's event: rendered from the stored record when read ([`record_event_envelope`]).
    Record(RecordRef),
}

/// The record an outbox row's event is made of, and the shop it was received for.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordRef {
    pub till_id: String,
    pub chain: Chain,
    pub seq: u64,
    pub shop_id: String,
}

impl OutboxEvent {
    /// This event as the outbox stores it.
    pub fn into_row(self) -> OutboxRow {
        OutboxRow {
            envelope: StoredEnvelope::Text(self.envelope.to_string()),
            id: self.id,
            event_type: self.event_type,
            subject: self.subject,
        }
    }
}

impl From<&OutboxEvent> for OutboxRow {
    fn from(event: &OutboxEvent) -> OutboxRow {
        event.clone().into_row()
    }
}

/// The envelope of a record's event, serialized as [`OutboxEvent::new`] makes it: the fields
/// in the order a JSON object's keys are written (sorted), so the text is the same.
#[derive(Serialize)]
struct RecordEnvelope<'a> {
    data: RecordData<'a>,
    datacontenttype: &'static str,
    id: &'a str,
    source: &'a str,
    specversion: &'static str,
    subject: &'a str,
    time: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
}

/// The data of a record's event (keys sorted, see [`RecordEnvelope`]).
#[derive(Serialize)]
struct RecordData<'a> {
    at: &'a str,
    chain: Chain,
    hash: &'a str,
    operator: &'a str,
    payload: &'a Value,
    seq: u64,
    shop: &'a str,
    software: &'a str,
    till: &'a str,
    tz: &'a str,
}

/// The event of an accepted record as the outbox stores it: its columns, and the record it is
/// rendered from when read ([`record_event_envelope`]).
pub fn record_accepted_row(shop_id: &str, signed: &SignedRecord) -> OutboxRow {
    let r = &signed.record;
    OutboxRow {
        id: record_event_id(r),
        event_type: record_type(r.chain.name()),
        subject: record_subject(r),
        envelope: StoredEnvelope::Record(RecordRef {
            till_id: r.till.clone(),
            chain: r.chain,
            seq: r.seq,
            shop_id: shop_id.to_string(),
        }),
    }
}

fn record_event_id(r: &pos_domain::record::Record) -> String {
    format!("record/{}/{}/{}", r.till, r.chain, r.seq)
}

fn record_subject(r: &pos_domain::record::Record) -> String {
    format!("tills/{}/{}/{}", r.till, r.chain, r.seq)
}

/// The envelope of the event of a record received for shop `shop_id`, its stored bytes `stored`
/// hashing to `hash`, serialized straight from the record: the text of [`record_accepted`].
pub fn record_event_envelope(
    shop_id: &str,
    stored: &[u8],
    hash: &str,
) -> Result<String, pos_domain::record::CanonicalError> {
    let signed = SignedRecord::from_stored(stored)?;
    let r = &signed.record;
    let id = record_event_id(r);
    let event_type = record_type(r.chain.name());
    let subject = record_subject(r);
    let at = timestamp::format(&r.at);
    let envelope = RecordEnvelope {
        data: RecordData {
            at: &at,
            chain: r.chain,
            hash,
            operator: &r.operator,
            payload: &r.payload,
            seq: r.seq,
            shop: shop_id,
            software: &r.software,
            till: &r.till,
            tz: &r.tz,
        },
        datacontenttype: "application/json",
        id: &id,
        source: &format!("/shops/{shop_id}/tills/{}", r.till),
        specversion: "1.0",
        subject: &subject,
        time: &at,
        event_type: &event_type,
    };
    Ok(
        serde_json::to_string(&envelope)
            .expect("a record's event serializes (its payload is JSON)"),
    )
}

/// The event of an accepted record: its identity, hash, time and payload.
pub fn record_accepted(shop_id: &str, signed: &SignedRecord, hash: &str) -> OutboxEvent {
    let r = &signed.record;
    OutboxEvent::new(
        record_event_id(r),
        record_type(r.chain.name()),
        format!("/shops/{shop_id}/tills/{}", r.till),
        record_subject(r),
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use pos_domain::record::{Record, SoftwareKey};

    #[test]
    fn a_records_row_renders_its_event() {
        let key = SoftwareKey::from_secret_bytes(&[5; 32]).unwrap();
        let signed = Record {
            till: "T1".into(),
            chain: Chain::Ticket,
            seq: 1,
            at: Utc.with_ymd_and_hms(2026, 3, 30, 9, 0, 0).unwrap(),
            tz: "Europe/Paris".into(),
            operator: "Zoé".into(),
            software: "pos 1.0".into(),
            first: true,
            prev: String::new(),
            payload: json!({"total": "12.50", "lines": [{"label": "Écouteurs \"sans fil\"", "qty": 2}]}),
        }
        .sign(&key)
        .unwrap();
        let hash = signed.hash();
        let row = record_accepted_row("SHOP", &signed);
        let event = record_accepted("SHOP", &signed, &hash).into_row();
        assert_eq!(
            (&row.id, &row.event_type, &row.subject),
            (&event.id, &event.event_type, &event.subject)
        );
        assert_eq!(
            row.envelope,
            StoredEnvelope::Record(RecordRef {
                till_id: "T1".into(),
                chain: Chain::Ticket,
                seq: 1,
                shop_id: "SHOP".into()
            })
        );
        assert_eq!(
            StoredEnvelope::Text(record_event_envelope("SHOP", &signed.stored, &hash).unwrap()),
            event.envelope,
            "a record's event rendered from the stored record is the text the outbox held \
             whole before: consumers see the same event"
        );
    }
}
