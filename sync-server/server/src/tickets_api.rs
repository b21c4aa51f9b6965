//! Drill-down to single tickets, for head office (scoped like every report, see
//! [`crate::scope`]):
//!
//! - `GET /api/v1/hq/tickets?shop=&day=`: a shop's tickets of a local day (in the shop's time
//!   zone), oldest first, paged with `after` (the `next` of the previous page);
//! - `GET /api/v1/hq/tickets/{till_id}/{number}`: one ticket, `number` being its sequence in
//!   the till's ticket chain (the number printed on the receipt), as the till recorded and
//!   signed it, with its record's hash, its link to the previous record and its signature
//!   status; a ticket of a shop outside the user's scope is answered 404, as an unknown one.
//!
//! A record is stored only after its signature verified against the till's enrolled key and
//! its link to the previous record held (see [`crate::ingest`]), so every stored ticket was
//! verified at ingest. The drill-down verifies it again from the stored signed bytes: their
//! hash against the stored hash, and the signature against the till's enrolled key, so a
//! change to the stored bytes after ingest shows.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use pos_domain::Money;
use pos_domain::record::{Chain, PublicKey, SignedRecord, sha256_hex, timestamp};
use pos_domain::ticket::Ticket;
use pos_domain::wire::codes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{AppState, Caller, Failure, PathParams, QueryParams};
use crate::scope::{scope, visible};
use crate::signatures::FastKey;
use crate::store::{RecordCursor, StoredRecord};

/// `GET /api/v1/hq/tickets` parameters.
#[derive(Deserialize, Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayTicketsQuery {
    /// The shop.
    pub shop: String,
    /// The local day in the shop's time zone, `YYYY-MM-DD`.
    pub day: String,
    /// The `next` of the previous page; absent for the first page.
    pub after: Option<String>,
    /// Tickets per page: 1 to 500, default 100.
    pub limit: Option<u32>,
}

/// A ticket in a day's list.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct TicketSummary {
    pub till_id: String,
    /// Its sequence in the till's ticket chain.
    pub number: u64,
    /// When the till recorded it (RFC 3339 UTC).
    pub at: String,
    /// `sale`, `return`, `cancellation` or `exchange`; absent if the payload is unreadable.
    pub kind: Option<String>,
    #[schema(value_type = Option<String>, example = "12.50")]
    pub total: Option<Money>,
    pub customer: Option<String>,
    pub web_order: Option<String>,
    /// SHA-256 of the stored record.
    pub hash: String,
    /// The drill-down path of this ticket.
    pub href: String,
}

/// A page of a shop's tickets of a day.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct TicketPage {
    pub shop: String,
    pub day: String,
    pub tickets: Vec<TicketSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Whether a stored ticket's signature holds.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct SignatureStatus {
    /// Always true for a stored record: records are stored only once their signature verified
    /// against the till's enrolled key and their link to the previous record held.
    pub verified_at_ingest: bool,
    /// Verified again now, from the stored signed bytes: the bytes hash to the stored hash,
    /// they are the till's record of this chain and sequence, and the signature verifies
    /// against the till's enrolled key.
    pub verified_now: bool,
    /// The till's enrolled public key (hex SEC1, P-256).
    pub public_key: Option<String>,
    /// What failed, when `verified_now` is false.
    pub problems: Vec<String>,
}

/// One ticket as the till recorded it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct TicketDetail {
    pub till_id: String,
    pub shop_id: String,
    /// Its sequence in the till's ticket chain.
    pub number: u64,
    /// When the till recorded it (RFC 3339 UTC), its time zone, the operator and the software.
    pub at: String,
    pub tz: Option<String>,
    pub operator: Option<String>,
    pub software: Option<String>,
    /// When the server stored it.
    pub received_at: String,
    /// SHA-256 of the stored record (the next record's `prev`).
    pub hash: String,
    /// The hash of the previous record of the chain (empty for the first).
    pub prev: Option<String>,
    /// The ticket as the till recorded it: lines, VAT breakdown, tenders, change, customer,
    /// web order, perpetual totals.
    #[schema(value_type = Object)]
    pub ticket: Value,
    pub signature: SignatureStatus,
    /// The signed record exactly as stored (canonical JSON with its signature), for checking
    /// it independently.
    pub stored: String,
}

