//! Credit notes and gift cards on PostgreSQL: the instruments, their history and the online
//! holds (migration 15). The decisions are [`pos_hq_core::stored_value`]'s; this module reads
//! and writes rows. An upload reads its instruments under the outbox lock and `FOR UPDATE`
//! (two tills' uploads never fold movements into the same stale balance); a hold locks the
//! instrument's row (`FOR UPDATE`), so two holds of one instrument, or a hold and an upload,
//! are decided one after the other, each seeing what the other committed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use pos_domain::Money;
use pos_domain::record::{Chain, timestamp};
use pos_domain::stored_value::{InstrumentNumber, InstrumentState};
use pos_hq_core::stored_value::{self, HistoryRow, Instrument, Redeemed, decide_hold};
use pos_hq_store::{HoldOutcome, HoldRequest, Result, StoreError};

const INSTRUMENT_COLUMNS: &str =
    "number, balance_cents, filled_cents, expires, closed, version, overdraft_alarmed";

fn instrument_row(r: &tokio_postgres::Row) -> Result<(String, Instrument)> {
    let number: String = r.get(0);
    let parsed = InstrumentNumber::parse(&number)
        .map_err(|e| StoreError::Corrupt(format!("instrument `{number}`: {e}")))?;
    let expires: Option<String> = r.get(3);
    Ok((
        number,
        Instrument {
            state: InstrumentState {
                number: parsed,
                balance: Money::from_cents(r.get(1)),
                expires: expires.and_then(|d| d.parse().ok()),
                closed: r.get(4),
            },
            filled: Money::from_cents(r.get(2)),
            version: r.get(5),
            overdraft_alarmed: r.get(6),
        },
    ))
}

