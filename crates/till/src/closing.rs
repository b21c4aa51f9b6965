//! Closures and reports: the X report of the current day, and day (Z), month and fiscal-year
//! closures recorded in the closure chain.
//!
//! A day closure covers one calendar day of the shop's time zone: a closure made late (three
//! days on) records one Z per open day, oldest first, each with its own totals and dated its
//! day; [`Till::closure_due`] tells the app when to ask for it. A month
//! closure sums the day closures since the previous month closure, closing the pending day
//! first; a year closure sums month closures the same way. Everything is computed from the
//! ledger at the moment of closing, in the same transaction that records it.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use pos_domain::Money;
use pos_domain::closure::{Closure, ClosureLevel, PeriodTotals, TotalsBuilder};
use pos_domain::journal::{CashMovement, EventKind};
use pos_domain::record::{Chain, SignedRecord, timestamp};
use pos_domain::tender::TenderKind;
use rusqlite::Connection;
use serde_json::json;

use crate::engine::{Till, append_event, payload_of, ticket_of};
use crate::error::{Result, TillError};
use crate::identity::Identity;
use crate::ledger::{self, Author};
use crate::requests::{ClosureDue, ClosureDueReason, RecordedClosure, XReport};

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
    let mut last_signature = None;
    ledger::for_each_in(conn, Chain::Ticket, after_ticket + 1, head, |record| {
        builder.add_ticket(record.record.seq, &ticket_of(&record)?);
        last_signature = Some(record.signature.to_string());
        Ok(())
    })?;
    Ok(OpenDay {
        after_ticket,
        after_cash,
        head,
        totals: builder.finish(),
        last_signature,
    })
}

/// The newest ticket covered by a day closure (0 before the first Z).
pub(crate) fn last_day_through_ticket(conn: &Connection) -> Result<u64> {
    Ok(last_closure(conn, ClosureLevel::Day)?.map_or(0, |(_, c)| c.through_ticket))
}

