//! Credit notes and gift cards at the till: issuing a credit note on a refund to store credit,
//! selling and topping up gift cards, spending either as a tender (online against head office's
//! balance, or offline within head office's caps), expiring and cancelling them, and the slip
//! a credit note is printed on. The rules are [`pos_domain::stored_value`]'s.
//!
//! Every movement is in a signed record (a ticket, or a `stored_value`-chain record for expiry
//! and cancellation) and is also indexed, in the same transaction, in `stored_value_movements`:
//! what this till knows of each instrument's balance and what it spent offline today, read by
//! the balance and cap checks. The index is derived (append-only, rebuilt from the records if
//! ever lost); the records are the truth and what head office receives, each exactly once
//! (specs/sync.md, upload: a record already held is accepted again as a no-op). A gift card
//! sold is a liability, debited at redemption (specs/fiscal.md, accounting export: gift cards
//! 4191), never a sale.
//!
//! Head office's answer (a balance lookup made by the front end before the sale, see
//! [`crate::head_office`]) is passed in with the sale ([`StoredValueRequest::balances`]); an
//! instrument with no answer is spent offline. The till never waits for head office to decide
//! (DESIGN invariant 11): it decides with what it has, and records which it was.

use chrono::NaiveDate;
use pos_domain::Money;
use pos_domain::record::Chain;
use pos_domain::stored_value::{
    BalanceSource, InstrumentKind, InstrumentMovement, InstrumentNumber, InstrumentState,
    MovementKind, NewCreditNote, OfflineSpent, StoredValueError, StoredValueRules, check_load,
    check_redemption,
};
use pos_domain::wire::kinds;
use pos_domain::{SaleError, ticket::Ticket};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::engine::Till;
use crate::error::{Result, TillError};
use crate::ledger::{self, Author};

/// The index of every stored-value movement this till recorded (migration 13).
pub(crate) const MIGRATION: &str = r#"
    CREATE TABLE stored_value_movements (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL,
        movement TEXT NOT NULL,
        amount_cents INTEGER NOT NULL,
        effect_cents INTEGER NOT NULL,
        offline INTEGER NOT NULL,
        expires TEXT,
        day TEXT NOT NULL,
        chain TEXT NOT NULL,
        seq INTEGER NOT NULL
    );
    CREATE INDEX stored_value_by_number ON stored_value_movements (number, id);
    CREATE INDEX stored_value_offline_by_day ON stored_value_movements (day) WHERE offline = 1;
    CREATE TRIGGER stored_value_no_update BEFORE UPDATE ON stored_value_movements
    BEGIN SELECT RAISE(ABORT, 'stored-value movements are append-only'); END;
    CREATE TRIGGER stored_value_no_delete BEFORE DELETE ON stored_value_movements
    BEGIN SELECT RAISE(ABORT, 'stored-value movements are append-only'); END;
"#;

/// A gift card sold or topped up on a sale, as entered: the card's number as scanned and the
/// amount loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiftCardRequest {
    pub number: String,
    pub amount: Money,
    /// A card already sold gets more money; otherwise it is a new card's first load.
    #[serde(default)]
    pub top_up: bool,
}

/// What a sale does with stored value besides its tenders: gift cards loaded, and the
/// balances head office answered for the instruments its tenders name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredValueRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gift_cards: Vec<GiftCardRequest>,
    /// Head office's answers, just asked; an instrument without one is spent offline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub balances: Vec<InstrumentState>,
    /// The holds head office granted for this sale, named on the redemptions they are for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<GrantedHold>,
}

/// A hold head office granted on an instrument ([`pos_domain::wire::RedemptionHold`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedHold {
    pub number: InstrumentNumber,
    /// The hold's id, as the till asked for it.
    pub hold: String,
}

/// Names on each redemption checked online the hold head office granted for its instrument,
/// so head office ends exactly that hold when the record arrives (specs/sync.md: each record
/// is applied once, and what it settles is named in it).
pub(crate) fn name_holds(movements: &mut [InstrumentMovement], holds: &[GrantedHold]) {
    for movement in movements
        .iter_mut()
        .filter(|m| m.kind == MovementKind::Redeem && !m.offline)
    {
        movement.hold = holds
            .iter()
            .find(|h| h.number == movement.number)
            .map(|h| h.hold.clone());
    }
}

/// What the till knows of an instrument, for the balance screen and `till stored-value show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KnownInstrument {
    pub kind: InstrumentKind,
    /// The number grouped for reading.
    pub grouped: String,
    #[serde(flatten)]
    pub state: InstrumentState,
    /// Whether this till has any movement of it (otherwise only head office knows it).
    pub known_here: bool,
}

