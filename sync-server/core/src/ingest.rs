//! The upload planner: a pure function from what the server holds of one chain and the batch a
//! till sent to what to store, which alarm to raise and what to answer. Backends read the held
//! state and write the plan inside one transaction; all decisions are made here, once, for both.
//!
//! For each record of the batch, in order (the first problem ends the chain's batch):
//!
//! | record's sequence | held bytes | decision |
//! |---|---|---|
//! | already held | identical | duplicate: a no-op (idempotent resend) |
//! | already held | different | fork: refused, alarm, never overwritten |
//! | the next expected | — | verified (shape, till, chain, link, signature): stored, or refused with an alarm |
//! | beyond the next expected | — | gap: refused, answered with the expected sequence |
//!
//! Alarms are append-only and a till chooses what it sends, so what one till can make them
//! hold is bounded ([`admit_alarms`]): an alarm keeps at most [`MAX_ALARM_EVIDENCE_BYTES`] of
//! the offending bytes (its identity stays the hash of all of them), and a till raises at most
//! [`MAX_ALARMS_PER_TILL_PER_HOUR`] alarms an hour, then one [`AlarmKind::Flood`] alarm per
//! chain and hour; the ones left out are logged.

use std::collections::BTreeMap;

use pos_domain::record::{
    Chain, ChainVerifier, DefectKind, Depth, PublicKey, SignedRecord, sha256_hex,
};
use pos_domain::wire::{ChainAck, ChainBatch, ChainOutcome, WireRecord};

use crate::rollup::{self, ParsedTicket};
use crate::signatures::{self, Checked, PendingSignatures, Verdicts};

/// An authenticated till.
#[derive(Clone, Debug)]
pub struct TillAuth {
    pub till_id: String,
    pub shop_id: String,
    pub public_key: PublicKey,
}

/// What the server holds of one chain before the batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// The newest held sequence and its stored-bytes hash (`None`: nothing held).
    pub head: Option<(u64, String)>,
    /// Stored-bytes hashes of the held records whose sequence appears in the batch.
    pub hashes: BTreeMap<u64, String>,
}

impl Held {
    pub fn head_seq(&self) -> u64 {
        self.head.as_ref().map(|(seq, _)| *seq).unwrap_or(0)
    }
}

/// The sequences of a batch that are already held, whose hashes the backend must read.
pub fn held_sequences(batch: &[WireRecord], head_seq: u64) -> Vec<u64> {
    batch
        .iter()
        .map(|r| r.seq)
        .filter(|seq| *seq >= 1 && *seq <= head_seq)
        .collect()
}

/// A record verified and to be stored.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub seq: u64,
    /// Hex SHA-256 of the stored bytes.
    pub hash: String,
    pub record: SignedRecord,
    /// Its payload read as a ticket, once (see [`ReadAhead`]).
    pub ticket: ParsedTicket,
}

/// What ingest reads of a record on its own, before the upload's transaction and on every
/// core, beside its signature check: its payload as a ticket, parsed once for every derivation
/// (see [`crate::derive`]).
#[derive(Clone, Debug)]
pub struct ReadAhead {
    pub ticket: ParsedTicket,
}

impl ReadAhead {
    /// Reads `record`.
    pub fn read(record: &SignedRecord) -> ReadAhead {
        ReadAhead {
            ticket: rollup::parse_ticket(record),
        }
    }
}

/// Why an alarm is raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmKind {
    /// A validly signed record differs from the one held under the same sequence.
    Fork,
    /// A record differs from the one held, and does not verify: altered or forged.
    AlteredRecord,
    /// A new record fails verification (signature, link, shape, till or chain).
    InvalidRecord,
    /// A genuine record was stored, but its payload is not a ticket this server can read, so
    /// the sales rollups miss it (a till newer than the server?).
    PayloadUnreadable,
    /// A till's web-order record conflicts with what head office knows: a handover of an
    /// order cancelled online, or a second handover of one order.
    WebOrderConflict,
    /// A till's web-order record (or a return ticket naming a web order) names an order head
    /// office does not know for its shop.
    WebOrderUnknown,
    /// Returns of a web order recorded at the shop's tills add up to more than was handed
    /// over (two tills each took back the last unit).
    WebOrderOverReturned,
    /// The till raised more than [`MAX_ALARMS_PER_TILL_PER_HOUR`] alarms within an hour: its
    /// later alarms of the hour are in the server's log only.
    Flood,
    /// A till skipped an entry of its changes feed it could not read (its signed
    /// `feed_entry_skipped` event): the entry's kind, key and version say what to fix or
    /// remove (`sync-server admin web-order remove` for a web order).
    FeedEntrySkipped,
    /// Offline redemptions at several tills spent more of a credit note or gift card than it
    /// held (see [`crate::stored_value`]): raised once per instrument.
    InstrumentOverdrawn,
    /// Returns recorded at several tills (offline, with a manager's approval) gave back more of
    /// a ticket's line than was sold (see [`crate::returns`]).
    OverReturned,
    /// A handset's IMEI was sold again while head office held it as sold (see
    /// [`crate::stock::apply_serials`]).
    ImeiSoldTwice,
}

