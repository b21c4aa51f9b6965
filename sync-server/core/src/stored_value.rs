//! Customer money at head office: every credit note's and gift card's balance and history,
//! derived at ingest from the movements the tills upload, and the online redemption holds that
//! keep two tills from spending the same euro (issue 12; DESIGN invariant 11).
//!
//! - [`ticket_movements`], [`chain_movement`]: the stored-value movements of an accepted
//!   record, from a ticket ([`pos_domain::ticket::Ticket::stored_value`]: issues, loads,
//!   top-ups, redemptions, credits back) or a `stored_value`-chain record (expiry,
//!   cancellation), gathered in record order by [`crate::derive`];
//! - [`apply`]: folds them into the stored instruments, in order, writing one history row and
//!   one outbox event per movement, and an `instrument_overdrawn` alarm the first time an
//!   instrument head office knows was filled goes below zero (offline redemptions at several
//!   tills overspent it). The overdraft shown is the excess, `-balance`; the alarm is raised
//!   once per instrument, however many later movements deepen it. Nothing is refused: the
//!   customers have left (specs/sync.md, a record is accepted once and never rejected for
//!   what it says);
//! - [`decide_hold`]: whether an online redemption may hold `amount` of an instrument, given
//!   its stored state and what other holds already reserve.
//!
//! The balance is always the sum of the movements' effects ([`pos_domain::stored_value::balance`]):
//! a movement is stored once, with its record, so a resent upload moves nothing twice.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use pos_domain::Money;
use pos_domain::record::{Chain, timestamp};
use pos_domain::stored_value::{InstrumentMovement, InstrumentState, MovementKind};
use serde_json::json;

use crate::events::OutboxEvent;
use pos_domain::ticket::Ticket;

use crate::ingest::{Accepted, AlarmKind, NewAlarm};

/// An instrument's balance moved.
pub const INSTRUMENT_MOVED_TYPE: &str = "pos.stored_value.moved";

/// One movement of an upload, with the record that carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct Movement {
    pub movement: InstrumentMovement,
    pub till_id: String,
    pub shop_id: String,
    pub chain: Chain,
    pub seq: u64,
    /// The record's time (canonical UTC).
    pub at: String,
    pub record_hash: String,
}

/// An instrument as head office holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instrument {
    pub state: InstrumentState,
    /// What was ever put on it (issues, loads, top-ups, credits back): an instrument with
    /// nothing put on it yet (its issue not synced yet) is not alarmed when spent.
    pub filled: Money,
    /// How many movements it had: the next history row's index.
    pub version: i64,
    /// Whether its overdraft alarm was raised (once per instrument).
    pub overdraft_alarmed: bool,
}

impl Instrument {
    pub fn new(number: pos_domain::stored_value::InstrumentNumber) -> Instrument {
        Instrument {
            state: InstrumentState::new(number),
            filled: Money::ZERO,
            version: 0,
            overdraft_alarmed: false,
        }
    }

    /// What offline redemptions spent beyond what was on it: zero unless the balance is
    /// negative.
    pub fn overdraft(&self) -> Money {
        (-self.state.balance).max(Money::ZERO)
    }
}

/// A movement kind's stored name (its wire name).
pub fn movement_name(kind: MovementKind) -> &'static str {
    match kind {
        MovementKind::Issue => "issue",
        MovementKind::Load => "load",
        MovementKind::TopUp => "top_up",
        MovementKind::Redeem => "redeem",
        MovementKind::Credit => "credit",
        MovementKind::Expire => "expire",
        MovementKind::Cancel => "cancel",
    }
}

/// The movement kind of a stored name.
pub fn parse_movement(name: &str) -> Option<MovementKind> {
    [
        MovementKind::Issue,
        MovementKind::Load,
        MovementKind::TopUp,
        MovementKind::Redeem,
        MovementKind::Credit,
        MovementKind::Expire,
        MovementKind::Cancel,
    ]
    .into_iter()
    .find(|k| movement_name(*k) == name)
}

/// One line of an instrument's history: a movement and the balance after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    pub number: String,
    /// 1 for its first movement, then 2, 3...
    pub version: i64,
    pub till_id: String,
    pub shop_id: String,
    pub chain: Chain,
    pub seq: u64,
    pub kind: MovementKind,
    pub amount: Money,
    pub offline: bool,
    pub balance_after: Money,
    pub at: String,
}

impl HistoryRow {
    /// The movement's signed change of the balance.
    pub fn effect(&self) -> Money {
        if self.kind.adds() {
            self.amount
        } else {
            -self.amount
        }
    }
}

/// What an upload's movements write: history rows, events, alarms, and the holds the till's
/// redemptions settle.
#[derive(Debug, Default)]
pub struct Applied {
    pub history: Vec<HistoryRow>,
    pub events: Vec<OutboxEvent>,
    pub alarms: Vec<NewAlarm>,
    pub redeemed: Vec<Redeemed>,
}