/// The newest cash record covered by a day closure (0 before the first Z).
pub(crate) fn last_day_through_cash(conn: &Connection) -> Result<u64> {
    Ok(last_closure(conn, ClosureLevel::Day)?.map_or(0, |(_, c)| c.through_cash))
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
        net += Money::from_cents(movement.amount.cents() * movement.kind.drawer_sign());
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

/// One calendar day of the open period: its tickets' totals, and how far the ticket and cash
/// chains go by its end.
struct DayToClose {
    date: NaiveDate,
    totals: TotalsBuilder,
    through_ticket: u64,
    last_signature: Option<String>,
}

/// The local day each record counts for: its own, or the latest day already seen if the clock
/// went back, so days never interleave and every record falls in exactly one closure.
fn day_of(identity: &Identity, at: DateTime<Utc>, latest: Option<NaiveDate>) -> NaiveDate {
    let date = local_date(identity, at);
    latest.map_or(date, |latest| latest.max(date))
}

/// The open tickets split by local calendar day, oldest first. Each day's totals start from
/// the perpetual totals at the end of the day before, so every day closure carries its own.
fn open_days(conn: &Connection, identity: &Identity) -> Result<(OpenDay, Vec<DayToClose>)> {
    let day = open_day(conn)?;
    let (mut grand, mut absolute) = perpetual_after(conn, day.after_ticket)?;
    let mut days: Vec<DayToClose> = Vec::new();
    ledger::for_each_in(
        conn,
        Chain::Ticket,
        day.after_ticket + 1,
        day.head,
        |record| {
            let date = day_of(identity, record.record.at, days.last().map(|d| d.date));
            if days.last().is_none_or(|d| d.date != date) {
                days.push(DayToClose {
                    date,
                    totals: TotalsBuilder::new(grand, absolute),
                    through_ticket: day.after_ticket,
                    last_signature: None,
                });
            }
            let ticket = ticket_of(&record)?;
            (grand, absolute) = (ticket.grand_total, ticket.perpetual_absolute_total);
            let open = days.last_mut().expect("a day was just pushed");
            open.totals.add_ticket(record.record.seq, &ticket);
            open.through_ticket = record.record.seq;
            open.last_signature = Some(record.signature.to_string());
            Ok(())
        },
    )?;
    Ok((day, days))
}

/// For each day of `days` but the last, the cash-chain head at its end: the newest cash
/// movement dated that day or before (never less than the day before's).
fn cash_through_each_day(
    conn: &Connection,
    identity: &Identity,
    after_cash: u64,
    days: &[NaiveDate],
) -> Result<Vec<u64>> {
    let head = ledger::head(conn, Chain::Cash)?.map_or(0, |(seq, _)| seq);
    let mut through = vec![after_cash; days.len()];
    let mut latest = None;
    ledger::for_each_in(conn, Chain::Cash, after_cash + 1, head, |record| {
        let date = day_of(identity, record.record.at, latest);
        latest = Some(date);
        for (slot, day) in through.iter_mut().zip(days) {
            if date <= *day {
                *slot = record.record.seq;
            }
        }
        Ok(())
    })?;
    Ok(through)
}

/// Closes every open calendar day, oldest first: one Z per day with its own totals, dated that
/// day, even when the closure is made days later. With no ticket since the last Z, one empty Z
/// dated today carries the perpetual totals (and the cash counted since). Returns the Zs made.
fn close_days(
    tx: &Connection,
    author: &Author<'_>,
    identity: &Identity,
) -> Result<Vec<SignedRecord>> {
    let (open, days) = open_days(tx, identity)?;
    let cash_head = ledger::head(tx, Chain::Cash)?.map_or(0, |(seq, _)| seq);
    if days.is_empty() {
        let closure = Closure {
            level: ClosureLevel::Day,
            period: local_date(identity, author.at).to_string(),
            through_ticket: open.head,
            through_cash: cash_head,
            closures: None,
            totals: open.totals,
            last_ticket_signature: open.last_signature,
        };
        return Ok(vec![append_closure(tx, author, &closure)?]);
    }
    let dates: Vec<NaiveDate> = days.iter().map(|d| d.date).collect();
    let mut cash_through = cash_through_each_day(tx, identity, open.after_cash, &dates)?;
    // The last Z takes every cash movement made up to now, as a single Z always did.
    if let Some(last) = cash_through.last_mut() {
        *last = cash_head;
    }
    days.into_iter()
        .zip(cash_through)
        .map(|(day, through_cash)| {
            let closure = Closure {
                level: ClosureLevel::Day,
                period: day.date.to_string(),
                through_ticket: day.through_ticket,
                through_cash,
                closures: None,
                totals: day.totals.finish(),
                last_ticket_signature: day.last_signature,
            };
            append_closure(tx, author, &closure)
        })
        .collect()
}

/// The days with tickets but no Z yet, and whether a Z is due now: a day before today (in the
/// shop's time zone) is still open, or it is past the shop's closing hour and today has
/// tickets. The app asks for the Z at the first action when it is due.
pub(crate) fn closure_due(
    conn: &Connection,
    identity: &Identity,
    now: DateTime<Utc>,
    closing_hour: Option<u32>,
) -> Result<ClosureDue> {
    let (_, days) = open_days(conn, identity)?;
    let local_now = now.with_timezone(&identity.timezone);
    let today = local_now.date_naive();
    let open_days: Vec<String> = days.iter().map(|d| d.date.to_string()).collect();
    let earlier_day_open = days.iter().any(|d| d.date < today);
    let past_closing = closing_hour.is_some_and(|hour| local_now.hour() >= hour);
    let reason = if earlier_day_open {
        Some(ClosureDueReason::DayChanged)
    } else if past_closing && !days.is_empty() {
        Some(ClosureDueReason::PastClosingHour)
    } else {
        None
    };
    Ok(ClosureDue { open_days, reason })
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
/// days, a year closure the open months), and returns every closure recorded, the closure of
/// `level` last.
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
) -> Result<Vec<SignedRecord>> {
    let Some(lower) = level.sums() else {
        return close_days(tx, author, identity);
    };
    let mut made = Vec::new();
    while has_pending(tx, lower)? {
        made.extend(close_level(tx, author, identity, lower)?);
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
    made.push(append_closure(tx, author, &closure)?);
    Ok(made)
}

impl Till {
    /// Closes the day, month or fiscal year, and records the closure-started event with it;
    /// returns the closure of `level` (see [`Till::close_all`] for every closure made).
    pub fn close(&mut self, operator: &str, level: ClosureLevel) -> Result<RecordedClosure> {
        self.close_all(operator, level)?
            .pop()
            .ok_or_else(|| TillError::Corrupt("a closure recorded nothing".into()))
    }

    /// Closes the day, month or fiscal year and answers every closure recorded, oldest first:
    /// a Z per open calendar day, then the month (and year) closures they lead to.
    pub fn close_all(
        &mut self,
        operator: &str,
        level: ClosureLevel,
    ) -> Result<Vec<RecordedClosure>> {
        let identity = self.identity.clone();
        let records = self.write(operator, |tx, author| {
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
        // A month or year closure: its archive now, by itself. The closure is committed; an
        // archive that cannot be made now is made at the next sync pass.
        if records
            .iter()
            .any(|r| payload_of::<Closure>(r).is_ok_and(|c| c.level != ClosureLevel::Day))
            && let Err(error) = self.make_due_archives()
        {
            tracing::warn!(%error, "the archive of the closed period could not be made yet");
        }
        records.iter().map(recorded).collect()
    }

    /// Whether the app should ask for the Z now (see [`ClosureDue`]), by the shop's closing
    /// hour from head office's rules.
    pub fn closure_due(&self) -> Result<ClosureDue> {
        let closing_hour = self.cash_office_rules()?.closing_hour;
        closure_due(
            &self.conn,
            &self.identity,
            self.clock.now(),
            closing_hour.map(u32::from),
        )
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
