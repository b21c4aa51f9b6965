//! Customer money across the chain, head office's API (issue 12): what a till asks while the
//! customer waits, and what head-office users read.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/v1/tills/{till_id}/instruments/lookup` | that till | a credit note's or gift card's balance and validity |
//! | `POST /api/v1/tills/{till_id}/instruments/hold` | that till | holds money of it for a redemption about to be recorded; refused above what is left |
//! | `POST /api/v1/hq/instruments/history` | a user | an instrument's balance, overdraft and every movement |
//!
//! Numbers travel in bodies, never in URLs (they are bearer values: whoever holds one may spend
//! it), so they stay out of access logs. They are unguessable (about 60 random bits, see
//! [`pos_domain::stored_value`]) and a till's lookups and holds are throttled together
//! ([`crate::till_throttle`]): a stolen till token cannot become an oracle. A number head
//! office does not know is answered 404 `instrument_unknown`, the same whether it was never
//! issued or its issue is not synced yet; a mistyped number is refused by its check digits
//! before any lookup (422).
//!
//! A hold is decided in the transaction that stores it, the instrument locked
//! ([`crate::store::Store::hold_redemption`]), so two tills holding the last euro are answered
//! one after the other and only one is granted. The hold is settled when the till's
//! redemption arrives with its records, or lapses after its `seconds` (at most
//! [`MAX_HOLD_SECONDS`]).
//!
//! History is scoped like every head-office read ([`crate::scope`]): admins and accountants
//! see every instrument; a manager sees one that moved in a shop of their scope, answered 404
//! otherwise, as an unknown one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use pos_domain::Money;
use pos_domain::stored_value::{InstrumentNumber, InstrumentState};
use pos_domain::wire::{
    InstrumentAnswer, InstrumentLookup, RedemptionHold, RedemptionHoldAnswer, codes,
};
use serde::{Deserialize, Serialize};

use crate::api::{AppState, Caller, Failure, JsonBody, check_protocol};
use crate::scope::scope;
use crate::store::{HoldOutcome, HoldRequest, Role, TillAuth};
use pos_hq_core::stored_value::{HistoryRow, Instrument, movement_name};

/// The answer for a number head office does not hold.
pub const INSTRUMENT_UNKNOWN: &str = "instrument_unknown";
/// The longest a hold may reserve money without its redemption.
pub const MAX_HOLD_SECONDS: u32 = 600;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tills/{till_id}/instruments/lookup", post(lookup))
        .route("/api/v1/tills/{till_id}/instruments/hold", post(hold))
        .route("/api/v1/hq/instruments/history", post(history))
}

fn unknown() -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        INSTRUMENT_UNKNOWN,
        "no credit note or gift card of this number is known to head office: check the \
         number on the slip or card; a note issued offline is known once its till has synced",
    )
}

/// The calling till, if it is `till_id` and within its lookup budget.
pub(crate) fn admitted(
    state: &AppState,
    caller: Caller,
    till_id: &str,
) -> Result<TillAuth, Failure> {
    let till = caller.till()?;
    if till.till_id != till_id {
        return Err(Failure::forbidden(format!(
            "this token belongs to till `{}`: it cannot ask for `{till_id}`",
            till.till_id
        )));
    }
    state.config.till_lookups.admit(&till.till_id)?;
    Ok(till)
}