impl AlarmKind {
    pub fn name(self) -> &'static str {
        match self {
            AlarmKind::Fork => "fork",
            AlarmKind::AlteredRecord => "altered_record",
            AlarmKind::InvalidRecord => "invalid_record",
            AlarmKind::PayloadUnreadable => "payload_unreadable",
            AlarmKind::WebOrderConflict => "web_order_conflict",
            AlarmKind::WebOrderUnknown => "web_order_unknown",
            AlarmKind::WebOrderOverReturned => "web_order_over_returned",
            AlarmKind::Flood => "alarm_flood",
            AlarmKind::FeedEntrySkipped => "feed_entry_skipped",
            AlarmKind::InstrumentOverdrawn => "instrument_overdrawn",
            AlarmKind::OverReturned => "over_returned",
            AlarmKind::ImeiSoldTwice => "imei_sold_twice",
        }
    }
}

/// An alarm to record, visible at head office.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAlarm {
    pub chain: Chain,
    pub seq: u64,
    pub kind: AlarmKind,
    pub reason: String,
    /// The offending bytes as received (kept as evidence; never stored as a record).
    pub received: Vec<u8>,
    /// Hex SHA-256 of the offending bytes: with till, chain, seq and kind, the alarm's identity,
    /// so the same offending record sent again raises no second alarm.
    pub received_hash: String,
}

/// Most bytes of the offending record an alarm keeps as evidence (a record is a few KiB; the
/// upload limit, 16 MiB, is not a size to keep once per alarm).
pub const MAX_ALARM_EVIDENCE_BYTES: usize = 64 * 1024;

/// Most characters of an alarm's reason kept.
pub const MAX_ALARM_REASON_CHARS: usize = 1000;

/// Most alarms one till raises in an hour before they are coalesced (see [`admit_alarms`]).
pub const MAX_ALARMS_PER_TILL_PER_HOUR: u64 = 100;

impl NewAlarm {
    /// This alarm as stored: its evidence cut to [`MAX_ALARM_EVIDENCE_BYTES`] and its reason to
    /// [`MAX_ALARM_REASON_CHARS`]; its identity (`received_hash`) stays the hash of every byte
    /// received.
    pub fn bounded(mut self) -> NewAlarm {
        if self.received.len() > MAX_ALARM_EVIDENCE_BYTES {
            let received = self.received.len();
            self.received.truncate(MAX_ALARM_EVIDENCE_BYTES);
            self.reason = format!(
                "{} (evidence: the first {MAX_ALARM_EVIDENCE_BYTES} of {received} bytes received)",
                self.reason
            );
        }
        if self.reason.chars().count() > MAX_ALARM_REASON_CHARS {
            self.reason = self.reason.chars().take(MAX_ALARM_REASON_CHARS).collect();
        }
        self
    }
}

/// The alarms of an upload a till may still store, bounded ([`NewAlarm::bounded`]), given
/// how many it raised in the hour before (`raised_last_hour`) and the hour's name (`hour`,
/// e.g. `2026-03-30T10`): up to [`MAX_ALARMS_PER_TILL_PER_HOUR`] in all, then one
/// [`AlarmKind::Flood`] alarm per chain and hour in place of the rest, which are logged.
pub fn admit_alarms<'a>(
    till_id: &str,
    alarms: impl IntoIterator<Item = &'a NewAlarm>,
    raised_last_hour: u64,
    hour: &str,
) -> Vec<NewAlarm> {
    let room = MAX_ALARMS_PER_TILL_PER_HOUR.saturating_sub(raised_last_hour) as usize;
    let mut admitted = Vec::new();
    let mut flooded = std::collections::BTreeSet::new();
    for (index, alarm) in alarms.into_iter().enumerate() {
        if index < room {
            admitted.push(alarm.clone().bounded());
            continue;
        }
        tracing::warn!(
            till = %till_id,
            chain = %alarm.chain,
            seq = alarm.seq,
            kind = alarm.kind.name(),
            received_hash = %alarm.received_hash,
            reason = %alarm.reason.chars().take(MAX_ALARM_REASON_CHARS).collect::<String>(),
            "alarm not stored: the till raised more than {MAX_ALARMS_PER_TILL_PER_HOUR} within an hour"
        );
        if flooded.insert(alarm.chain) {
            let identity = format!("alarm flood {till_id} {} {hour}", alarm.chain);
            admitted.push(NewAlarm {
                chain: alarm.chain,
                seq: 0,
                kind: AlarmKind::Flood,
                reason: format!(
                    "this till raised more than {MAX_ALARMS_PER_TILL_PER_HOUR} alarms within an \
                     hour: later ones of hour {hour} are in the server's log only; check the \
                     till (its software, or whether it is still trustworthy)"
                ),
                received: Vec::new(),
                received_hash: sha256_hex(identity.as_bytes()),
            });
        }
    }
    admitted
}

