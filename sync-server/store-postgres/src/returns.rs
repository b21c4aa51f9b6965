//! Returns at any till on PostgreSQL: returns indexed under their original ticket and the
//! reservations of returns in progress (migration 16). The decision is
//! [`pos_hq_store::returns::decide`]'s; a reservation takes a transaction-level advisory lock
//! on its original ticket, so two tills racing for the last unit are answered one after the
//! other, the second seeing the first's reservation.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use pos_domain::record::timestamp;
use pos_hq_store::returns::{ReservationOutcome, ReservationRequest, decide, reserved_lines};
use pos_hq_store::{Result, StoreError};

/// Indexes returns under their originals and ends the till's reservations on them.
pub(crate) async fn index_returns(
    tx: &impl GenericClient,
    till_id: &str,
    returns: &[pos_hq_core::returns::NamedReturn],
) -> Result<()> {
    // Two statements for the whole upload, in the returns' order.
    let tills: Vec<&str> = returns.iter().map(|r| r.original_till.as_str()).collect();
    let tickets: Vec<i64> = returns.iter().map(|r| r.original_ticket as i64).collect();
    let seqs: Vec<i64> = returns.iter().map(|r| r.seq as i64).collect();
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO ticket_returns (original_till, original_ticket, till_id, seq)
         SELECT t, n, $3, s FROM UNNEST($1::TEXT[], $2::BIGINT[], $4::BIGINT[]) WITH ORDINALITY
           AS u(t, n, s, o)
         ORDER BY o
         ON CONFLICT DO NOTHING",
        )
        .await?,
        &[&tills, &tickets, &till_id, &seqs],
    )
    .await?;
    tx.execute(
        &tx.prepare_cached(
            "DELETE FROM return_reservations r USING UNNEST($2::TEXT[], $3::BIGINT[]) AS u(t, n)
         WHERE r.till_id = $1 AND r.original_till = u.t AND r.original_ticket = u.n",
        )
        .await?,
        &[&till_id, &tills, &tickets],
    )
    .await?;
    Ok(())
}

/// The returns indexed under a ticket, by till and sequence.
pub(crate) async fn returns_of(
    tx: &impl GenericClient,
    original_till: &str,
    original_ticket: u64,
) -> Result<Vec<(String, u64)>> {
    Ok(tx
        .query(
            &tx.prepare_cached(
                "SELECT till_id, seq FROM ticket_returns
             WHERE original_till = $1 AND original_ticket = $2 ORDER BY till_id, seq",
            )
            .await?,
            &[&original_till, &(original_ticket as i64)],
        )
        .await?
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
        .collect())
}

/// Which of the till's tickets `seqs` have returns indexed under them.
pub(crate) async fn tickets_with_returns(
    tx: &impl GenericClient,
    till_id: &str,
    seqs: &[u64],
) -> Result<Vec<u64>> {
    let seqs: Vec<i64> = seqs.iter().map(|s| *s as i64).collect();
    Ok(tx
        .query(
            &tx.prepare_cached(
                "SELECT DISTINCT original_ticket FROM ticket_returns
             WHERE original_till = $1 AND original_ticket = ANY($2)",
            )
            .await?,
            &[&till_id, &seqs],
        )
        .await?
        .iter()
        .map(|r| r.get::<_, i64>(0) as u64)
        .collect())
}

async fn reservations(
    tx: &impl GenericClient,
    original_till: &str,
    original_ticket: u64,
    now: &str,
) -> Result<Vec<String>> {
    Ok(tx
        .query(
            &tx.prepare_cached(
                "SELECT lines FROM return_reservations
             WHERE original_till = $1 AND original_ticket = $2 AND expires_at > $3",
            )
            .await?,
            &[&original_till, &(original_ticket as i64), &now],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// [`returns_of`] and the lines of the live reservations.
pub(crate) async fn returns_of_ticket(
    client: &impl GenericClient,
    original_till: &str,
    original_ticket: u64,
    now: DateTime<Utc>,
) -> Result<pos_hq_store::returns::ReturnsOfTicket> {
    let returns = returns_of(client, original_till, original_ticket).await?;
    let now = timestamp::format(&now);
    let reserved = reservations(client, original_till, original_ticket, &now).await?;
    Ok((returns, reserved_lines(&reserved)?))
}

async fn ticket_body(tx: &impl GenericClient, till_id: &str, seq: u64) -> Result<Option<Vec<u8>>> {
    Ok(tx
        .query_opt(
            &tx.prepare_cached(
                "SELECT body FROM records WHERE till_id = $1 AND chain = 'ticket' AND seq = $2",
            )
            .await?,
            &[&till_id, &(seq as i64)],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Reserves return lines in the caller's transaction (see
/// [`pos_hq_store::Store::reserve_return`]).
pub(crate) async fn reserve_return(
    tx: &impl GenericClient,
    till_id: &str,
    request: &ReservationRequest,
    now: DateTime<Utc>,
) -> Result<ReservationOutcome> {
    let (original_till, ticket) = (&request.original_till, request.original_ticket);
    tx.execute(
        &tx.prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .await?,
        &[&format!("return-reservation:{original_till}:{ticket}")],
    )
    .await?;
    let now_text = timestamp::format(&now);
    tx.execute(
        &tx.prepare_cached(
            "DELETE FROM return_reservations
         WHERE original_till = $1 AND original_ticket = $2 AND expires_at <= $3",
        )
        .await?,
        &[original_till, &(ticket as i64), &now_text],
    )
    .await?;
    let Some(original) = ticket_body(tx, original_till, ticket).await? else {
        return Ok(ReservationOutcome::Unknown);
    };
    let held = tx
        .query_opt(
            &tx.prepare_cached(
                "SELECT 1 FROM return_reservations WHERE till_id = $1 AND reservation_id = $2",
            )
            .await?,
            &[&till_id, &request.reservation_id],
        )
        .await?;
    if held.is_some() {
        return Ok(ReservationOutcome::Granted);
    }
    let mut bodies = Vec::new();
    for (till, seq) in returns_of(tx, original_till, ticket).await? {
        bodies.extend(ticket_body(tx, &till, seq).await?);
    }
    let reserved = reserved_lines(&reservations(tx, original_till, ticket, &now_text).await?)?;
    let outcome = decide(&original, &bodies, &reserved, &request.lines)?;
    if outcome == ReservationOutcome::Granted {
        let lines = serde_json::to_string(&request.lines)
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let expires = now + chrono::Duration::seconds(i64::from(request.seconds));
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO return_reservations
               (till_id, reservation_id, original_till, original_ticket, lines, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await?,
            &[
                &till_id,
                &request.reservation_id,
                original_till,
                &(ticket as i64),
                &lines,
                &timestamp::format(&expires),
            ],
        )
        .await?;
    }
    Ok(outcome)
}
