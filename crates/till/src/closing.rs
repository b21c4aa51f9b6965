//! Closures and reports: the X report of the current day, and day (Z), month and fiscal-year
//! closures recorded in the closure chain.
//!
//! A day closure covers the tickets after the previous day closure's `through_ticket`; a month
//! closure sums the day closures since the previous month closure, closing the pending day
//! first; a year closure sums month closures the same way. Everything is computed from the
//! ledger at the moment of closing, in the same transaction that records it.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pos_domain::Money;
use pos_domain::closure::{Closure, ClosureLevel, PeriodTotals, TotalsBuilder};
use pos_domain::journal::{CashMovement, CashMovementKind, EventKind};
use pos_domain::record::{Chain, SignedRecord, timestamp};
use pos_domain::tender::TenderKind;
use rusqlite::Connection;
use serde_json::json;

use crate::engine::{Till, append_event, payload_of, ticket_of};
use crate::error::{Result, TillError};
use crate::identity::Identity;
use crate::ledger::{self, Author};
use crate::requests::{RecordedClosure, XReport};

fn closure_of(record: &SignedRecord) -> Result<Closure> {
    payload_of(record)
}

fn recorded(record: &SignedRecord) -> Result<RecordedClosure> {
    Ok(RecordedClosure {
        number: record.record.seq,
        at: timestamp::format(&record.record.at),
        closure: closure_of(record)?,
        signature: record.signature.to_string(),
    })
}

/// The newest closure of `level`, scanning the (short) closure chain backwards.
fn last_closure(conn: &Connection, level: ClosureLevel) -> Result<Option<(SignedRecord, Closure)>> {
    let Some((head, _)) = ledger::head(conn, Chain::Closure)? else {
        return Ok(None);
    };
    for seq in (1..=head).rev() {
        let record = ledger::get(conn, Chain::Closure, seq)?
            .ok_or_else(|| TillError::Corrupt(format!("closure {seq} missing")))?;
        let closure = closure_of(&record)?;
        if closure.level == level {
            return Ok(Some((record, closure)));
        }
    }
    Ok(None)
}

/// Perpetual totals as of the end of ticket `through` (zero before the first ticket).
fn perpetual_after(conn: &Connection, through: u64) -> Result<(Money, Money)> {
    if through == 0 {
        return Ok((Money::ZERO, Money::ZERO));
    }
    let record =
        ledger::get(conn, Chain::Ticket, through)?.ok_or(TillError::UnknownTicket(through))?;
    let ticket = ticket_of(&record)?;
    Ok((ticket.grand_total, ticket.perpetual_absolute_total))
}

struct OpenDay {
    after_ticket: u64,
    after_cash: u64,
    head: u64,
    totals: PeriodTotals,
    first_at: Option<DateTime<Utc>>,
    last_signature: Option<String>,
}

/// Totals of the tickets recorded since the last day closure.
fn open_day(conn: &Connection) -> Result<OpenDay> {
    let (after_ticket, after_cash) = last_closure(conn, ClosureLevel::Day)?
        .map(|(_, c)| (c.through_ticket, c.through_cash))
        .unwrap_or((0, 0));

    let head = ledger::head(conn, Chain::Ticket)?
        .map(|(seq, _)| seq)
        .unwrap_or(0);
    let (grand, absolute) = perpetual_after(conn, after_ticket)?;
    let mut builder = TotalsBuilder::new(grand, absolute);
    let mut first_at = None;
    let mut last_signature = None;
    ledger::for_each_in(conn, Chain::Ticket, after_ticket + 1, head, |record| {
        first_at.get_or_insert(record.record.at);
        builder.add_ticket(record.record.seq, &ticket_of(&record)?);
        last_signature = Some(record.signature.to_string());
        Ok(())
    })?;
    Ok(OpenDay {
        after_ticket,
        after_cash,
        head,
        totals: builder.finish(),
        first_at,
        last_signature,
    })
}

/// Cash the drawer should hold now (see [`expected_cash_of`]).
pub(crate) fn expected_cash(conn: &Connection) -> Result<Money> {
    expected_cash_of(conn, &open_day(conn)?)
}

