//! Returns at any till on SQLite: returns indexed under their original ticket and the
//! reservations of returns in progress (migration 16). The decision is
//! [`pos_hq_store::returns::decide`]'s; a reservation is decided in a `BEGIN IMMEDIATE`
//! transaction, so two tills racing for the last unit are answered one after the other.

use chrono::{DateTime, Utc};
use pos_domain::record::timestamp;
use pos_hq_store::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// Indexes returns under their originals and ends the till's reservations on them.
pub(crate) fn index_returns(
    conn: &Connection,
    till_id: &str,
    returns: &[pos_hq_core::returns::NamedReturn],
) -> Result<()> {
    let mut index = conn.prepare_cached(
        "INSERT INTO ticket_returns (original_till, original_ticket, till_id, seq)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?;
    let mut settle = conn.prepare_cached(
        "DELETE FROM return_reservations
         WHERE till_id = ?1 AND original_till = ?2 AND original_ticket = ?3",
    )?;
    for r in returns {
        let ticket = r.original_ticket as i64;
        index.execute(params![r.original_till, ticket, till_id, r.seq as i64])?;
        settle.execute(params![till_id, r.original_till, ticket])?;
    }
    Ok(())
}

/// The returns indexed under a ticket, by till and sequence.
pub(crate) fn returns_of(
    conn: &Connection,
    original_till: &str,
    original_ticket: u64,
) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT till_id, seq FROM ticket_returns
         WHERE original_till = ?1 AND original_ticket = ?2 ORDER BY till_id, seq",
    )?;
    let rows = stmt.query_map(params![original_till, original_ticket as i64], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which of the till's tickets `seqs` have returns indexed under them.
pub(crate) fn tickets_with_returns(
    conn: &Connection,
    till_id: &str,
    seqs: &[u64],
) -> Result<Vec<u64>> {
    let mut any = conn.prepare_cached(
        "SELECT 1 FROM ticket_returns WHERE original_till = ?1 AND original_ticket = ?2 LIMIT 1",
    )?;
    let mut out = Vec::new();
    for seq in seqs {
        if any.exists(params![till_id, *seq as i64])? {
            out.push(*seq);
        }
    }
    Ok(out)
}

/// The stored lines of the live reservations on a ticket, other than `except`'s.
fn reservations(
    conn: &Connection,
    original_till: &str,
    original_ticket: u64,
    now: &str,
    except: Option<(&str, &str)>,
) -> Result<Vec<String>> {
    let (till, id) = except.unwrap_or(("", ""));
    let mut stmt = conn.prepare_cached(
        "SELECT lines FROM return_reservations
         WHERE original_till = ?1 AND original_ticket = ?2 AND expires_at > ?3
           AND NOT (till_id = ?4 AND reservation_id = ?5)",
    )?;
    let rows = stmt.query_map(
        params![original_till, original_ticket as i64, now, till, id],
        |r| r.get(0),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// [`returns_of`] and the lines of the live reservations.
pub(crate) fn returns_of_ticket(
    conn: &Connection,
    original_till: &str,
    original_ticket: u64,
    now: DateTime<Utc>,
) -> Result<pos_hq_store::returns::ReturnsOfTicket> {
    let returns = returns_of(conn, original_till, original_ticket)?;
    let now = timestamp::format(&now);
    let reserved = reservations(conn, original_till, original_ticket, &now, None)?;
    Ok((returns, pos_hq_store::returns::reserved_lines(&reserved)?))
}

fn ticket_body(conn: &Connection, till_id: &str, seq: u64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT body FROM records WHERE till_id = ?1 AND chain = 'ticket' AND seq = ?2",
            params![till_id, seq as i64],
            |r| r.get(0),
        )
        .optional()?)
}

/// Reserves return lines in one `BEGIN IMMEDIATE` transaction (see
/// [`pos_hq_store::Store::reserve_return`]).
pub(crate) fn reserve_return(
    conn: &mut Connection,
    till_id: &str,
    request: &pos_hq_store::returns::ReservationRequest,
    now: DateTime<Utc>,
) -> Result<pos_hq_store::returns::ReservationOutcome> {
    use pos_hq_store::returns::{ReservationOutcome, decide, reserved_lines};
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now_text = timestamp::format(&now);
    tx.execute(
        "DELETE FROM return_reservations WHERE expires_at <= ?1",
        [&now_text],
    )?;
    let (original_till, ticket) = (&request.original_till, request.original_ticket);
    let Some(original) = ticket_body(&tx, original_till, ticket)? else {
        return Ok(ReservationOutcome::Unknown);
    };
    let held: Option<String> = tx
        .query_row(
            "SELECT lines FROM return_reservations WHERE till_id = ?1 AND reservation_id = ?2",
            params![till_id, request.reservation_id],
            |r| r.get(0),
        )
        .optional()?;
    if held.is_some() {
        return Ok(ReservationOutcome::Granted);
    }
    let mut bodies = Vec::new();
    for (till, seq) in returns_of(&tx, original_till, ticket)? {
        bodies.extend(ticket_body(&tx, &till, seq)?);
    }
    let reserved = reserved_lines(&reservations(&tx, original_till, ticket, &now_text, None)?)?;
    let outcome = decide(&original, &bodies, &reserved, &request.lines)?;
    if outcome == ReservationOutcome::Granted {
        let lines = serde_json::to_string(&request.lines)
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let expires = now + chrono::Duration::seconds(i64::from(request.seconds));
        tx.execute(
            "INSERT INTO return_reservations
               (till_id, reservation_id, original_till, original_ticket, lines, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                till_id,
                request.reservation_id,
                original_till,
                ticket as i64,
                lines,
                timestamp::format(&expires)
            ],
        )?;
    }
    tx.commit()?;
    Ok(outcome)
}
