//! Credit notes and gift cards on SQLite: the instruments, their history and the online holds
//! (migration 15). The decisions are [`pos_hq_core::stored_value`]'s; this module reads and
//! writes rows, inside the caller's transaction (the writer's `BEGIN IMMEDIATE` serializes
//! holds and uploads, so a hold and an upload never decide on the same stale balance).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pos_domain::Money;
use pos_domain::record::{Chain, timestamp};
use pos_domain::stored_value::{InstrumentNumber, InstrumentState};
use pos_hq_core::stored_value::{self, HistoryRow, Instrument, Redeemed, decide_hold};
use pos_hq_store::{HoldOutcome, HoldRequest, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

const INSTRUMENT_COLUMNS: &str =
    "number, balance_cents, filled_cents, expires, closed, version, overdraft_alarmed";

fn instrument_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Instrument)> {
    let number: String = r.get(0)?;
    let parsed = InstrumentNumber::parse(&number).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let expires: Option<String> = r.get(3)?;
    Ok((
        number,
        Instrument {
            state: InstrumentState {
                number: parsed,
                balance: Money::from_cents(r.get(1)?),
                expires: expires.and_then(|d| d.parse().ok()),
                closed: r.get(4)?,
            },
            filled: Money::from_cents(r.get(2)?),
            version: r.get(5)?,
            overdraft_alarmed: r.get(6)?,
        },
    ))
}

/// The stored instruments among `numbers`.
pub(crate) fn instruments(
    conn: &Connection,
    numbers: &[String],
) -> Result<BTreeMap<String, Instrument>> {
    let mut get = conn.prepare_cached(&format!(
        "SELECT {INSTRUMENT_COLUMNS} FROM instruments WHERE number = ?1"
    ))?;
    let mut out = BTreeMap::new();
    for number in numbers {
        if let Some((number, instrument)) = get.query_row([number], instrument_row).optional()? {
            out.insert(number, instrument);
        }
    }
    Ok(out)
}

/// Stores instruments' states and appends their history rows.
pub(crate) fn save(
    conn: &Connection,
    instruments: &BTreeMap<String, Instrument>,
    history: &[HistoryRow],
) -> Result<()> {
    let mut put = conn.prepare_cached(
        "INSERT INTO instruments (number, balance_cents, filled_cents, expires, closed, version, overdraft_alarmed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (number) DO UPDATE SET
           balance_cents = excluded.balance_cents, filled_cents = excluded.filled_cents,
           expires = excluded.expires, closed = excluded.closed, version = excluded.version,
           overdraft_alarmed = excluded.overdraft_alarmed",
    )?;
    for (number, i) in instruments {
        put.execute(params![
            number,
            i.state.balance.cents(),
            i.filled.cents(),
            i.state.expires.map(|d| d.to_string()),
            i.state.closed,
            i.version,
            i.overdraft_alarmed
        ])?;
    }
    let mut add = conn.prepare_cached(
        "INSERT INTO instrument_movements
           (number, version, till_id, shop_id, chain, seq, kind, amount_cents, offline, balance_after_cents, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for h in history {
        add.execute(params![
            h.number,
            h.version,
            h.till_id,
            h.shop_id,
            h.chain.name(),
            h.seq as i64,
            stored_value::movement_name(h.kind),
            h.amount.cents(),
            h.offline,
            h.balance_after.cents(),
            h.at
        ])?;
    }
    Ok(())
}

/// Ends the till's oldest hold of each number it redeemed.
pub(crate) fn settle_holds(conn: &Connection, till_id: &str, redeemed: &[Redeemed]) -> Result<()> {
    let mut named = conn.prepare_cached(
        "DELETE FROM instrument_holds WHERE till_id = ?1 AND number = ?2 AND hold_id = ?3",
    )?;
    let mut oldest = conn.prepare_cached(
        "DELETE FROM instrument_holds WHERE rowid = (
           SELECT rowid FROM instrument_holds WHERE till_id = ?1 AND number = ?2
           ORDER BY held_at, hold_id LIMIT 1)",
    )?;
    for r in redeemed {
        match &r.hold {
            Some(hold) => named.execute(params![till_id, r.number, hold])?,
            None => oldest.execute(params![till_id, r.number])?,
        };
    }
    Ok(())
}

/// Every movement of `number`, oldest first.
pub(crate) fn history(conn: &Connection, number: &str) -> Result<Vec<HistoryRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT number, version, till_id, shop_id, chain, seq, kind, amount_cents, offline, balance_after_cents, at
         FROM instrument_movements WHERE number = ?1 ORDER BY version",
    )?;
    let rows = stmt.query_map([number], |r| {
        Ok((
            HistoryRow {
                number: r.get(0)?,
                version: r.get(1)?,
                till_id: r.get(2)?,
                shop_id: r.get(3)?,
                chain: Chain::Ticket,
                seq: r.get::<_, i64>(5)? as u64,
                kind: pos_domain::stored_value::MovementKind::Redeem,
                amount: Money::from_cents(r.get(7)?),
                offline: r.get(8)?,
                balance_after: Money::from_cents(r.get(9)?),
                at: r.get(10)?,
            },
            r.get::<_, String>(4)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    rows.map(|row| {
        let (mut h, chain, kind) = row?;
        h.chain = chain
            .parse::<Chain>()
            .map_err(|_| StoreError::Corrupt(format!("instrument movement on chain `{chain}`")))?;
        h.kind = stored_value::parse_movement(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("instrument movement `{kind}`")))?;
        Ok(h)
    })
    .collect()
}

/// Holds money of an instrument in one `BEGIN IMMEDIATE` transaction (see
/// [`pos_hq_store::Store::hold_redemption`]).
pub(crate) fn hold(
    conn: &mut Connection,
    till_id: &str,
    hold: &HoldRequest,
    now: DateTime<Utc>,
) -> Result<HoldOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now_text = timestamp::format(&now);
    tx.execute(
        "DELETE FROM instrument_holds WHERE expires_at <= ?1",
        [&now_text],
    )?;
    let Some(instrument) = instruments(&tx, std::slice::from_ref(&hold.number))?
        .into_values()
        .next()
    else {
        return Ok(HoldOutcome::Unknown);
    };
    let already: Option<i64> = tx
        .query_row(
            "SELECT amount_cents FROM instrument_holds WHERE till_id = ?1 AND hold_id = ?2",
            params![till_id, hold.hold_id],
            |r| r.get(0),
        )
        .optional()?;
    if already.is_some() {
        return Ok(HoldOutcome::Granted(instrument));
    }
    let held: i64 = tx.query_row(
        "SELECT coalesce(sum(amount_cents), 0) FROM instrument_holds WHERE number = ?1",
        [&hold.number],
        |r| r.get(0),
    )?;
    let outcome = match decide_hold(
        &instrument,
        Money::from_cents(held),
        hold.amount,
        now.date_naive(),
    ) {
        Ok(()) => {
            let expires = now + chrono::Duration::seconds(i64::from(hold.seconds));
            tx.execute(
                "INSERT INTO instrument_holds (till_id, hold_id, number, amount_cents, held_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    till_id,
                    hold.hold_id,
                    hold.number,
                    hold.amount.cents(),
                    now_text,
                    timestamp::format(&expires)
                ],
            )?;
            HoldOutcome::Granted(instrument)
        }
        Err(why) => HoldOutcome::Refused(instrument, why),
    };
    tx.commit()?;
    Ok(outcome)
}