fn bad_query(message: String) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, codes::QUERY_INVALID, message)
}

/// The page cursor of a record: its time, till and sequence.
fn cursor_text(record: &StoredRecord) -> String {
    format!("{}~{}~{}", record.at, record.till_id, record.seq)
}

fn parse_cursor(text: &str) -> Result<RecordCursor, Failure> {
    let mut parts = text.splitn(3, '~');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(at), Some(till_id), Some(seq)) if !at.is_empty() && !till_id.is_empty() => {
            let seq = seq.parse().map_err(|_| {
                bad_query(format!(
                    "`after={text}` is not a page cursor: pass the `next` of the previous page"
                ))
            })?;
            Ok(RecordCursor {
                at: at.to_string(),
                till_id: till_id.to_string(),
                seq,
            })
        }
        _ => Err(bad_query(format!(
            "`after={text}` is not a page cursor: pass the `next` of the previous page"
        ))),
    }
}

/// The UTC bounds (canonical timestamps, end excluded) of a local day in `tz`.
pub fn day_bounds(day: NaiveDate, tz: Tz) -> Option<(String, String)> {
    let start = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0)?;
        // Where midnight does not exist (a clock change at midnight), the day starts at the
        // first instant after the gap.
        tz.from_local_datetime(&midnight)
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|at| timestamp::format(&at.with_timezone(&chrono::Utc)))
    };
    Some((start(day)?, start(day.succ_opt()?)?))
}