/// Cash the drawer should hold: the float and pay-ins, less pay-outs and deposits, recorded
/// after the last day closure (cut by cash-chain sequence, never by clock), plus the net cash
/// of the open day's tickets. Counts do not change it: cash found missing at noon is still
/// missing in the evening, and the evening count reports the day's whole difference.
fn expected_cash_of(conn: &Connection, day: &OpenDay) -> Result<Money> {
    let head = ledger::head(conn, Chain::Cash)?
        .map(|(seq, _)| seq)
        .unwrap_or(0);
    let mut net: Money = day
        .totals
        .tenders
        .iter()
        .filter(|t| t.kind == TenderKind::Cash)
        .map(|t| t.amount)
        .sum();
    ledger::for_each_in(conn, Chain::Cash, day.after_cash + 1, head, |record| {
        let movement: CashMovement = payload_of(&record)?;
        match movement.kind {
            CashMovementKind::OpeningFloat | CashMovementKind::PayIn => net += movement.amount,
            CashMovementKind::PayOut | CashMovementKind::BankDeposit => net -= movement.amount,
            CashMovementKind::Count => {}
        }
        Ok(())
    })?;
    Ok(net)
}

fn local_date(identity: &Identity, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&identity.timezone).date_naive()
}

/// The fiscal year containing `date`, as `first-day/last-day`.
fn fiscal_year(identity: &Identity, date: NaiveDate) -> String {
    let start_month = identity.fiscal_year_start_month;
    let start_year = if date.month() >= start_month {
        date.year()
    } else {
        date.year() - 1
    };
    let first = NaiveDate::from_ymd_opt(start_year, start_month, 1).unwrap_or(date);
    let next = NaiveDate::from_ymd_opt(start_year + 1, start_month, 1).unwrap_or(date);
    format!("{first}/{}", next.pred_opt().unwrap_or(next))
}

fn append_closure(tx: &Connection, author: &Author<'_>, closure: &Closure) -> Result<SignedRecord> {
    let payload = serde_json::to_value(closure).map_err(|e| TillError::Corrupt(e.to_string()))?;
    ledger::append(tx, author, Chain::Closure, payload, None)
}

fn close_day(tx: &Connection, author: &Author<'_>, identity: &Identity) -> Result<SignedRecord> {
    let day = open_day(tx)?;
    let closure = Closure {
        level: ClosureLevel::Day,
        period: local_date(identity, day.first_at.unwrap_or(author.at)).to_string(),
        through_ticket: day.head,
        through_cash: ledger::head(tx, Chain::Cash)?
            .map(|(seq, _)| seq)
            .unwrap_or(0),
        closures: None,
        totals: day.totals,
        last_ticket_signature: day.last_signature,
    };
    append_closure(tx, author, &closure)
}

/// The closure-chain sequence of the newest closure of `level` (0 if none).
fn last_closure_seq(conn: &Connection, level: ClosureLevel) -> Result<u64> {
    Ok(last_closure(conn, level)?
        .map(|(record, _)| record.record.seq)
        .unwrap_or(0))
}

/// The closure-chain sequence up to which closures of the level below `level` are covered by a
/// closure of `level` (0 if none yet).
fn covered_until(conn: &Connection, level: ClosureLevel) -> Result<u64> {
    Ok(last_closure(conn, level)?
        .map(|(record, closure)| {
            closure
                .closures
                .map(|(_, last)| last)
                .unwrap_or(record.record.seq)
        })
        .unwrap_or(0))
}

/// Whether something happened that a closure of `level` made now would cover for the first
/// time: tickets after the last day closure, or lower-level closures not yet covered by one of
/// this level.
fn has_pending(conn: &Connection, level: ClosureLevel) -> Result<bool> {
    let closed_through =
        last_closure(conn, ClosureLevel::Day)?.map_or(0, |(_, c)| c.through_ticket);
    if closed_through < ledger::head(conn, Chain::Ticket)?.map_or(0, |(seq, _)| seq) {
        return Ok(true);
    }
    match level.sums() {
        None => Ok(false),
        Some(lower) => Ok(last_closure_seq(conn, lower)? > covered_until(conn, level)?),
    }
}

/// The period a closure of `level` gives to a closure of the level below: the month of a day,
/// the fiscal year of a month.
fn period_of(identity: &Identity, level: ClosureLevel, lower: &Closure) -> Option<String> {
    let month = lower.period.get(..7)?;
    match level {
        ClosureLevel::Day => None,
        ClosureLevel::Month => Some(month.to_string()),
        ClosureLevel::Year => {
            let first_day = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
            Some(fiscal_year(identity, first_day))
        }
    }
}