/// The alarm of an accepted `feed_entry_skipped` event (see [`AlarmKind::FeedEntrySkipped`]),
/// if `accepted` is one: head office hears of every feed entry a till could not read.
pub fn skipped_feed_entry(chain: Chain, accepted: &Accepted) -> Option<NewAlarm> {
    let payload = &accepted.record.record.payload;
    if chain != Chain::Event || payload.get("kind")?.as_str()? != "feed_entry_skipped" {
        return None;
    }
    let detail = payload.get("detail")?;
    let text = |field: &str| {
        detail
            .get(field)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .unwrap_or_default()
    };
    Some(NewAlarm {
        chain,
        seq: accepted.seq,
        kind: AlarmKind::FeedEntrySkipped,
        reason: format!(
            "the till skipped the {} entry `{}` (version {}) of its changes feed: {}; fix or \
             remove it at head office",
            text("kind"),
            text("key"),
            text("version"),
            text("reason")
        ),
        received: accepted.record.stored.clone(),
        received_hash: accepted.hash.clone(),
    })
}

/// What to do with one chain's batch.
#[derive(Clone, Debug)]
pub struct ChainPlan {
    pub chain: Chain,
    pub accepted: Vec<Accepted>,
    pub alarm: Option<NewAlarm>,
    pub ack: ChainAck,
}

impl ChainPlan {
    /// The chain head after the plan is applied, if it moved.
    pub fn new_head(&self) -> Option<(u64, &str)> {
        self.accepted.last().map(|a| (a.seq, a.hash.as_str()))
    }
}

/// The records of an upload, each read (parsed, hashed, [`ReadAhead`]) and its signature
/// checked, in the batches' order. None of this depends on what head office holds, so it is
/// done before the upload's transaction, all at once, on every core (see
/// [`crate::signatures`]); [`plan_chain`] then checks sequences, links and forks against the
/// held state.
#[derive(Clone, Debug, Default)]
pub struct CheckedBatches {
    batches: Vec<Vec<Option<Checked<ReadAhead>>>>,
}

impl CheckedBatches {
    /// Reads and checks every record of `batches` under `key`.
    pub fn check(key: &PublicKey, batches: &[ChainBatch]) -> CheckedBatches {
        let (mut checked, pending) = CheckedBatches::read(key, batches);
        checked.confirm(&pending.verify(signatures::default_threads()));
        checked
    }

    /// Reads every record of `batches`, its signature taken as valid until the
    /// [`PendingSignatures`] returned are checked and their verdicts given to
    /// [`CheckedBatches::confirm`]: the caller may plan and write the upload meanwhile, as long
    /// as it commits only if every signature is valid.
    pub fn read(key: &PublicKey, batches: &[ChainBatch]) -> (CheckedBatches, PendingSignatures) {
        let fast = signatures::FastKey::new(key);
        let records: Vec<&str> = batches
            .iter()
            .flat_map(|b| b.records.iter().map(|r| r.stored.as_str()))
            .collect();
        let (flat, pending) = signatures::read_stored(
            &fast,
            &records,
            signatures::default_threads(),
            |record, _hash| ReadAhead::read(record),
        );
        let mut flat = flat.into_iter();
        let batches = batches
            .iter()
            .map(|b| flat.by_ref().take(b.records.len()).collect())
            .collect();
        (CheckedBatches { batches }, pending)
    }