/// A redemption a till recorded, and the online hold it settles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redeemed {
    pub number: String,
    pub amount: Money,
    /// The hold the record names: that hold ends. A record without one (made offline, or by
    /// a till from before holds were named) ends the till's oldest hold of the number.
    pub hold: Option<String>,
}

/// The stored-value movements a ticket carries, with its record (see [`crate::derive`]).
pub fn ticket_movements(shop_id: &str, accepted: &Accepted, ticket: &Ticket) -> Vec<Movement> {
    ticket
        .stored_value
        .iter()
        .map(|movement| moved_by(shop_id, accepted, movement.clone()))
        .collect()
}

/// The movement a `stored_value`-chain record carries (expiry, cancellation), or the alarm of
/// one that cannot be read (stored, but moving nothing).
pub fn chain_movement(shop_id: &str, accepted: &Accepted) -> Result<Movement, NewAlarm> {
    let record = &accepted.record.record;
    serde_json::from_value::<InstrumentMovement>(record.payload.clone())
        .map(|movement| moved_by(shop_id, accepted, movement))
        .map_err(|e| NewAlarm {
            chain: record.chain,
            seq: accepted.seq,
            kind: AlarmKind::PayloadUnreadable,
            reason: format!("stored, but no instrument's balance moved by it: {e}"),
            received: accepted.record.stored.clone(),
            received_hash: accepted.hash.clone(),
        })
}

fn moved_by(shop_id: &str, accepted: &Accepted, movement: InstrumentMovement) -> Movement {
    let record = &accepted.record.record;
    Movement {
        movement,
        till_id: record.till.clone(),
        shop_id: shop_id.to_string(),
        chain: record.chain,
        seq: accepted.seq,
        at: timestamp::format(&record.at),
        record_hash: accepted.hash.clone(),
    }
}

/// The numbers `moves` touch, each once.
pub fn numbers(moves: &[Movement]) -> Vec<String> {
    let mut numbers: Vec<String> = moves
        .iter()
        .map(|m| m.movement.number.as_str().to_string())
        .collect();
    numbers.sort();
    numbers.dedup();
    numbers
}

/// Applies `moves`, in order, to the stored instruments (`stored` holds those that exist;
/// new ones are added), at `time`.
pub fn apply(stored: &mut BTreeMap<String, Instrument>, moves: &[Movement], time: &str) -> Applied {
    let mut applied = Applied::default();
    for m in moves {
        let number = m.movement.number.as_str().to_string();
        let instrument = stored
            .entry(number.clone())
            .or_insert_with(|| Instrument::new(m.movement.number.clone()));
        instrument.state.apply(&m.movement);
        if m.movement.kind.adds() {
            instrument.filled += m.movement.amount;
        }
        instrument.version += 1;
        let row = HistoryRow {
            number: number.clone(),
            version: instrument.version,
            till_id: m.till_id.clone(),
            shop_id: m.shop_id.clone(),
            chain: m.chain,
            seq: m.seq,
            kind: m.movement.kind,
            amount: m.movement.amount,
            offline: m.movement.offline,
            balance_after: instrument.state.balance,
            at: m.at.clone(),
        };
        if m.movement.kind == MovementKind::Redeem {
            applied.redeemed.push(Redeemed {
                number: number.clone(),
                amount: m.movement.amount,
                hold: m.movement.hold.clone(),
            });
        }
        if instrument.state.balance.is_negative()
            && instrument.filled.is_positive()
            && !instrument.overdraft_alarmed
        {
            instrument.overdraft_alarmed = true;
            applied.alarms.push(overdraft_alarm(m, instrument));
        }
        applied.events.push(moved_event(&row, instrument, time));
        applied.history.push(row);
    }
    applied
}

/// The alarm of an instrument overspent by offline redemptions, on the record that overdrew it.
fn overdraft_alarm(m: &Movement, instrument: &Instrument) -> NewAlarm {
    NewAlarm {
        chain: m.chain,
        seq: m.seq,
        kind: AlarmKind::InstrumentOverdrawn,
        reason: format!(
            "{} is overdrawn by {}: offline redemptions at several tills spent more than it held \
             (each within the offline caps); the customers were served, recover the difference \
             or write it off",
            m.movement.number.grouped(),
            instrument.overdraft()
        ),
        received: Vec::new(),
        received_hash: m.record_hash.clone(),
    }
}

/// The event of one movement: the instrument, what moved, the balance and overdraft after it.
/// Its id is the instrument and the movement's index, so a replay has the same ids; its
/// subject orders the events of one instrument.
fn moved_event(row: &HistoryRow, instrument: &Instrument, time: &str) -> OutboxEvent {
    OutboxEvent::new(
        format!("stored-value/{}/{}", row.number, row.version),
        INSTRUMENT_MOVED_TYPE,
        format!("/shops/{}/tills/{}", row.shop_id, row.till_id),
        format!("stored-value/{}", row.number),
        time,
        json!({
            "number": row.number,
            "kind": instrument.state.number.kind(),
            "movement": row.kind,
            "amount": row.amount,
            "offline": row.offline,
            "balance": row.balance_after,
            "overdraft": instrument.overdraft(),
            "version": row.version,
            "till": row.till_id,
            "shop": row.shop_id,
            "chain": row.chain.name(),
            "seq": row.seq,
            "at": row.at,
        }),
    )
}