fn summary(record: &StoredRecord) -> TicketSummary {
    let ticket: Option<Ticket> = SignedRecord::from_stored(&record.body)
        .ok()
        .and_then(|signed| serde_json::from_value(signed.record.payload).ok());
    let kind = ticket.as_ref().and_then(|t| {
        serde_json::to_value(t.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    });
    TicketSummary {
        till_id: record.till_id.clone(),
        number: record.seq,
        at: record.at.clone(),
        kind,
        total: ticket.as_ref().map(|t| t.total),
        customer: ticket.as_ref().and_then(|t| t.customer.clone()),
        web_order: ticket.as_ref().and_then(|t| t.web_order.clone()),
        hash: record.hash.clone(),
        href: format!("/api/v1/hq/tickets/{}/{}", record.till_id, record.seq),
    }
}

#[utoipa::path(get, path = "/api/v1/hq/tickets", tag = "head office",
    params(DayTicketsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The shop's tickets of the day, oldest first", body = TicketPage),
        (status = 400, description = "Bad day or page cursor", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A shop outside the user's scope", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such shop", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn day_tickets(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<DayTicketsQuery>,
) -> Result<Json<TicketPage>, Failure> {
    let user = caller.user()?;
    let scoped = scope(state.store.as_ref(), &user, Some(query.shop.clone()), None).await?;
    let shop = scoped.shop(&query.shop).ok_or_else(|| {
        Failure::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("no shop `{}`", query.shop),
        )
    })?;
    let day = NaiveDate::parse_from_str(&query.day, "%Y-%m-%d")
        .map_err(|_| bad_query(format!("`{}` is not a day: write it YYYY-MM-DD", query.day)))?;
    let tz: Tz = shop.timezone.parse().unwrap_or(Tz::UTC);
    let (from, to) =
        day_bounds(day, tz).ok_or_else(|| bad_query(format!("`{day}` is outside the calendar")))?;
    let after = query.after.as_deref().map(parse_cursor).transpose()?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let records = state
        .store
        .ticket_records(&query.shop, &from, &to, after.as_ref(), limit)
        .await?;
    let next = (records.len() == limit as usize)
        .then(|| records.last().map(cursor_text))
        .flatten();
    Ok(Json(TicketPage {
        shop: query.shop,
        day: day.to_string(),
        tickets: records.iter().map(summary).collect(),
        next,
    }))
}

/// Verifies a stored record again: hash, identity and signature.
pub fn verify_stored(record: &StoredRecord, chain: Chain) -> (Option<SignedRecord>, Vec<String>) {
    let mut problems = Vec::new();
    if sha256_hex(&record.body) != record.hash {
        problems.push("the stored bytes no longer hash to the hash recorded at ingest".into());
    }
    let signed = match SignedRecord::from_stored(&record.body) {
        Ok(signed) => signed,
        Err(e) => {
            problems.push(format!("the stored bytes are not a signed record: {e}"));
            return (None, problems);
        }
    };
    if signed.record.till != record.till_id
        || signed.record.chain != chain
        || signed.record.seq != record.seq
    {
        problems.push(format!(
            "the stored record names till `{}`, chain `{}`, sequence {}",
            signed.record.till, signed.record.chain, signed.record.seq
        ));
    }
    match record.public_key.as_deref().map(str::parse::<PublicKey>) {
        None => problems.push("the till has no enrolled key".into()),
        Some(Err(e)) => problems.push(format!("the till's enrolled key is unreadable: {e}")),
        Some(Ok(key)) => {
            if !FastKey::new(&key).verify_record(&signed) {
                problems
                    .push("the signature does not verify against the till's enrolled key".into());
            }
        }
    }
    (Some(signed), problems)
}

#[utoipa::path(get, path = "/api/v1/hq/tickets/{till_id}/{number}", tag = "head office",
    params(
        ("till_id" = String, Path, description = "The till"),
        ("number" = u64, Path, description = "The ticket's sequence in the till's ticket chain")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ticket as recorded, with its signature verified again", body = TicketDetail),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A till, or a manager bound to no shop or region", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such ticket, or one of a shop outside the user's scope (answered alike)", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn ticket(
    State(state): State<AppState>,
    PathParams((till_id, number)): PathParams<(String, u64)>,
    caller: Caller,
) -> Result<Json<TicketDetail>, Failure> {
    let user = caller.user()?;
    let missing = || {
        Failure::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!(
                "till `{till_id}` has no ticket {number} on the server (it may not be uploaded yet)"
            ),
        )
    };
    let record = state
        .store
        .record(&till_id, Chain::Ticket, number)
        .await?
        .ok_or_else(missing)?;
    visible(state.store.as_ref(), &user, &record.shop_id, missing).await?;
    let (signed, problems) = verify_stored(&record, Chain::Ticket);
    let record_of = signed.as_ref().map(|s| &s.record);
    Ok(Json(TicketDetail {
        till_id: record.till_id.clone(),
        shop_id: record.shop_id.clone(),
        number: record.seq,
        at: record.at.clone(),
        tz: record_of.map(|r| r.tz.clone()),
        operator: record_of.map(|r| r.operator.clone()),
        software: record_of.map(|r| r.software.clone()),
        received_at: record.received_at.clone(),
        hash: record.hash.clone(),
        prev: record_of.map(|r| r.prev.clone()),
        ticket: record_of.map(|r| r.payload.clone()).unwrap_or(Value::Null),
        signature: SignatureStatus {
            verified_at_ingest: true,
            verified_now: problems.is_empty(),
            public_key: record.public_key.clone(),
            problems,
        },
        stored: String::from_utf8_lossy(&record.body).into_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paris_day_runs_from_its_local_midnight_in_utc() {
        let day: NaiveDate = "2026-03-30".parse().unwrap();
        let (from, to) = day_bounds(day, chrono_tz::Europe::Paris).unwrap();
        assert_eq!(from, "2026-03-29T22:00:00.000000Z");
        assert_eq!(to, "2026-03-30T22:00:00.000000Z");
        // The day the clocks go forward has 23 hours.
        let (from, to) =
            day_bounds("2026-03-29".parse().unwrap(), chrono_tz::Europe::Paris).unwrap();
        assert_eq!(from, "2026-03-28T23:00:00.000000Z");
        assert_eq!(to, "2026-03-29T22:00:00.000000Z");
    }

    #[test]
    fn a_page_cursor_reads_back() {
        let cursor = parse_cursor("2026-03-30T08:00:00.000000Z~T-1~42").unwrap();
        assert_eq!(cursor.till_id, "T-1");
        assert_eq!(cursor.seq, 42);
        assert!(parse_cursor("nonsense").is_err());
    }
}
