//! The logistics spoke's HTTP API: advance shipping notices in, read back with what the shop
//! received against them, and withdrawn (see [`pos_hq_core::logistics`]).
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/v1/logistics/shipping-notices` | admin, logistics | a notice ([`ShippingNotice`]): 201 stored and sent to its shop's tills; 200 the same id with the same content again; 409 `conflict` the same id with other content; 422 a rule broken; 404 an unknown shop or product |
//! | `GET /api/v1/logistics/shipping-notices?shop=&state=&after=&limit=` | admin, logistics | notices by id |
//! | `GET /api/v1/logistics/shipping-notices/{id}` | admin, logistics | a notice, its state and, once a till received against it, the differences per line (missing, extra, damaged) |
//! | `DELETE /api/v1/logistics/shipping-notices/{id}` | admin, logistics | withdraws a notice not received yet (its shop's tills drop it); 409 `conflict` once received |
//!
//! The `logistics` role is least privilege: these routes, stock levels and replenishment,
//! nothing else (see [`crate::scope`]). Drop-folder files go through the same store verb
//! ([`crate::logistics_inbox`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use pos_domain::stock::ShippingNotice;
use pos_domain::wire::codes;
use pos_hq_core::logistics::NoticeState;
use serde::{Deserialize, Serialize};

use crate::api::{AppState, Caller, Failure, JsonBody, PathParams, QueryParams};
use crate::store::logistics::{Admitted, StoredNotice, Withdrawal};
use crate::store::{Page, Role, User};

/// The code of a notice id already held with other content, or withdrawn after a receipt.
pub const CONFLICT: &str = "conflict";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/logistics/shipping-notices",
            post(post_notice).get(list_notices),
        )
        .route(
            "/api/v1/logistics/shipping-notices/{id}",
            get(get_notice).delete(withdraw_notice),
        )
}

/// Admins and the logistics role work on notices; no one else.
pub(crate) fn logistics_user(caller: Caller) -> Result<User, Failure> {
    let user = caller.user()?;
    if !matches!(user.role, Role::Admin | Role::Logistics) {
        return Err(Failure::forbidden(
            "shipping notices are logistics' to send: only admins and the logistics role handle them",
        ));
    }
    Ok(user)
}

/// The answer for a notice refused by storage (an unknown shop or product, another content).
pub fn refusal(notice: &ShippingNotice, admitted: &Admitted) -> Option<Failure> {
    let (status, code, message) = match admitted {
        Admitted::Stored | Admitted::Unchanged => return None,
        Admitted::Differs => (
            StatusCode::CONFLICT,
            CONFLICT,
            format!(
                "shipping notice `{}` is already held with other content: a new delivery takes a new id (withdraw the old notice if it was wrong)",
                notice.id
            ),
        ),
        Admitted::UnknownShop => (
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!(
                "no shop `{}` at head office: send the notice to one of the chain's shops",
                notice.shop_id
            ),
        ),
        Admitted::UnknownProduct(product) => (
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!(
                "no product `{product}` in head office's catalog: import it first, or correct the notice"
            ),
        ),
    };
    Some(Failure::new(status, code, message))
}

/// A line of a shipping notice ([`pos_domain::stock::NoticeLine`]).
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = NoticeLine)]
pub struct NoticeLineDoc {
    pub product_id: String,
    /// `units` (the default) or `grams`.
    #[serde(default)]
    pub unit: StockUnitDoc,
    /// 0 to 1,000,000.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub quantity: u32,
    /// The IMEIs of the handsets sent (15 digits, Luhn-checked), one per unit, or none.
    #[serde(default)]
    pub serials: Vec<String>,
}

/// [`pos_domain::stock::StockUnit`].
#[derive(Serialize, Deserialize, Default, utoipa::ToSchema)]
#[schema(as = StockUnit)]
#[serde(rename_all = "snake_case")]
pub enum StockUnitDoc {
    #[default]
    Units,
    Grams,
}

/// An advance shipping notice ([`ShippingNotice`]): what logistics sent to one shop.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ShippingNotice)]
pub struct ShippingNoticeDoc {
    /// The notice's number at logistics, unique in the chain.
    pub id: String,
    /// The shop the goods go to.
    pub shop_id: String,
    /// 1 to 250 lines, each product (and unit) once.
    pub lines: Vec<NoticeLineDoc>,
}

/// [`NoticeState`].
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = NoticeState)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStateDoc {
    Open,
    Received,
    Withdrawn,
}

/// One product of a notice as the shop received it
/// ([`pos_hq_core::logistics::LineDifference`]).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LineDifference)]
pub struct LineDifferenceDoc {
    pub product_id: String,
    pub unit: StockUnitDoc,
    /// What the notice announced (0 for a product it did not name).
    pub expected: u32,
    pub received: u32,
    /// Received, not sellable.
    pub damaged: u32,
    /// Announced, not arrived.
    pub missing: u32,
    /// Arrived, not announced.
    pub extra: u32,
}

/// A till's goods receipt against a notice ([`crate::store::logistics::NoticeReceipt`]).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = NoticeReceipt)]
pub struct NoticeReceiptDoc {
    pub receipt_id: String,
    /// The record it came in: `tills/<till>/stock/<seq>`.
    pub source: String,
    /// When the till recorded it (RFC 3339).
    pub at: String,
    pub lines: Vec<LineDifferenceDoc>,
}

/// A notice as head office holds it ([`StoredNotice`]).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StoredNotice)]
pub struct StoredNoticeDoc {
    pub notice: ShippingNoticeDoc,
    pub state: NoticeStateDoc,
    /// When head office took it in (RFC 3339).
    pub created_at: String,
    pub withdrawn_at: Option<String>,
    /// The goods receipt a till recorded against it, once one did.
    pub receipt: Option<NoticeReceiptDoc>,
}

#[utoipa::path(post, path = "/api/v1/logistics/shipping-notices", tag = "logistics",
    request_body = ShippingNoticeDoc,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored, and sent to the tills of its shop through their changes feed", body = StoredNoticeDoc),
        (status = 200, description = "The same id with the same content was already held: nothing changed", body = StoredNoticeDoc),
        (status = 403, description = "Neither an admin nor the logistics role, or a till", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "The shop, or a product of a line, is unknown at head office (`not_found`)", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "The same id is held with other content (`conflict`): a new delivery takes a new id", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "A rule of notices is broken (no line, a product twice, a quantity beyond 1,000,000, IMEIs not one per unit...): the message says which line", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: nothing was stored, retry", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn post_notice(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(notice): JsonBody<ShippingNotice>,
) -> Result<Response, Failure> {
    logistics_user(caller)?;
    notice
        .check()
        .map_err(|e| Failure::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string()))?;
    let admitted = state
        .store
        .admit_notices(std::slice::from_ref(&notice), None, Utc::now())
        .await?;
    let admitted = admitted.into_iter().next().unwrap_or(Admitted::Unchanged);
    if let Some(failure) = refusal(&notice, &admitted) {
        return Err(failure);
    }
    let status = if admitted == Admitted::Stored {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let stored = read(&state, &notice.id).await?;
    Ok((status, Json(stored)).into_response())
}

async fn read(state: &AppState, id: &str) -> Result<StoredNotice, Failure> {
    state.store.notice(id).await?.ok_or_else(|| missing(id))
}

fn missing(id: &str) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
        format!("no shipping notice `{id}`"),
    )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NoticesQuery {
    /// Only this shop's notices.
    shop: Option<String>,
    /// Only notices in this state: `open`, `received` or `withdrawn`.
    #[param(value_type = Option<NoticeStateDoc>)]
    state: Option<String>,
    /// The id of the last notice of the previous page.
    after: Option<String>,
    /// Notices per page: 1 to 5000 (brought within), default 500.
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/logistics/shipping-notices", tag = "logistics",
    params(NoticesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Notices by id, with their state and what was received against them", body = Vec<StoredNoticeDoc>),
        (status = 403, description = "Neither an admin nor the logistics role, or a till", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: retry later", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn list_notices(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<NoticesQuery>,
) -> Result<Json<Vec<StoredNotice>>, Failure> {
    logistics_user(caller)?;
    let wanted = match query.state.as_deref() {
        None => None,
        Some(text) => Some(NoticeState::parse(text).ok_or_else(|| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                codes::QUERY_INVALID,
                format!("state `{text}`: use open, received or withdrawn"),
            )
        })?),
    };
    let page = Page::new(query.after, query.limit);
    Ok(Json(
        state
            .store
            .notices(
                query.shop.as_deref(),
                wanted,
                page.after.as_deref(),
                page.limit,
            )
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/logistics/shipping-notices/{id}", tag = "logistics",
    params(("id" = String, Path, description = "The notice's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The notice, its state, and once a till received against it the differences per line", body = StoredNoticeDoc),
        (status = 403, description = "Neither an admin nor the logistics role, or a till", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such notice", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: retry later", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn get_notice(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<StoredNotice>, Failure> {
    logistics_user(caller)?;
    Ok(Json(read(&state, &id).await?))
}

#[utoipa::path(delete, path = "/api/v1/logistics/shipping-notices/{id}", tag = "logistics",
    params(("id" = String, Path, description = "The notice's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Withdrawn (now or before): its shop's tills drop it at their next sync", body = StoredNoticeDoc),
        (status = 403, description = "Neither an admin nor the logistics role, or a till", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such notice", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "A till already received against it (`conflict`): it stays", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: nothing changed, retry", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn withdraw_notice(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<StoredNotice>, Failure> {
    logistics_user(caller)?;
    match state.store.withdraw_notice(&id, Utc::now()).await? {
        None => Err(missing(&id)),
        Some(Withdrawal::Withdrawn(notice)) => Ok(Json(notice)),
        Some(Withdrawal::AlreadyReceived(notice)) => Err(Failure::new(
            StatusCode::CONFLICT,
            CONFLICT,
            format!(
                "shipping notice `{id}` was received at shop `{}` ({}): it can no longer be withdrawn",
                notice.notice.shop_id,
                notice
                    .receipt
                    .as_ref()
                    .map_or("", |r| r.receipt_id.as_str())
            ),
        )),
    }
}
