//! Cashier shifts and the reports of the cash office: a shift per cashier opens with a float
//! and closes with a blind count, both records of the cash chain; the X report of a shift (its
//! tickets, its cash, what the drawer should hold) and of a cashier (their tickets since the
//! last Z).
//!
//! A shift is known by the cash-chain sequence of its opening. Its tickets are the tickets of
//! its cashier numbered after the ticket head recorded at the opening (and up to the one
//! recorded at the close), its cash movements those of its cashier between the two records:
//! cut by sequence, never by clock. The expected cash of a shift is computed, and recorded, in
//! the transaction that records its count; nothing here reveals it before: hiding it from the
//! cashier until then is the service's job ([`ShiftReport::expected_cash`] is always filled).

use pos_domain::Money;
use pos_domain::closure::{PeriodTotals, TotalsBuilder};
use pos_domain::journal::{CashMovement, CashMovementKind};
use pos_domain::record::{Chain, SignedRecord, timestamp};
use pos_domain::tender::TenderKind;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::engine::{Till, payload_of, ticket_of};
use crate::error::{Result, TillError};
use crate::ledger;

/// A shift's X report (or, once closed, its Z-like summary).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftReport {
    /// The cash-chain sequence of the opening.
    pub shift: u64,
    pub cashier: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub float: Money,
    /// The shift's tickets (the cashier's, between the opening and the close).
    pub totals: PeriodTotals,
    /// Cash the cashier's drawer should hold: the float, the shift's net cash taken, pay-ins
    /// less pay-outs and deposits.
    pub expected_cash: Money,
    /// What the blind count found, once the shift is closed.
    pub counted: Option<Money>,
    /// Counted minus expected, once closed.
    pub difference: Option<Money>,
}

/// A cashier's shift as found in the cash chain: its opening, and its close if any.
struct Shift {
    open: SignedRecord,
    opening: CashMovement,
    close: Option<(SignedRecord, CashMovement)>,
}

fn movement_of(record: &SignedRecord) -> Result<CashMovement> {
    payload_of(record)
}

fn head(conn: &Connection, chain: Chain) -> Result<u64> {
    Ok(ledger::head(conn, chain)?.map_or(0, |(seq, _)| seq))
}

/// The newest shift of `cashier`, scanning the (short) cash chain backwards.
fn last_shift(conn: &Connection, cashier: &str) -> Result<Option<Shift>> {
    let mut close = None;
    for seq in (1..=head(conn, Chain::Cash)?).rev() {
        let record = ledger::get(conn, Chain::Cash, seq)?
            .ok_or_else(|| TillError::Corrupt(format!("cash record {seq} missing")))?;
        if record.record.operator != cashier {
            continue;
        }
        let movement = movement_of(&record)?;
        match movement.kind {
            CashMovementKind::ShiftClose if close.is_none() => close = Some((record, movement)),
            CashMovementKind::ShiftOpen => {
                return Ok(Some(Shift {
                    open: record,
                    opening: movement,
                    close,
                }));
            }
            _ => {}
        }
    }
    Ok(None)
}

/// The shift opened by cash record `seq`, with its close if recorded.
fn shift_at(conn: &Connection, seq: u64) -> Result<Shift> {
    let unknown = || {
        TillError::invalid(
            "unknown_shift",
            format!("there is no shift {seq}: pick one from the list of shifts"),
        )
    };
    let open = ledger::get(conn, Chain::Cash, seq)?.ok_or_else(unknown)?;
    let opening = movement_of(&open)?;
    if opening.kind != CashMovementKind::ShiftOpen {
        return Err(unknown());
    }
    let mut close = None;
    ledger::for_each_in(
        conn,
        Chain::Cash,
        seq + 1,
        head(conn, Chain::Cash)?,
        |record| {
            if close.is_none() && record.record.operator == open.record.operator {
                let movement = movement_of(&record)?;
                if movement.kind == CashMovementKind::ShiftClose && movement.shift == Some(seq) {
                    close = Some((record, movement));
                }
            }
            Ok(())
        },
    )?;
    Ok(Shift {
        open,
        opening,
        close,
    })
}

/// The tickets of `operator` numbered in `after+1..=through` (perpetual totals left at zero:
/// a cashier's report is not a closure).
fn operator_totals(
    conn: &Connection,
    operator: &str,
    after: u64,
    through: u64,
) -> Result<PeriodTotals> {
    let mut builder = TotalsBuilder::default();
    ledger::for_each_in(conn, Chain::Ticket, after + 1, through, |record| {
        if record.record.operator == operator {
            builder.add_ticket(record.record.seq, &ticket_of(&record)?);
        }
        Ok(())
    })?;
    Ok(builder.finish())
}

fn net_cash(totals: &PeriodTotals) -> Money {
    totals
        .tenders
        .iter()
        .filter(|t| t.kind == TenderKind::Cash)
        .map(|t| t.amount)
        .sum()
}