/// Closes `level`, first closing what is pending below it (a month closure closes the open
/// day, a year closure the open months), and returns the closure of `level`.
///
/// A closure covers one calendar period only: a month closure the day closures of the earliest
/// month not yet closed, a year closure the month closures of the earliest fiscal year. Days of
/// a later month wait for the next month closure, so a month closed late (on the 3rd of the
/// next month) still holds only its own days.
fn close_level(
    tx: &Connection,
    author: &Author<'_>,
    identity: &Identity,
    level: ClosureLevel,
) -> Result<SignedRecord> {
    let Some(lower) = level.sums() else {
        return close_day(tx, author, identity);
    };
    while has_pending(tx, lower)? {
        close_level(tx, author, identity, lower)?;
    }
    let previous = last_closure(tx, level)?;
    let from = covered_until(tx, level)? + 1;
    let head = ledger::head(tx, Chain::Closure)?
        .map(|(seq, _)| seq)
        .unwrap_or(0);
    let mut pending: Vec<(u64, Closure)> = Vec::new();
    ledger::for_each_in(tx, Chain::Closure, from, head, |record| {
        let closure = closure_of(&record)?;
        if closure.level == lower {
            pending.push((record.record.seq, closure));
        }
        Ok(())
    })?;
    let now = local_date(identity, author.at);
    let period = match pending
        .first()
        .and_then(|(_, c)| period_of(identity, level, c))
    {
        Some(period) => period,
        None if level == ClosureLevel::Month => now.format("%Y-%m").to_string(),
        None => fiscal_year(identity, now),
    };
    let covered: Vec<&(u64, Closure)> = pending
        .iter()
        .take_while(|(_, c)| period_of(identity, level, c).as_deref() == Some(period.as_str()))
        .collect();
    let (grand, absolute, through_ticket, through_cash) = match &previous {
        Some((_, c)) => (
            c.totals.grand_total,
            c.totals.perpetual_absolute_total,
            c.through_ticket,
            c.through_cash,
        ),
        None => (Money::ZERO, Money::ZERO, 0, 0),
    };
    let mut builder = TotalsBuilder::new(grand, absolute);
    for (_, closure) in &covered {
        builder.add_closure(closure);
    }
    let last = covered.last().map(|(_, c)| c);
    let closure = Closure {
        level,
        period,
        through_ticket: last.map_or(through_ticket, |c| c.through_ticket),
        through_cash: last.map_or(through_cash, |c| c.through_cash),
        closures: covered.first().zip(covered.last()).map(|(a, b)| (a.0, b.0)),
        totals: builder.finish(),
        last_ticket_signature: covered
            .iter()
            .rev()
            .find_map(|(_, c)| c.last_ticket_signature.clone()),
    };
    append_closure(tx, author, &closure)
}

impl Till {
    /// Closes the day, month or fiscal year, and records the closure-started event with it.
    pub fn close(&mut self, operator: &str, level: ClosureLevel) -> Result<RecordedClosure> {
        let identity = self.identity.clone();
        let record = self.write(operator, |tx, author| {
            append_event(
                tx,
                author,
                EventKind::ClosureStarted,
                json!({"level": level}),
            )?;
            close_level(tx, author, &identity, level)
        })?;
        // A quiet moment: fold the write-ahead log into the database (see `db::configure`).
        // The closure is committed: a failed checkpoint must not report it as failed.
        if let Err(error) = self.checkpoint() {
            tracing::warn!(%error, "checkpoint after the closure failed; SQLite will retry");
        }
        recorded(&record)
    }

    /// The X report: totals since the last day closure and the cash the drawer should hold.
    pub fn report_x(&self) -> Result<XReport> {
        let day = open_day(&self.conn)?;
        Ok(XReport {
            at: timestamp::format(&self.clock.now()),
            since_closure: (day.after_ticket > 0).then_some(day.after_ticket),
            expected_cash: expected_cash_of(&self.conn, &day)?,
            totals: day.totals,
        })
    }

    /// A recorded closure; the newest day closure (Z) when `number` is `None`.
    pub fn closure(&self, number: Option<u64>) -> Result<RecordedClosure> {
        match number {
            Some(n) => recorded(
                &ledger::get(&self.conn, Chain::Closure, n)?.ok_or(TillError::UnknownClosure(n))?,
            ),
            None => {
                let (record, _) =
                    last_closure(&self.conn, ClosureLevel::Day)?.ok_or_else(|| {
                        TillError::invalid(
                            "no_closure",
                            "no day closure yet: run `till close day` first",
                        )
                    })?;
                recorded(&record)
            }
        }
    }
}