/// Why an online hold is refused: a stable code the till shows with its own message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldRefusal {
    /// Not enough left once the other holds are counted.
    Insufficient,
    /// Expired or cancelled.
    NotUsable,
}

impl HoldRefusal {
    pub fn code(self) -> &'static str {
        match self {
            HoldRefusal::Insufficient => "instrument_balance_insufficient",
            HoldRefusal::NotUsable => "instrument_not_usable",
        }
    }
}

/// Whether `amount` of `instrument` may be held on `day`, other holds reserving `held`
/// already. Decided in the transaction that stores the hold, with the instrument locked, so two
/// tills asking at once are answered one after the other (the second sees the first's hold).
pub fn decide_hold(
    instrument: &Instrument,
    held: Money,
    amount: Money,
    day: NaiveDate,
) -> Result<(), HoldRefusal> {
    if !instrument.state.usable_on(day) {
        return Err(HoldRefusal::NotUsable);
    }
    if !amount.is_positive() || amount > instrument.state.balance - held {
        return Err(HoldRefusal::Insufficient);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pos_domain::stored_value::{InstrumentKind, InstrumentNumber};

    fn card() -> InstrumentNumber {
        InstrumentNumber::generate(InstrumentKind::GiftCard, [9; 16])
    }

    fn moved(
        number: &InstrumentNumber,
        kind: MovementKind,
        cents: i64,
        till: &str,
        seq: u64,
    ) -> Movement {
        let mut movement = InstrumentMovement::new(number.clone(), kind, Money::from_cents(cents));
        movement.offline = kind == MovementKind::Redeem;
        Movement {
            movement,
            till_id: till.into(),
            shop_id: "SHOP".into(),
            chain: Chain::Ticket,
            seq,
            at: "2026-03-30T10:00:00.000000Z".into(),
            record_hash: format!("{till}-{seq}"),
        }
    }

    #[test]
    fn two_offline_tills_overspending_one_card_raise_one_alarm_and_show_the_excess() {
        let n = card();
        let mut stored = BTreeMap::new();
        let moves = [
            moved(&n, MovementKind::Load, 5000, "T-1", 1),
            moved(&n, MovementKind::Redeem, 3000, "T-2", 1),
            moved(&n, MovementKind::Redeem, 3000, "T-3", 1),
            moved(&n, MovementKind::Redeem, 500, "T-3", 2),
        ];
        let applied = apply(&mut stored, &moves, "2026-03-30T10:00:00.000000Z");
        let card = &stored[n.as_str()];
        assert_eq!(card.state.balance, Money::from_cents(-1500));
        assert_eq!(
            card.overdraft(),
            Money::from_cents(1500),
            "the overdraft is the excess"
        );
        assert_eq!(
            applied.alarms.len(),
            1,
            "one alarm per instrument, however deep"
        );
        assert_eq!(
            applied.alarms[0].received_hash, "T-3-1",
            "on the record that overdrew it"
        );
        assert_eq!(applied.events.len(), 4, "one event per movement");
        assert_eq!(applied.history[3].balance_after, Money::from_cents(-1500));
        let again = apply(
            &mut stored,
            &[moved(&n, MovementKind::Redeem, 100, "T-4", 1)],
            "t",
        );
        assert!(
            again.alarms.is_empty(),
            "an alarmed instrument is not alarmed again"
        );
    }

    #[test]
    fn a_card_spent_before_its_sale_is_synced_is_alarmed_only_if_still_short_once_filled() {
        let n = card();
        let mut stored = BTreeMap::new();
        let early = apply(
            &mut stored,
            &[moved(&n, MovementKind::Redeem, 2000, "T-2", 1)],
            "t",
        );
        assert!(
            early.alarms.is_empty(),
            "nothing put on it yet: its load is still on its way"
        );
        let late = apply(
            &mut stored,
            &[moved(&n, MovementKind::Load, 5000, "T-1", 1)],
            "t",
        );
        assert!(
            late.alarms.is_empty(),
            "once loaded it holds 30.00: no overdraft"
        );
        assert_eq!(stored[n.as_str()].state.balance, Money::from_cents(3000));
    }

    #[test]
    fn a_hold_counts_the_other_holds() {
        let n = card();
        let mut stored = BTreeMap::new();
        apply(
            &mut stored,
            &[moved(&n, MovementKind::Load, 1000, "T-1", 1)],
            "t",
        );
        let card = &stored[n.as_str()];
        let day = "2026-03-30".parse().unwrap();
        assert_eq!(
            decide_hold(card, Money::ZERO, Money::from_cents(1000), day),
            Ok(())
        );
        assert_eq!(
            decide_hold(card, Money::from_cents(1), Money::from_cents(1000), day),
            Err(HoldRefusal::Insufficient),
            "the last euro held by one till cannot be held by another"
        );
    }
}