/// The shift's report: its tickets and what its drawer should hold, up to its close (or now).
fn report_of(conn: &Connection, shift: &Shift) -> Result<ShiftReport> {
    let cashier = shift.open.record.operator.clone();
    let open_seq = shift.open.record.seq;
    let (cash_through, ticket_through) = match &shift.close {
        Some((record, movement)) => (
            record.record.seq - 1,
            movement.ticket_head.unwrap_or_default(),
        ),
        None => (head(conn, Chain::Cash)?, head(conn, Chain::Ticket)?),
    };
    let after_ticket = shift.opening.ticket_head.unwrap_or_default();
    let totals = operator_totals(conn, &cashier, after_ticket, ticket_through)?;
    let mut expected = shift.opening.amount + net_cash(&totals);
    ledger::for_each_in(conn, Chain::Cash, open_seq + 1, cash_through, |record| {
        if record.record.operator == cashier {
            let movement = movement_of(&record)?;
            expected += Money::from_cents(movement.amount.cents() * movement.kind.drawer_sign());
        }
        Ok(())
    })?;
    let closed = shift.close.as_ref();
    Ok(ShiftReport {
        shift: open_seq,
        cashier,
        opened_at: timestamp::format(&shift.open.record.at),
        closed_at: closed.map(|(r, _)| timestamp::format(&r.record.at)),
        float: shift.opening.amount,
        totals,
        // Once closed, the expected cash is the one recorded with the count.
        expected_cash: closed.and_then(|(_, m)| m.expected).unwrap_or(expected),
        counted: closed.map(|(_, m)| m.amount),
        difference: closed.and_then(|(_, m)| m.difference),
    })
}

impl Till {
    /// Opens a shift for `cashier` with `float` put in the drawer; answers its number (the
    /// cash-chain sequence of the opening). A cashier has one shift open at a time.
    pub fn open_shift(&mut self, cashier: &str, float: Money) -> Result<u64> {
        if float.is_negative() {
            return Err(TillError::invalid(
                "amount_negative",
                "give the float as a positive amount",
            ));
        }
        self.write(cashier, |tx, author| {
            if last_shift(tx, cashier)?.is_some_and(|s| s.close.is_none()) {
                return Err(TillError::invalid(
                    "shift_open",
                    "your shift is already open: close it with its count before opening another",
                ));
            }
            let opening = CashMovement {
                ticket_head: Some(head(tx, Chain::Ticket)?),
                ..CashMovement::new(CashMovementKind::ShiftOpen, float)
            };
            opening
                .check_limits()
                .map_err(pos_domain::SaleError::from)?;
            let payload =
                serde_json::to_value(&opening).map_err(|e| TillError::Corrupt(e.to_string()))?;
            Ok(ledger::append(tx, author, Chain::Cash, payload, None)?
                .record
                .seq)
        })
    }

    /// Closes `cashier`'s open shift with the cash they counted (a blind count: the expected
    /// cash is computed and recorded with it, in the same transaction), and answers its report.
    pub fn close_shift(&mut self, cashier: &str, counted: Money) -> Result<ShiftReport> {
        if counted.is_negative() {
            return Err(TillError::invalid(
                "amount_negative",
                "give the cash counted as a positive amount",
            ));
        }
        self.write(cashier, |tx, author| {
            let shift = last_shift(tx, cashier)?
                .filter(|s| s.close.is_none())
                .ok_or_else(no_open_shift)?;
            let open = report_of(tx, &shift)?;
            let closing = CashMovement {
                expected: Some(open.expected_cash),
                difference: Some(counted - open.expected_cash),
                shift: Some(open.shift),
                ticket_head: Some(head(tx, Chain::Ticket)?),
                ..CashMovement::new(CashMovementKind::ShiftClose, counted)
            };
            closing
                .check_limits()
                .map_err(pos_domain::SaleError::from)?;
            let payload =
                serde_json::to_value(&closing).map_err(|e| TillError::Corrupt(e.to_string()))?;
            let record = ledger::append(tx, author, Chain::Cash, payload, None)?;
            report_of(
                tx,
                &Shift {
                    close: Some((record, closing)),
                    ..shift
                },
            )
        })
    }

    /// The report of shift `shift` (see [`ShiftReport`]).
    pub fn shift_report(&self, shift: u64) -> Result<ShiftReport> {
        report_of(&self.conn, &shift_at(&self.conn, shift)?)
    }

    /// The report of `cashier`'s newest shift, open or closed (`None` if they never had one).
    pub fn last_shift_report(&self, cashier: &str) -> Result<Option<ShiftReport>> {
        last_shift(&self.conn, cashier)?
            .map(|shift| report_of(&self.conn, &shift))
            .transpose()
    }

    /// Whether `cashier` recorded the blind count closing a shift since the last day closure:
    /// until then the service hides the expected cash from them.
    pub fn counted_since_last_z(&self, cashier: &str) -> Result<bool> {
        let after = crate::closing::last_day_through_cash(&self.conn)?;
        Ok(last_shift(&self.conn, cashier)?
            .and_then(|shift| shift.close)
            .is_some_and(|(record, _)| record.record.seq > after))
    }

    /// The tickets `cashier` recorded since the last day closure: the X report per cashier.
    pub fn cashier_totals(&self, cashier: &str) -> Result<PeriodTotals> {
        let after = crate::closing::last_day_through_ticket(&self.conn)?;
        operator_totals(&self.conn, cashier, after, head(&self.conn, Chain::Ticket)?)
    }
}

fn no_open_shift() -> TillError {
    TillError::invalid(
        "no_open_shift",
        "you have no shift open: open one with its float first",
    )
}