/// The stored instruments among `numbers`; `lock` holds their rows until the transaction ends.
pub(crate) async fn instruments(
    tx: &impl GenericClient,
    numbers: &[String],
    lock: bool,
) -> Result<BTreeMap<String, Instrument>> {
    let sql = format!(
        "SELECT {INSTRUMENT_COLUMNS} FROM instruments WHERE number = ANY($1) ORDER BY number{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    tx.query(&sql, &[&numbers])
        .await?
        .iter()
        .map(instrument_row)
        .collect()
}

/// Stores instruments' states and appends their history rows.
pub(crate) async fn save(
    tx: &impl GenericClient,
    instruments: &BTreeMap<String, Instrument>,
    history: &[HistoryRow],
) -> Result<()> {
    let i: Vec<(&String, &Instrument)> = instruments.iter().collect();
    tx.execute(
        &tx.prepare_cached("INSERT INTO instruments (number, balance_cents, filled_cents, expires, closed, version, overdraft_alarmed)
         SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::BOOLEAN[], $6::BIGINT[], $7::BOOLEAN[])
         ON CONFLICT (number) DO UPDATE SET
           balance_cents = excluded.balance_cents, filled_cents = excluded.filled_cents,
           expires = excluded.expires, closed = excluded.closed, version = excluded.version,
           overdraft_alarmed = excluded.overdraft_alarmed").await?,
        &[
            &i.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            &i.iter().map(|(_, x)| x.state.balance.cents()).collect::<Vec<_>>(),
            &i.iter().map(|(_, x)| x.filled.cents()).collect::<Vec<_>>(),
            &i.iter()
                .map(|(_, x)| x.state.expires.map(|d| d.to_string()))
                .collect::<Vec<_>>(),
            &i.iter().map(|(_, x)| x.state.closed).collect::<Vec<_>>(),
            &i.iter().map(|(_, x)| x.version).collect::<Vec<_>>(),
            &i.iter().map(|(_, x)| x.overdraft_alarmed).collect::<Vec<_>>(),
        ],
    )
    .await?;
    tx.execute(
        &tx.prepare_cached("INSERT INTO instrument_movements
           (number, version, till_id, shop_id, chain, seq, kind, amount_cents, offline, balance_after_cents, at)
         SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::BIGINT[],
                              $7::TEXT[], $8::BIGINT[], $9::BOOLEAN[], $10::BIGINT[], $11::TEXT[])").await?,
        &[
            &history.iter().map(|h| h.number.as_str()).collect::<Vec<_>>(),
            &history.iter().map(|h| h.version).collect::<Vec<_>>(),
            &history.iter().map(|h| h.till_id.as_str()).collect::<Vec<_>>(),
            &history.iter().map(|h| h.shop_id.as_str()).collect::<Vec<_>>(),
            &history.iter().map(|h| h.chain.name()).collect::<Vec<_>>(),
            &history.iter().map(|h| h.seq as i64).collect::<Vec<_>>(),
            &history
                .iter()
                .map(|h| stored_value::movement_name(h.kind))
                .collect::<Vec<_>>(),
            &history.iter().map(|h| h.amount.cents()).collect::<Vec<_>>(),
            &history.iter().map(|h| h.offline).collect::<Vec<_>>(),
            &history.iter().map(|h| h.balance_after.cents()).collect::<Vec<_>>(),
            &history.iter().map(|h| h.at.as_str()).collect::<Vec<_>>(),
        ],
    )
    .await?;
    Ok(())
}

/// Ends the till's oldest hold of each number it redeemed.
pub(crate) async fn settle_holds(
    tx: &impl GenericClient,
    till_id: &str,
    redeemed: &[Redeemed],
) -> Result<()> {
    for r in redeemed {
        match &r.hold {
            Some(hold) => {
                tx.execute(
                    &tx.prepare_cached("DELETE FROM instrument_holds WHERE till_id = $1 AND number = $2 AND hold_id = $3").await?,
                    &[&till_id, &r.number, hold],
                )
                .await?
            }
            None => {
                tx.execute(
                    &tx.prepare_cached("DELETE FROM instrument_holds WHERE (till_id, hold_id) IN (
                       SELECT till_id, hold_id FROM instrument_holds WHERE till_id = $1 AND number = $2
                       ORDER BY held_at, hold_id LIMIT 1)").await?,
                    &[&till_id, &r.number],
                )
                .await?
            }
        };
    }
    Ok(())
}

/// Every movement of `number`, oldest first.
pub(crate) async fn history(client: &impl GenericClient, number: &str) -> Result<Vec<HistoryRow>> {
    client
        .query(
            &client.prepare_cached("SELECT number, version, till_id, shop_id, chain, seq, kind, amount_cents, offline, balance_after_cents, at
             FROM instrument_movements WHERE number = $1 ORDER BY version").await?,
            &[&number],
        )
        .await?
        .iter()
        .map(|r| {
            let chain: String = r.get(4);
            let kind: String = r.get(6);
            Ok(HistoryRow {
                number: r.get(0),
                version: r.get(1),
                till_id: r.get(2),
                shop_id: r.get(3),
                chain: chain.parse::<Chain>().map_err(|_| {
                    StoreError::Corrupt(format!("instrument movement on chain `{chain}`"))
                })?,
                seq: r.get::<_, i64>(5) as u64,
                kind: stored_value::parse_movement(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("instrument movement `{kind}`")))?,
                amount: Money::from_cents(r.get(7)),
                offline: r.get(8),
                balance_after: Money::from_cents(r.get(9)),
                at: r.get(10),
            })
        })
        .collect()
}

/// Holds money of an instrument in the caller's transaction (see
/// [`pos_hq_store::Store::hold_redemption`]).
pub(crate) async fn hold(
    tx: &impl GenericClient,
    till_id: &str,
    hold: &HoldRequest,
    now: DateTime<Utc>,
) -> Result<HoldOutcome> {
    let Some(instrument) = instruments(tx, std::slice::from_ref(&hold.number), true)
        .await?
        .into_values()
        .next()
    else {
        return Ok(HoldOutcome::Unknown);
    };
    let now_text = timestamp::format(&now);
    tx.execute(
        &tx.prepare_cached("DELETE FROM instrument_holds WHERE number = $1 AND expires_at <= $2")
            .await?,
        &[&hold.number, &now_text],
    )
    .await?;
    let already = tx
        .query_opt(
            &tx.prepare_cached(
                "SELECT amount_cents FROM instrument_holds WHERE till_id = $1 AND hold_id = $2",
            )
            .await?,
            &[&till_id, &hold.hold_id],
        )
        .await?;
    if already.is_some() {
        return Ok(HoldOutcome::Granted(instrument));
    }
    let held: i64 = tx
        .query_one(
            &tx.prepare_cached("SELECT coalesce(sum(amount_cents), 0)::BIGINT FROM instrument_holds WHERE number = $1").await?,
            &[&hold.number],
        )
        .await?
        .get(0);
    match decide_hold(
        &instrument,
        Money::from_cents(held),
        hold.amount,
        now.date_naive(),
    ) {
        Ok(()) => {
            let expires = now + chrono::Duration::seconds(i64::from(hold.seconds));
            tx.execute(
                &tx.prepare_cached("INSERT INTO instrument_holds (till_id, hold_id, number, amount_cents, held_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)").await?,
                &[
                    &till_id,
                    &hold.hold_id,
                    &hold.number,
                    &hold.amount.cents(),
                    &now_text,
                    &timestamp::format(&expires),
                ],
            )
            .await?;
            Ok(HoldOutcome::Granted(instrument))
        }
        Err(why) => Ok(HoldOutcome::Refused(instrument, why)),
    }
}