    /// Gives each record its signature's verdict (from the [`PendingSignatures`] of
    /// [`CheckedBatches::read`]).
    pub fn confirm(&mut self, verdicts: &Verdicts) {
        let lengths: Vec<usize> = self.batches.iter().map(Vec::len).collect();
        let mut flat: Vec<Option<Checked<ReadAhead>>> = self.batches.drain(..).flatten().collect();
        verdicts.apply(&mut flat);
        let mut flat = flat.into_iter();
        self.batches = lengths
            .into_iter()
            .map(|len| flat.by_ref().take(len).collect())
            .collect();
    }

    /// Takes the checked records of the batch at `index` (one per record of the batch).
    pub fn take_batch(&mut self, index: usize) -> Vec<Option<Checked<ReadAhead>>> {
        self.batches
            .get_mut(index)
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

/// Plans one chain's batch (see the module docs). `key` is the till's enrolled key; `checked`
/// holds each record of `batch` read and its signature checked (see [`CheckedBatches`]).
pub fn plan_chain(
    key: PublicKey,
    till_id: &str,
    chain: Chain,
    held: &Held,
    batch: &[WireRecord],
    mut checked: Vec<Option<Checked<ReadAhead>>>,
) -> ChainPlan {
    let head_seq = held.head_seq();
    // Sequences, links, forks and gaps are checked record by record here, against the held
    // state; records were read and their signatures checked before, all at once.
    let mut prev_hash = held.head.as_ref().map(|h| h.1.clone()).unwrap_or_default();
    let mut expected = head_seq + 1;
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut duplicates = 0;
    let mut alarm = None;
    let mut outcome = ChainOutcome::Ok;
    for (index, wire) in batch.iter().enumerate() {
        let bytes = wire.stored.as_bytes();
        if wire.seq < expected {
            // Held before this batch, or accepted earlier in it.
            let hash = sha256_hex(bytes);
            let held_hash = held.hashes.get(&wire.seq).cloned().or_else(|| {
                accepted
                    .iter()
                    .find(|a| a.seq == wire.seq)
                    .map(|a| a.hash.clone())
            });
            if held_hash.as_deref() == Some(hash.as_str()) {
                duplicates += 1;
                continue;
            }
            let (kind, reason) = classify_difference(key, till_id, chain, wire);
            alarm = Some(NewAlarm {
                chain,
                seq: wire.seq,
                kind,
                reason: reason.clone(),
                received: bytes.to_vec(),
                received_hash: hash,
            });
            outcome = ChainOutcome::Fork {
                seq: wire.seq,
                reason,
            };
            break;
        }
        if wire.seq > expected {
            outcome = ChainOutcome::Gap { expected };
            break;
        }
        let verified = match checked.get_mut(index).and_then(Option::take) {
            Some(read) if links(&read.record, till_id, chain, wire.seq, &prev_hash) => {
                if read.signature_valid {
                    Ok(Accepted {
                        seq: wire.seq,
                        hash: read.hash,
                        record: read.record,
                        ticket: read.read.ticket,
                    })
                } else {
                    // Everything from the first bad signature on is refused (later records
                    // link to it).
                    Err(DefectKind::BadSignature.to_string())
                }
            }
            // Unreadable or unlinked: the domain's verifier says exactly why.
            _ => verify_one(key, till_id, chain, wire, &prev_hash).map(|(record, hash)| Accepted {
                seq: wire.seq,
                hash,
                ticket: rollup::parse_ticket(&record),
                record,
            }),
        };
        match verified {
            Ok(record) => {
                prev_hash = record.hash.clone();
                accepted.push(record);
                expected += 1;
            }
            Err(reason) => {
                alarm = Some(NewAlarm {
                    chain,
                    seq: wire.seq,
                    kind: AlarmKind::InvalidRecord,
                    reason: reason.clone(),
                    received: bytes.to_vec(),
                    received_hash: sha256_hex(bytes),
                });
                outcome = ChainOutcome::Rejected {
                    seq: wire.seq,
                    reason,
                };
                break;
            }
        }
    }
    let stored = accepted.len() as u64;
    ChainPlan {
        chain,
        alarm,
        ack: ChainAck {
            chain,
            held: expected - 1,
            stored,
            duplicates,
            outcome,
        },
        accepted,
    }
}

/// Whether `record`, stored under `seq`, is the next record of the till's `chain` after the
/// record whose hash is `prev_hash` (`""`: the chain's first): what the domain's
/// [`ChainVerifier`] checks of a readable record, short of its signature.
fn links(record: &SignedRecord, till_id: &str, chain: Chain, seq: u64, prev_hash: &str) -> bool {
    let r = &record.record;
    r.chain == chain
        && r.seq == seq
        && r.till == till_id
        && r.prev == prev_hash
        && r.first == (seq == 1)
}

/// The next record of a chain (after `prev_hash`) checked on its own by the domain's
/// [`ChainVerifier`] and its signature: the record and its hash, or why it is refused in the
/// verifier's words.
fn verify_one(
    key: PublicKey,
    till_id: &str,
    chain: Chain,
    wire: &WireRecord,
    prev_hash: &str,
) -> Result<(SignedRecord, String), String> {
    let mut verifier = ChainVerifier::new(key, till_id, chain, Depth::Links)
        .resume(wire.seq - 1, prev_hash.to_string());
    let record = verifier
        .push(wire.seq, wire.stored.as_bytes())
        .map_err(|(_, kind)| kind.to_string())?;
    if signatures::FastKey::new(&key).verify_record(&record) {
        let hash = record.hash();
        Ok((record, hash))
    } else {
        Err(DefectKind::BadSignature.to_string())
    }
}

/// A record differing from the held one under the same sequence: a real fork if the till's key
/// signed it, an altered or forged record otherwise.
fn classify_difference(
    key: PublicKey,
    till_id: &str,
    chain: Chain,
    wire: &WireRecord,
) -> (AlarmKind, String) {
    let signed = match SignedRecord::from_stored(wire.stored.as_bytes()) {
        Ok(signed) => signed,
        Err(e) => {
            return (
                AlarmKind::AlteredRecord,
                format!(
                    "sequence {} is held with other bytes, and these are not a record: {e}",
                    wire.seq
                ),
            );
        }
    };
    let genuine = signed.record.till == till_id
        && signed.record.chain == chain
        && signed.record.seq == wire.seq
        && signed
            .record
            .signed_bytes()
            .is_ok_and(|bytes| key.verify(&bytes, &signed.signature));
    if genuine {
        (
            AlarmKind::Fork,
            format!(
                "sequence {} is held with a different record signed by this till: the ledger forked (restored from a copy?); the held record is kept",
                wire.seq
            ),
        )
    } else {
        (
            AlarmKind::AlteredRecord,
            format!(
                "sequence {} is held with other bytes, and these do not verify: {}",
                wire.seq,
                DefectKind::BadSignature
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use pos_domain::record::{Record, Signer, SoftwareKey};
    use serde_json::json;

    fn key() -> SoftwareKey {
        SoftwareKey::from_secret_bytes(&[7u8; 32]).unwrap()
    }

    /// A chain of `n` signed records, with `payload(seq)` as payload.
    fn chain_of(key: &SoftwareKey, n: u64, salt: &str) -> Vec<SignedRecord> {
        let mut out: Vec<SignedRecord> = Vec::new();
        for seq in 1..=n {
            let record = Record {
                till: "T1".into(),
                chain: Chain::Cash,
                seq,
                at: Utc.with_ymd_and_hms(2026, 3, 30, 8, 0, seq as u32).unwrap(),
                tz: "Europe/Paris".into(),
                operator: "alice".into(),
                software: "test".into(),
                first: seq == 1,
                prev: out.last().map(|r| r.hash()).unwrap_or_default(),
                payload: json!({"n": seq, "salt": salt}),
            };
            out.push(record.sign(key).unwrap());
        }
        out
    }

    fn wire(records: &[SignedRecord]) -> Vec<WireRecord> {
        records
            .iter()
            .map(|r| WireRecord {
                seq: r.record.seq,
                stored: String::from_utf8(r.stored.clone()).unwrap(),
            })
            .collect()
    }

    fn held(records: &[SignedRecord], upto: u64, batch: &[WireRecord]) -> Held {
        let head = (upto > 0).then(|| (upto, records[upto as usize - 1].hash()));
        let hashes = held_sequences(batch, upto)
            .into_iter()
            .map(|seq| (seq, records[seq as usize - 1].hash()))
            .collect();
        Held { head, hashes }
    }

    fn plan(held: &Held, batch: &[WireRecord]) -> ChainPlan {
        let upload = [ChainBatch {
            chain: Chain::Cash,
            records: batch.to_vec(),
        }];
        let mut checked = CheckedBatches::check(&key().public_key(), &upload);
        plan_chain(
            key().public_key(),
            "T1",
            Chain::Cash,
            held,
            batch,
            checked.take_batch(0),
        )
    }

    #[test]
    fn case_table() {
        let k = key();
        let records = chain_of(&k, 6, "a");
        let forked = chain_of(&k, 6, "b");
        let all = wire(&records);
        let mut altered = all[3].clone();
        altered.stored = altered.stored.replacen("alice", "alicf", 1);
        let other_key = SoftwareKey::from_secret_bytes(&[9u8; 32]).unwrap();
        let foreign = wire(&chain_of(&other_key, 6, "a"));

        struct Case {
            name: &'static str,
            held_upto: u64,
            batch: Vec<WireRecord>,
            stored: u64,
            duplicates: u64,
            held_after: u64,
            outcome: &'static str,
            alarm: Option<AlarmKind>,
        }
        let cases = vec![
            Case {
                name: "first upload stores everything",
                held_upto: 0,
                batch: all.clone(),
                stored: 6,
                duplicates: 0,
                held_after: 6,
                outcome: "ok",
                alarm: None,
            },
            Case {
                name: "a resend of held records is a no-op",
                held_upto: 6,
                batch: all.clone(),
                stored: 0,
                duplicates: 6,
                held_after: 6,
                outcome: "ok",
                alarm: None,
            },
            Case {
                name: "overlapping resend stores only the new tail",
                held_upto: 3,
                batch: all.clone(),
                stored: 3,
                duplicates: 3,
                held_after: 6,
                outcome: "ok",
                alarm: None,
            },
            Case {
                name: "a gap is answered with the expected sequence",
                held_upto: 2,
                batch: all[4..].to_vec(),
                stored: 0,
                duplicates: 0,
                held_after: 2,
                outcome: "gap",
                alarm: None,
            },
            Case {
                name: "a different validly signed record under a held sequence is a fork",
                held_upto: 6,
                batch: wire(&forked)[2..3].to_vec(),
                stored: 0,
                duplicates: 0,
                held_after: 6,
                outcome: "fork",
                alarm: Some(AlarmKind::Fork),
            },
            Case {
                name: "an altered held record is refused as altered",
                held_upto: 6,
                batch: vec![altered.clone()],
                stored: 0,
                duplicates: 0,
                held_after: 6,
                outcome: "fork",
                alarm: Some(AlarmKind::AlteredRecord),
            },
            Case {
                name: "an altered new record is rejected, the valid prefix stored",
                held_upto: 0,
                batch: [&all[..3], std::slice::from_ref(&altered), &all[4..]].concat(),
                stored: 3,
                duplicates: 0,
                held_after: 3,
                outcome: "rejected",
                alarm: Some(AlarmKind::InvalidRecord),
            },
            Case {
                name: "a record linked to another history is rejected",
                held_upto: 2,
                batch: wire(&forked)[2..].to_vec(),
                stored: 0,
                duplicates: 0,
                held_after: 2,
                outcome: "rejected",
                alarm: Some(AlarmKind::InvalidRecord),
            },
            Case {
                name: "records signed by another key are rejected",
                held_upto: 0,
                batch: foreign,
                stored: 0,
                duplicates: 0,
                held_after: 0,
                outcome: "rejected",
                alarm: Some(AlarmKind::InvalidRecord),
            },
            Case {
                name: "the same record twice in a batch is stored once",
                held_upto: 0,
                batch: vec![all[0].clone(), all[0].clone(), all[1].clone()],
                stored: 2,
                duplicates: 1,
                held_after: 2,
                outcome: "ok",
                alarm: None,
            },
        ];
        for case in cases {
            let h = held(&records, case.held_upto, &case.batch);
            let p = plan(&h, &case.batch);
            let outcome = serde_json::to_value(&p.ack).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(outcome, case.outcome, "{}: outcome", case.name);
            assert_eq!(p.ack.stored, case.stored, "{}: stored", case.name);
            assert_eq!(p.accepted.len() as u64, case.stored, "{}", case.name);
            assert_eq!(
                p.ack.duplicates, case.duplicates,
                "{}: duplicates",
                case.name
            );
            assert_eq!(p.ack.held, case.held_after, "{}: held", case.name);
            assert_eq!(p.alarm.map(|a| a.kind), case.alarm, "{}: alarm", case.name);
        }
    }

    #[test]
    fn gap_names_the_next_expected_sequence() {
        let records = chain_of(&key(), 5, "a");
        let batch = wire(&records)[3..].to_vec();
        let p = plan(&held(&records, 1, &batch), &batch);
        assert_eq!(
            p.ack.outcome,
            ChainOutcome::Gap { expected: 2 },
            "the till must be told to resend from the first missing sequence"
        );
    }
}
