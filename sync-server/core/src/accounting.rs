//! Accounting on the server: the daily journal entry of each till's day (Z) closure, posted on
//! ingest and kept, so the FEC and hledger exports (`sync_server::accounting_export`) only read
//! stored entries.
//!
//! **When an entry is posted.** A day closure says how far the cash chain went when it was
//! made (`through_cash`). Its entry is posted, in the ingest transaction, once the server holds
//! both the closure and the till's cash chain through `through_cash`: the count difference then
//! comes from exactly that day's cash records (those after the previous Z's `through_cash`),
//! never from a partial set. A closure whose cash records have not arrived yet (another chain
//! of the upload stopped at a gap, or the till sent the closure chain first) is kept *pending*
//! and posted by the first later upload that brings the cash chain far enough. Closures are
//! posted in closure order and posting stops at the first one that cannot be posted, so each
//! day's cash range is always measured from the previous day's posted closure. Each posting
//! writes a `pos.accounting.entry.posted` event in the same transaction.
//!
//! Entries are append-only like the records they come from; the account plan is
//! [`AccountPlan::french_default`].

use chrono::NaiveDate;
use pos_domain::accounting::{self, AccountPlan, JournalEntry};
use pos_domain::closure::{Closure, ClosureLevel};
use pos_domain::journal::CashMovement;
use pos_domain::record::{Chain, SignedRecord};
use serde::Deserialize;
use serde_json::json;

use crate::events::OutboxEvent;

/// Event type of a posted daily entry.
pub const ENTRY_POSTED_TYPE: &str = "pos.accounting.entry.posted";

/// A day closure waiting for its entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingClosure {
    pub seq: u64,
    pub through_cash: u64,
}

/// A day closure, if `signed` is one (other levels and other chains: `None`). A closure whose
/// payload does not parse is left out (the record is stored and in the feed regardless).
pub fn day_closure(signed: &SignedRecord) -> Option<PendingClosure> {
    if signed.record.chain != Chain::Closure {
        return None;
    }
    let closure = Closure::deserialize(&signed.record.payload).ok()?;
    (closure.level == ClosureLevel::Day).then_some(PendingClosure {
        seq: signed.record.seq,
        through_cash: closure.through_cash,
    })
}

/// The daily entry of a stored day closure, given the stored bytes of the closure and of the
/// day's cash records (the cash chain after the previous Z's `through_cash`, through this one's).
pub fn post(
    till_id: &str,
    shop_id: &str,
    closure_bytes: &[u8],
    cash_bytes: &[Vec<u8>],
) -> Result<(u64, Closure, JournalEntry), String> {
    let signed = SignedRecord::from_stored(closure_bytes).map_err(|e| e.to_string())?;
    let closure: Closure =
        Closure::deserialize(&signed.record.payload).map_err(|e| e.to_string())?;
    let mut movements = Vec::new();
    for bytes in cash_bytes {
        let cash = SignedRecord::from_stored(bytes).map_err(|e| e.to_string())?;
        let movement = CashMovement::deserialize(&cash.record.payload)
            .map_err(|e| format!("cash record {}: {e}", cash.record.seq))?;
        movements.push(movement);
    }
    let difference = accounting::day_cash_difference(&movements);
    let entry = accounting::daily_entry(
        till_id,
        shop_id,
        signed.record.seq,
        &closure,
        difference,
        &AccountPlan::french_default(),
    )
    .map_err(|e| e.to_string())?;
    Ok((signed.record.seq, closure, entry))
}

/// The event of a posted entry (stable id: one entry per till and closure).
pub fn entry_posted(shop_id: &str, till_id: &str, seq: u64, entry: &JournalEntry) -> OutboxEvent {
    let id = format!("entry/{till_id}/{seq}");
    let subject = format!("tills/{till_id}/closure/{seq}/entry");
    OutboxEvent::new(
        id,
        ENTRY_POSTED_TYPE,
        format!("/shops/{shop_id}/tills/{till_id}"),
        subject,
        format!("{}T00:00:00Z", entry.date),
        json!({
            "shop": shop_id,
            "till": till_id,
            "closure_seq": seq,
            "day": entry.date.to_string(),
            "debit": entry.total_debit().to_string(),
            "credit": entry.total_credit().to_string(),
            "entry": entry,
        }),
    )
}

/// The first and last day of the fiscal year that *starts* in `year` at `start_month`
/// (`2026` with start month 7: 2026-07-01 to 2027-06-30).
pub fn fiscal_year(start_month: u32, year: i32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, start_month, 1)?;
    let next = NaiveDate::from_ymd_opt(year + 1, start_month, 1)?;
    Some((first, next.pred_opt()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiscal_years() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(fiscal_year(1, 2026), Some((d(2026, 1, 1), d(2026, 12, 31))));
        assert_eq!(fiscal_year(7, 2026), Some((d(2026, 7, 1), d(2027, 6, 30))));
        assert_eq!(fiscal_year(13, 2026), None);
    }
}