/// `POST /api/v1/tills/{till_id}/instruments/lookup`.
#[utoipa::path(
    post,
    path = "/api/v1/tills/{till_id}/instruments/lookup",
    tag = "stored value",
    params(("till_id" = String, Path, description = "the calling till")),
    request_body(content = crate::openapi::InstrumentLookupDoc),
    responses(
        (status = 200, description = "the balance from every till's synced movements", body = crate::openapi::InstrumentAnswerDoc),
        (status = 404, description = "`instrument_unknown`: head office holds no instrument of that number", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "the number fails its check digits", body = crate::openapi::ApiErrorDoc),
        (status = 429, description = "`rate_limited`: too many lookups and holds from this till; retry after `Retry-After`", body = crate::openapi::ApiErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn lookup(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
    JsonBody(request): JsonBody<InstrumentLookup>,
) -> Result<Json<InstrumentAnswer>, Failure> {
    admitted(&state, caller, &till_id)?;
    check_protocol(request.protocol)?;
    let instrument = state
        .store
        .instrument(request.number.as_str())
        .await?
        .ok_or_else(unknown)?;
    Ok(Json(InstrumentAnswer {
        known: true,
        state: instrument.state,
        pending_offline: false,
    }))
}

/// `POST /api/v1/tills/{till_id}/instruments/hold`.
#[utoipa::path(
    post,
    path = "/api/v1/tills/{till_id}/instruments/hold",
    tag = "stored value",
    params(("till_id" = String, Path, description = "the calling till")),
    request_body(content = crate::openapi::RedemptionHoldDoc),
    responses(
        (status = 200, description = "granted, or refused with `instrument_balance_insufficient` or `instrument_not_usable`", body = crate::openapi::RedemptionHoldAnswerDoc),
        (status = 404, description = "`instrument_unknown`", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "an amount not above zero, a hold id or a duration out of bounds", body = crate::openapi::ApiErrorDoc),
        (status = 429, description = "`rate_limited`", body = crate::openapi::ApiErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn hold(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
    JsonBody(request): JsonBody<RedemptionHold>,
) -> Result<Json<RedemptionHoldAnswer>, Failure> {
    let till = admitted(&state, caller, &till_id)?;
    check_protocol(request.protocol)?;
    check_hold(&request)?;
    let outcome = state
        .store
        .hold_redemption(
            &till.till_id,
            &HoldRequest {
                hold_id: request.hold.clone(),
                number: request.number.as_str().to_string(),
                amount: request.amount,
                seconds: request.seconds.clamp(1, MAX_HOLD_SECONDS),
            },
            Utc::now(),
        )
        .await?;
    let (instrument, refused) = match outcome {
        HoldOutcome::Unknown => return Err(unknown()),
        HoldOutcome::Granted(i) => (i, None),
        HoldOutcome::Refused(i, why) => (i, Some(why.code().to_string())),
    };
    Ok(Json(RedemptionHoldAnswer {
        hold: request.hold,
        granted: refused.is_none(),
        state: instrument.state,
        refused,
    }))
}

fn check_hold(request: &RedemptionHold) -> Result<(), Failure> {
    let invalid = |m: String| Failure::new(StatusCode::UNPROCESSABLE_ENTITY, codes::INVALID, m);
    if request.hold.is_empty()
        || request.hold.len() > 64
        || !crate::store::is_plain_id(&request.hold)
    {
        return Err(invalid(
            "`hold` is the till's id for the hold: 1 to 64 letters, digits, `-`, `_` or `.`".into(),
        ));
    }
    if !request.amount.is_positive() {
        return Err(invalid(format!(
            "a hold of {} moves nothing: hold the amount about to be spent, above zero",
            request.amount
        )));
    }
    pos_domain::limits::check_amount("the amount held", request.amount)
        .map_err(|e| invalid(e.to_string()))
}

/// `POST /api/v1/hq/instruments/history` body.
#[derive(Deserialize, Debug, utoipa::ToSchema)]
pub struct HistoryQuery {
    /// The number as printed or scanned (spaces and dashes allowed).
    pub number: String,
}

/// An instrument as head office holds it, with every movement.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct InstrumentHistory {
    pub number: String,
    /// `credit_note` or `gift_card`.
    pub kind: String,
    #[schema(value_type = String, example = "15.09")]
    pub balance: Money,
    /// What offline redemptions spent beyond what it held (zero unless the balance is
    /// negative); its alarm is `instrument_overdrawn`.
    #[schema(value_type = String, example = "0.00")]
    pub overdraft: Money,
    pub expires: Option<String>,
    /// Expired or cancelled.
    pub closed: bool,
    pub movements: Vec<MovementView>,
}

/// One movement of an instrument.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct MovementView {
    pub version: i64,
    /// `issue`, `load`, `top_up`, `redeem`, `credit`, `expire` or `cancel`.
    pub movement: String,
    #[schema(value_type = String, example = "10.00")]
    pub amount: Money,
    /// A redemption made without head office's answer.
    pub offline: bool,
    #[schema(value_type = String, example = "5.09")]
    pub balance_after: Money,
    pub till_id: String,
    pub shop_id: String,
    /// The chain and sequence of the record that carries it.
    pub chain: String,
    pub seq: u64,
    pub at: String,
}

/// `POST /api/v1/hq/instruments/history`.
#[utoipa::path(
    post,
    path = "/api/v1/hq/instruments/history",
    tag = "stored value",
    request_body = HistoryQuery,
    responses(
        (status = 200, description = "the instrument's balance, overdraft and movements", body = InstrumentHistory),
        (status = 404, description = "`instrument_unknown`: unknown, or no movement in a shop of the user's scope", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "the number fails its check digits", body = crate::openapi::ApiErrorDoc),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(query): JsonBody<HistoryQuery>,
) -> Result<Json<InstrumentHistory>, Failure> {
    let user = caller.user()?;
    let number = InstrumentNumber::parse(&query.number)
        .map_err(|e| Failure::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string()))?;
    let instrument = state
        .store
        .instrument(number.as_str())
        .await?
        .ok_or_else(unknown)?;
    let rows = state.store.instrument_history(number.as_str()).await?;
    if !matches!(user.role, Role::Admin | Role::Accountant) {
        let scoped = scope(state.store.as_ref(), &user, None, None).await?;
        if !rows.iter().any(|r| scoped.contains(&r.shop_id)) {
            return Err(unknown());
        }
    }
    Ok(Json(history_view(&instrument, &rows)))
}

fn history_view(instrument: &Instrument, rows: &[HistoryRow]) -> InstrumentHistory {
    let InstrumentState {
        number,
        balance,
        expires,
        closed,
    } = &instrument.state;
    InstrumentHistory {
        number: number.to_string(),
        kind: match number.kind() {
            pos_domain::stored_value::InstrumentKind::CreditNote => "credit_note",
            pos_domain::stored_value::InstrumentKind::GiftCard => "gift_card",
        }
        .into(),
        balance: *balance,
        overdraft: instrument.overdraft(),
        expires: expires.map(|d| d.to_string()),
        closed: *closed,
        movements: rows
            .iter()
            .map(|r| MovementView {
                version: r.version,
                movement: movement_name(r.kind).into(),
                amount: r.amount,
                offline: r.offline,
                balance_after: r.balance_after,
                till_id: r.till_id.clone(),
                shop_id: r.shop_id.clone(),
                chain: r.chain.name().into(),
                seq: r.seq,
                at: r.at.clone(),
            })
            .collect(),
    }
}