/// Shop rule kind for [`StoredValueRules`]; key: `chain`.
pub const RULES_KIND: &str = kinds::STORED_VALUE_RULES;

/// Head office's stored-value rules, or the safe defaults when it sent none (or one this till
/// cannot read).
pub(crate) fn rules(conn: &Connection) -> Result<StoredValueRules> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM shop_rules WHERE kind = ?1 ORDER BY key LIMIT 1",
            [RULES_KIND],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body
        .and_then(|b| serde_json::from_str::<StoredValueRules>(&b).ok())
        .filter(|r| r.validate().is_ok())
        .unwrap_or_default())
}

/// What this till knows of `number`, folded from its indexed movements; `None` if it has none.
pub(crate) fn known_state(
    conn: &Connection,
    number: &InstrumentNumber,
) -> Result<Option<InstrumentState>> {
    let mut stmt = conn.prepare_cached(
        "SELECT movement, amount_cents, offline, expires FROM stored_value_movements
          WHERE number = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([number.as_str()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut state: Option<InstrumentState> = None;
    for row in rows {
        let (kind, cents, offline, expires) = row?;
        let kind: MovementKind = serde_json::from_value(serde_json::Value::String(kind))
            .map_err(|e| TillError::Corrupt(format!("stored-value index: {e}")))?;
        let mut movement = InstrumentMovement::new(number.clone(), kind, Money::from_cents(cents));
        movement.offline = offline;
        movement.expires = expires.and_then(|d| d.parse().ok());
        state
            .get_or_insert_with(|| InstrumentState::new(number.clone()))
            .apply(&movement);
    }
    Ok(state)
}

/// Whether this till issued (credit note) or sold (gift card) `number`.
fn issued_here(conn: &Connection, number: &InstrumentNumber) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM stored_value_movements
              WHERE number = ?1 AND movement IN ('issue', 'load') LIMIT 1",
            [number.as_str()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// What this till spent offline from `number`, and from any instrument on `day`.
fn offline_spent(
    conn: &Connection,
    number: &InstrumentNumber,
    day: NaiveDate,
) -> Result<OfflineSpent> {
    let sum = |sql: &str, param: &str| -> Result<Money> {
        let cents: i64 = conn.query_row(sql, [param], |r| r.get(0))?;
        Ok(Money::from_cents(cents))
    };
    Ok(OfflineSpent {
        instrument: sum(
            "SELECT coalesce(sum(amount_cents), 0) FROM stored_value_movements
              WHERE number = ?1 AND offline = 1 AND movement = 'redeem'",
            number.as_str(),
        )?,
        till_today: sum(
            "SELECT coalesce(sum(amount_cents), 0) FROM stored_value_movements
              WHERE day = ?1 AND offline = 1 AND movement = 'redeem'",
            &day.to_string(),
        )?,
    })
}

/// Checks every movement of a ticket against what is known of its instrument (head office's
/// answer in `balances`, else this till's index and the offline caps), in order, so two
/// tenders on one card add up. Sets each redemption's `offline` flag from the check.
pub(crate) fn check_movements(
    conn: &Connection,
    movements: &mut [InstrumentMovement],
    balances: &[InstrumentState],
    day: NaiveDate,
    rules: &StoredValueRules,
) -> Result<()> {
    let mut seen: Vec<(InstrumentNumber, InstrumentState, OfflineSpent)> = Vec::new();
    for movement in movements.iter_mut() {
        let number = movement.number.clone();
        let index = match seen.iter().position(|(n, ..)| *n == number) {
            Some(i) => i,
            None => {
                let online = balances.iter().find(|b| b.number == number).cloned();
                let local = known_state(conn, &number)?;
                let state = online
                    .clone()
                    .or(local)
                    .unwrap_or_else(|| InstrumentState::new(number.clone()));
                let spent = offline_spent(conn, &number, day)?;
                seen.push((number.clone(), state, spent));
                seen.len() - 1
            }
        };
        let online = balances.iter().any(|b| b.number == number);
        // Only a till that issued or sold an instrument knows its whole balance; elsewhere
        // its own redemptions are a part of the story, counted by the offline caps.
        let known_here = issued_here(conn, &number)?;
        let (_, state, spent) = &mut seen[index];
        match movement.kind {
            MovementKind::Redeem => {
                let source = if online {
                    BalanceSource::HeadOffice(state.clone())
                } else {
                    BalanceSource::Offline {
                        known: known_here.then(|| state.clone()),
                        spent: *spent,
                    }
                };
                movement.offline = check_redemption(&number, movement.amount, day, &source, rules)
                    .map_err(SaleError::from)?;
                if movement.offline {
                    spent.instrument += movement.amount;
                    spent.till_today += movement.amount;
                }
            }
            MovementKind::Load | MovementKind::TopUp => {
                let known = (online || known_here).then_some(&*state);
                check_load(movement, known, rules).map_err(SaleError::from)?;
                movement.expires = Some(rules.expiry(InstrumentKind::GiftCard, day));
            }
            MovementKind::Issue | MovementKind::Credit => {}
            MovementKind::Expire | MovementKind::Cancel => {
                return Err(SaleError::from(StoredValueError::WrongKind { number }).into());
            }
        }
        state.apply(movement);
    }
    Ok(())
}

/// Indexes the movements of record `seq` of `chain`, in its transaction.
pub(crate) fn index(
    tx: &Connection,
    chain: Chain,
    seq: u64,
    day: NaiveDate,
    movements: &[InstrumentMovement],
) -> Result<()> {
    for m in movements {
        let kind = serde_json::to_value(m.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        tx.execute(
            "INSERT INTO stored_value_movements
               (number, movement, amount_cents, effect_cents, offline, expires, day, chain, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                m.number.as_str(),
                kind,
                m.amount.cents(),
                m.effect().cents(),
                m.offline,
                m.expires.map(|d| d.to_string()),
                day.to_string(),
                chain.to_string(),
                i64::try_from(seq).unwrap_or(i64::MAX),
            ],
        )?;
    }
    Ok(())
}

/// The gift card movements a sale asks for, checked for their number.
pub(crate) fn loads(request: &StoredValueRequest) -> Result<Vec<InstrumentMovement>> {
    request
        .gift_cards
        .iter()
        .map(|card| {
            let number = InstrumentNumber::parse(&card.number)
                .map_err(|e| SaleError::from(StoredValueError::from(e)))?;
            let kind = if card.top_up {
                MovementKind::TopUp
            } else {
                MovementKind::Load
            };
            Ok(InstrumentMovement::new(number, kind, card.amount))
        })
        .collect()
}

/// Checks a ticket's movements again inside its write transaction (another sale may have
/// spent the same card since it was priced) and indexes them with it.
pub(crate) fn record_ticket_movements(
    tx: &Connection,
    chain: Chain,
    seq: u64,
    day: NaiveDate,
    ticket: &Ticket,
    balances: &[InstrumentState],
) -> Result<()> {
    if ticket.stored_value.is_empty() {
        return Ok(());
    }
    if chain != Chain::Ticket {
        return Err(TillError::invalid(
            "stored_value_in_training",
            "credit notes and gift cards are real money: leave training mode to use them",
        ));
    }
    let rules = rules(tx)?;
    let mut checked = ticket.stored_value.clone();
    check_movements(tx, &mut checked, balances, day, &rules)?;
    if checked
        .iter()
        .zip(&ticket.stored_value)
        .any(|(now, priced)| now.offline != priced.offline)
    {
        return Err(TillError::invalid(
            "stored_value_changed",
            "a card or note on this sale changed since it was priced: take the payment again",
        ));
    }
    index(tx, chain, seq, day, &ticket.stored_value)
}

/// A credit note (avoir) as its slip prints it.
#[derive(Clone, Debug, Serialize)]
pub struct CreditNoteSlip {
    pub number: String,
    pub grouped: String,
    pub amount: Money,
    pub expires: Option<NaiveDate>,
    /// What the slip's barcode and QR code carry.
    pub scan: String,
    pub text: String,
}

impl Till {
    /// A new credit note's number and validity, from the injected random source and head
    /// office's validity (a default when none).
    pub(crate) fn new_credit_note(&mut self) -> Result<NewCreditNote> {
        let random = (self.random)()?;
        let rules = rules(&self.conn)?;
        Ok(NewCreditNote {
            number: InstrumentNumber::generate(InstrumentKind::CreditNote, random),
            expires: rules.expiry(InstrumentKind::CreditNote, self.shop_day()),
        })
    }

    /// Replaces where new credit-note and gift-card numbers get their randomness (the OS by
    /// default), so tests get known numbers.
    pub fn set_random_source(&mut self, random: Box<dyn FnMut() -> Result<[u8; 16]> + Send>) {
        self.random = random;
    }

    /// A new gift card number (to print on card stock), from the injected random source.
    pub fn new_gift_card_number(&mut self) -> Result<InstrumentNumber> {
        Ok(InstrumentNumber::generate(
            InstrumentKind::GiftCard,
            (self.random)()?,
        ))
    }

    /// The stored-value rules in force (head office's, or the defaults).
    pub fn stored_value_rules(&self) -> Result<StoredValueRules> {
        rules(&self.conn)
    }

    /// What this till knows of an instrument (its movements here), by number as scanned.
    pub fn instrument(&self, number: &str) -> Result<KnownInstrument> {
        let number = parse_number(number)?;
        let state = known_state(&self.conn, &number)?;
        Ok(KnownInstrument {
            kind: number.kind(),
            grouped: number.grouped(),
            known_here: state.is_some(),
            state: state.unwrap_or_else(|| InstrumentState::new(number)),
        })
    }

    /// Cancels an instrument this till knows (a card sold in error, a note issued in error):
    /// a `stored_value`-chain record removes its balance. Needs a reason.
    pub fn cancel_instrument(
        &mut self,
        operator: &str,
        number: &str,
        reason: &str,
    ) -> Result<InstrumentMovement> {
        if reason.trim().is_empty() {
            return Err(TillError::invalid(
                "reason_required",
                "say why the card or note is cancelled",
            ));
        }
        let number = parse_number(number)?;
        self.close_instrument(operator, number, MovementKind::Cancel, reason.trim())
    }

    /// Expires every instrument this till issued or sold whose last valid day is before
    /// today and that still holds money: one `stored_value`-chain record each. Only the till
    /// that issued an instrument expires it, so the chain removes a balance once.
    pub fn expire_instruments(&mut self, operator: &str) -> Result<Vec<InstrumentMovement>> {
        let today = self.shop_day();
        let numbers: Vec<String> = {
            let mut stmt = self.conn.prepare(
                "SELECT DISTINCT number FROM stored_value_movements
                  WHERE movement IN ('issue', 'load') ORDER BY number",
            )?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut expired = Vec::new();
        for number in numbers {
            let number = parse_number(&number)?;
            let Some(state) = known_state(&self.conn, &number)? else {
                continue;
            };
            let past = state.expires.is_some_and(|last| last < today);
            if past && !state.closed && state.balance.is_positive() {
                expired.push(self.close_instrument(
                    operator,
                    number,
                    MovementKind::Expire,
                    "validity ended",
                )?);
            }
        }
        Ok(expired)
    }

    fn close_instrument(
        &mut self,
        operator: &str,
        number: InstrumentNumber,
        kind: MovementKind,
        reason: &str,
    ) -> Result<InstrumentMovement> {
        let day = self.shop_day();
        self.write(operator, |tx, author: &Author<'_>| {
            let state = known_state(tx, &number)?.ok_or_else(|| {
                SaleError::from(StoredValueError::Unknown {
                    number: number.clone(),
                })
            })?;
            if state.closed {
                return Err(SaleError::from(StoredValueError::NotUsable {
                    number: number.clone(),
                })
                .into());
            }
            let mut movement =
                InstrumentMovement::new(number.clone(), kind, state.balance.max(Money::ZERO));
            movement.reason = Some(reason.to_string());
            movement.check_limits().map_err(SaleError::from)?;
            let payload =
                serde_json::to_value(&movement).map_err(|e| TillError::Corrupt(e.to_string()))?;
            let signed = ledger::append(tx, author, Chain::StoredValue, payload, None)?;
            index(
                tx,
                Chain::StoredValue,
                signed.record.seq,
                day,
                std::slice::from_ref(&movement),
            )?;
            Ok(movement)
        })
    }

    /// The slips of the credit notes ticket `number` issued: number, barcode and QR payload,
    /// amount and last valid day, as the printer prints them after the ticket's receipt.
    pub fn credit_note_slips(&self, number: u64) -> Result<Vec<CreditNoteSlip>> {
        let ticket = self.ticket(Chain::Ticket, number)?;
        Ok(ticket
            .ticket
            .stored_value
            .iter()
            .filter(|m| m.kind == MovementKind::Issue)
            .map(|m| {
                let text = crate::receipt::render_credit_note(&self.identity, &ticket, m);
                CreditNoteSlip {
                    number: m.number.to_string(),
                    grouped: m.number.grouped(),
                    amount: m.amount,
                    expires: m.expires,
                    scan: m.number.scan_payload().to_string(),
                    text,
                }
            })
            .collect())
    }
}

fn parse_number(text: &str) -> Result<InstrumentNumber> {
    InstrumentNumber::parse(text).map_err(|e| SaleError::from(StoredValueError::from(e)).into())
}
