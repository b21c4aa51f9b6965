//! Returns at any till, head office's API (issue 12): a till finds another till's ticket with
//! every return already made against it anywhere in the chain, and reserves the lines it is
//! about to take back.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/v1/tills/{till_id}/tickets/lookup` | that till | a ticket of any till, by the receipt's QR reference or by till and number, with its returns and the lines reserved |
//! | `POST /api/v1/tills/{till_id}/returns/reserve` | that till | reserves lines of it for a return about to be recorded; refused beyond what is left |
//!
//! Any till of the chain may look up any ticket (a customer returns anywhere). A ticket not
//! held, or whose receipt proof (the first 16 hex digits of its record's hash, from the QR
//! code) does not match, is answered 404 `ticket_unknown` alike, so the answer tells nothing of
//! which part was wrong; lookups count in the till's budget ([`crate::till_throttle`]).
//!
//! A reservation is decided with the original locked ([`crate::store::Store::reserve_return`]),
//! so two tills taking back the last unit at once get one grant; it is settled when the till's
//! return arrives with its records, or lapses after its `seconds` (at most
//! [`MAX_RESERVATION_SECONDS`]). Returns recorded offline are checked once synced: an
//! `over_returned` alarm names the ticket the chain gave back more of than was sold.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use pos_domain::record::Chain;
use pos_domain::wire::{
    ReturnReservation, ReturnReservationAnswer, TicketAt, TicketLookup, TicketLookupAnswer, codes,
};

use crate::api::{AppState, Caller, Failure, JsonBody, check_protocol};
use crate::store::StoredRecord;
use crate::store::returns::{ReservationOutcome, ReservationRequest, stored_ticket};
use crate::stored_value_api::admitted;

/// The answer for a ticket head office does not hold (or whose receipt proof is wrong).
pub const TICKET_UNKNOWN: &str = "ticket_unknown";
/// The longest a reservation holds lines without its return.
pub const MAX_RESERVATION_SECONDS: u32 = 600;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tills/{till_id}/tickets/lookup", post(lookup))
        .route("/api/v1/tills/{till_id}/returns/reserve", post(reserve))
}

fn unknown() -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        TICKET_UNKNOWN,
        "head office holds no ticket matching this receipt: check the till and number typed, \
         or scan the receipt's QR code; a ticket is known once its till has synced",
    )
}

fn ticket_at(record: &StoredRecord) -> Result<TicketAt, Failure> {
    Ok(TicketAt {
        till: record.till_id.clone(),
        shop: record.shop_id.clone(),
        ticket: record.seq,
        at: record.at.clone(),
        payload: stored_ticket(&record.body)?,
    })
}

/// `POST /api/v1/tills/{till_id}/tickets/lookup`.
#[utoipa::path(
    post,
    path = "/api/v1/tills/{till_id}/tickets/lookup",
    tag = "returns",
    params(("till_id" = String, Path, description = "the calling till")),
    request_body(content = crate::openapi::TicketLookupDoc),
    responses(
        (status = 200, description = "the original, every return made against it in the chain, the lines reserved", body = crate::openapi::TicketLookupAnswerDoc),
        (status = 404, description = "`ticket_unknown`: no such ticket held, or the receipt proof does not match", body = crate::openapi::ApiErrorDoc),
        (status = 429, description = "`rate_limited`", body = crate::openapi::ApiErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn lookup(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
    JsonBody(request): JsonBody<TicketLookup>,
) -> Result<Json<TicketLookupAnswer>, Failure> {
    admitted(&state, caller, &till_id)?;
    check_protocol(request.protocol)?;
    let original = state
        .store
        .record(&request.till, Chain::Ticket, request.ticket)
        .await?
        .ok_or_else(unknown)?;
    if let Some(prefix) = &request.hash_prefix
        && (prefix.len() != 16 || !original.hash.starts_with(&prefix.to_ascii_lowercase()))
    {
        return Err(unknown());
    }
    let (indexed, reserved) = state
        .store
        .returns_of_ticket(&request.till, request.ticket, Utc::now())
        .await?;
    let mut returns = Vec::with_capacity(indexed.len());
    for (till, seq) in indexed {
        if let Some(record) = state.store.record(&till, Chain::Ticket, seq).await? {
            returns.push(ticket_at(&record)?);
        }
    }
    Ok(Json(TicketLookupAnswer {
        original: ticket_at(&original)?,
        returns,
        reserved,
    }))
}

/// `POST /api/v1/tills/{till_id}/returns/reserve`.
#[utoipa::path(
    post,
    path = "/api/v1/tills/{till_id}/returns/reserve",
    tag = "returns",
    params(("till_id" = String, Path, description = "the calling till")),
    request_body(content = crate::openapi::ReturnReservationDoc),
    responses(
        (status = 200, description = "granted, or refused with the line beyond what is left", body = crate::openapi::ReturnReservationAnswerDoc),
        (status = 404, description = "`ticket_unknown`", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "no line, or a reservation id out of bounds", body = crate::openapi::ApiErrorDoc),
        (status = 429, description = "`rate_limited`", body = crate::openapi::ApiErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn reserve(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
    JsonBody(request): JsonBody<ReturnReservation>,
) -> Result<Json<ReturnReservationAnswer>, Failure> {
    let till = admitted(&state, caller, &till_id)?;
    check_protocol(request.protocol)?;
    let invalid = |m: &str| Failure::new(StatusCode::UNPROCESSABLE_ENTITY, codes::INVALID, m);
    if !crate::store::is_plain_id(&request.reservation) {
        return Err(invalid(
            "`reservation` is the till's id for it: 1 to 64 letters, digits, `-`, `_` or `.`",
        ));
    }
    if request.lines.is_empty() || request.lines.len() > pos_domain::limits::MAX_LINES {
        return Err(invalid(
            "name the original's lines being returned, at least one",
        ));
    }
    let outcome = state
        .store
        .reserve_return(
            &till.till_id,
            &ReservationRequest {
                reservation_id: request.reservation.clone(),
                original_till: request.original_till.clone(),
                original_ticket: request.original_ticket,
                lines: request.lines.clone(),
                seconds: request.seconds.clamp(1, MAX_RESERVATION_SECONDS),
            },
            Utc::now(),
        )
        .await?;
    let refused = match outcome {
        ReservationOutcome::Unknown => return Err(unknown()),
        ReservationOutcome::Granted => None,
        ReservationOutcome::Refused(why) => Some(why),
    };
    Ok(Json(ReturnReservationAnswer {
        reservation: request.reservation,
        granted: refused.is_none(),
        refused,
    }))
}
