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

use crate::engine::{Till, append_event, ticket_of};
use crate::error::{Result, TillError};
use crate::identity::Identity;
use crate::ledger::{self, Author};
use crate::requests::{RecordedClosure, XReport};

fn closure_of(record: &SignedRecord) -> Result<Closure> {
    serde_json::from_value(record.record.payload.clone())
        .map_err(|e| TillError::Corrupt(format!("closure {}: {e}", record.record.seq)))
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
    head: u64,
    totals: PeriodTotals,
    first_at: Option<DateTime<Utc>>,
    last_signature: Option<String>,
}

/// Totals of the tickets recorded since the last day closure.
fn open_day(conn: &Connection) -> Result<OpenDay> {
    let after_ticket = last_closure(conn, ClosureLevel::Day)?
        .map(|(_, c)| c.through_ticket)
        .unwrap_or(0);
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
        head,
        totals: builder.finish(),
        first_at,
        last_signature,
    })
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

/// Whether something happened that a closure of `level` made now would cover for the first
/// time: tickets after the last day closure, or lower-level closures after the last one of
/// this level.
fn has_pending(conn: &Connection, level: ClosureLevel) -> Result<bool> {
    if open_day(conn)?.totals.tickets > 0 {
        return Ok(true);
    }
    match level.sums() {
        None => Ok(false),
        Some(lower) => Ok(
            last_closure_seq(conn, lower)? > last_closure_seq(conn, level)?
                || has_pending(conn, lower)?,
        ),
    }
}

/// Closes `level`, first closing the pending lower level (a month closure closes the open day,
/// a year closure the open month), and returns the closure of `level`.
fn close_level(
    tx: &Connection,
    author: &Author<'_>,
    identity: &Identity,
    level: ClosureLevel,
) -> Result<SignedRecord> {
    let Some(lower) = level.sums() else {
        return close_day(tx, author, identity);
    };
    if has_pending(tx, lower)? {
        close_level(tx, author, identity, lower)?;
    }
    let since = last_closure_seq(tx, level)?;
    let head = ledger::head(tx, Chain::Closure)?
        .map(|(seq, _)| seq)
        .unwrap_or(0);
    let through = ledger::head(tx, Chain::Ticket)?
        .map(|(seq, _)| seq)
        .unwrap_or(0);
    let base_through = last_closure(tx, level)?
        .map(|(_, c)| c.through_ticket)
        .unwrap_or(0);
    let (grand, absolute) = perpetual_after(tx, base_through)?;
    let mut builder = TotalsBuilder::new(grand, absolute);
    let mut first_period: Option<String> = None;
    let mut covered: Option<(u64, u64)> = None;
    let mut last_signature = None;
    ledger::for_each_in(tx, Chain::Closure, since + 1, head, |record| {
        let closure = closure_of(&record)?;
        if closure.level == lower {
            builder.add_closure(&closure);
            first_period.get_or_insert(closure.period.clone());
            covered = Some((
                covered.map(|c| c.0).unwrap_or(record.record.seq),
                record.record.seq,
            ));
            if closure.last_ticket_signature.is_some() {
                last_signature = closure.last_ticket_signature.clone();
            }
        }
        Ok(())
    })?;
    let first_day = first_period
        .as_deref()
        .and_then(|p| {
            NaiveDate::parse_from_str(&format!("{}-01", &p[..7.min(p.len())]), "%Y-%m-%d").ok()
        })
        .unwrap_or_else(|| local_date(identity, author.at));
    let period = match level {
        ClosureLevel::Month => first_day.format("%Y-%m").to_string(),
        _ => fiscal_year(identity, first_day),
    };
    let closure = Closure {
        level,
        period,
        through_ticket: through,
        closures: covered,
        totals: builder.finish(),
        last_ticket_signature: last_signature,
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
        self.checkpoint()?;
        recorded(&record)
    }

    /// The X report: totals since the last day closure and the cash the drawer should hold.
    pub fn report_x(&self) -> Result<XReport> {
        let day = open_day(&self.conn)?;
        let since =
            last_closure(&self.conn, ClosureLevel::Day)?.map(|(record, _)| record.record.at);
        let cash_taken = day
            .totals
            .tenders
            .iter()
            .filter(|t| t.kind == TenderKind::Cash)
            .map(|t| t.amount)
            .sum::<Money>();
        Ok(XReport {
            at: timestamp::format(&self.clock.now()),
            since_closure: (day.after_ticket > 0).then_some(day.after_ticket),
            expected_cash: self.cash_movements_since(since)? + cash_taken,
            totals: day.totals,
        })
    }

    /// Net cash moved into the drawer since `since`: the float and pay-ins, less pay-outs and
    /// deposits. A count resets the reference to what was counted.
    fn cash_movements_since(&self, since: Option<DateTime<Utc>>) -> Result<Money> {
        let head = self.chain_length(Chain::Cash)?;
        let mut net = Money::ZERO;
        self.records(Chain::Cash, 1, head, |record| {
            if since.is_some_and(|s| record.record.at < s) {
                return Ok(());
            }
            let movement: CashMovement = serde_json::from_value(record.record.payload)
                .map_err(|e| TillError::Corrupt(format!("cash {}: {e}", record.record.seq)))?;
            match movement.kind {
                CashMovementKind::OpeningFloat | CashMovementKind::PayIn => net += movement.amount,
                CashMovementKind::PayOut | CashMovementKind::BankDeposit => net -= movement.amount,
                CashMovementKind::Count => {}
            }
            Ok(())
        })?;
        Ok(net)
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
