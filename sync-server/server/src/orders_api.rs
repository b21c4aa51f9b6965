//! The HTTP routes of distribution and web orders, merged into [`crate::api::router`]:
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /api/v1/tills/{till_id}/changes?since=V&limit=N` | that till | a page of its shop's changes feed after version `V` |
//! | `POST /api/v1/web-orders` (`Idempotency-Key` header) | a web shop | places an order: 201 with the order; the same key and body again: 200 with the same order; the same key with another body: 409 `idempotency_conflict`; beyond a limit of [`pos_domain::limits`]: 422 `amount_too_large`, `too_many_lines` or `text_too_long`, nothing stored |
//! | `GET /api/v1/web-orders/{id}` | a web shop, a user | the order as it now is (409 `web_order_unreadable` for an order stored but unreadable: `sync-server admin web-order remove` drops it) |
//! | `POST /api/v1/web-orders/{id}/cancel` | a web shop, an admin | cancels it (409 `order_state` once handed over or refused) |
//! | `GET /api/v1/hq/web-orders?shop=&region=&after=&limit=` | a user | orders, newest first, a page at a time (a shop manager: their shop's) |
//!
//! A web shop authenticates with `Authorization: Bearer KEY`, the key printed once by
//! `sync-server admin webshop add`.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use pos_domain::web_order::NewWebOrder;
use pos_domain::wire::codes;
use serde::Deserialize;

use crate::api::{AppState, Caller, Failure, JsonBody, QueryParams};
use crate::distribution::{DEFAULT_PAGE, MAX_PAGE};
use crate::scope::scope;
use crate::secrets;
use crate::store::{Placed, Placement, Role};
use crate::web_orders::{self, NewOrderError};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tills/{till_id}/changes", get(changes))
        .route("/api/v1/web-orders", post(place_order))
        .route("/api/v1/web-orders/{id}", get(get_order))
        .route("/api/v1/web-orders/{id}/cancel", post(cancel_order))
        .route("/api/v1/hq/web-orders", get(hq_orders))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ChangesQuery {
    /// Changes with a version above this one: the `next` of the last page applied, 0 for a
    /// snapshot.
    #[serde(default)]
    since: u64,
    /// At most this many changes: 5000 when left out, 1 to 20000 (a value outside is
    /// brought within).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/tills/{till_id}/changes", tag = "tills",
    params(("till_id" = String, Path, description = "The reading till (its token's)"), ChangesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the shop's changes feed, oldest first", body = crate::openapi::ChangesPageDoc),
        (status = 400, description = "`since` or `limit` is not a number", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A head-office user, or another till's feed", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: retry later", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn changes(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
    QueryParams(query): QueryParams<ChangesQuery>,
) -> Result<Response, Failure> {
    let till = match caller {
        Caller::Till(till) => till,
        Caller::User(_) => {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                codes::FORBIDDEN,
                "only a till reads its changes feed",
            ));
        }
    };
    if till.till_id != till_id {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            codes::FORBIDDEN,
            format!(
                "this token belongs to till `{}`: it cannot read the feed of `{till_id}`",
                till.till_id
            ),
        ));
    }
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let page = state
        .store
        .changes(&till.shop_id, query.since, limit)
        .await?;
    // The wire JSON of `pos_domain::wire::ChangesPage`, the stored data spliced in as it is.
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        page.to_json(),
    )
        .into_response())
}

/// A web shop authenticated by its API key.
pub struct WebShop(pub String);

/// Who may act on a web order: the web shop, or a head-office user.
pub(crate) enum OrderCaller {
    WebShop(String),
    User(crate::store::User),
}

async fn order_caller(parts: &Parts, state: &AppState) -> Result<OrderCaller, Failure> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|t| t.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    if !header.is_empty()
        && let Some(id) = state
            .store
            .webshop_by_key(&secrets::token_hash(&header))
            .await?
    {
        return Ok(OrderCaller::WebShop(id));
    }
    let mut parts = parts.clone();
    match Caller::from_request_parts(&mut parts, state).await? {
        Caller::User(user) => Ok(OrderCaller::User(user)),
        Caller::Till(_) => Err(Failure::new(
            StatusCode::FORBIDDEN,
            codes::FORBIDDEN,
            "tills receive web orders through their changes feed",
        )),
    }
}

impl FromRequestParts<AppState> for WebShop {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        match order_caller(parts, state).await? {
            OrderCaller::WebShop(id) => Ok(WebShop(id)),
            OrderCaller::User(_) => Err(Failure::new(
                StatusCode::FORBIDDEN,
                codes::FORBIDDEN,
                "only a web shop places orders (`sync-server admin web-order create` makes demo orders)",
            )),
        }
    }
}

impl FromRequestParts<AppState> for OrderCaller {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        order_caller(parts, state).await
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, Failure> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if key.is_empty() || key.len() > 200 {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            codes::IDEMPOTENCY_KEY_MISSING,
            "send an `Idempotency-Key` header (1 to 200 characters, new for each order, the same when resending it)",
        ));
    }
    Ok(key.to_string())
}

/// A read of one order: an order stored but unreadable (see
/// [`web_orders::stored_order`]) is a 409 `web_order_unreadable` saying how to remove it,
/// never a 500.
fn order_read_failure(e: crate::StoreError) -> Failure {
    match e {
        crate::StoreError::Corrupt(message) => {
            web_orders::skip_unreadable(&crate::StoreError::Corrupt(message.clone()));
            Failure::new(StatusCode::CONFLICT, web_orders::UNREADABLE, message)
        }
        other => other.into(),
    }
}

fn order_failure(e: NewOrderError) -> Failure {
    match e {
        NewOrderError::Invalid(e) => {
            Failure::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
        }
        NewOrderError::Random(e) => Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            e.to_string(),
        ),
    }
}

#[utoipa::path(post, path = "/api/v1/web-orders", tag = "web orders",
    params(("Idempotency-Key" = String, Header,
        description = "1 to 200 characters, new for each order and the same when resending it")),
    request_body = crate::openapi::NewWebOrderDoc,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Placed: the new order, state `placed`", body = crate::openapi::WebOrderDoc),
        (status = 200, description = "The same key and body again: the order placed the first time", body = crate::openapi::WebOrderDoc),
        (status = 400, description = "Missing or too long `Idempotency-Key` (`idempotency_key_missing`), or a body that is not JSON", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown key", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A till or a head-office user: only a web shop places orders", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "The same key with another body (`idempotency_conflict`)", body = crate::openapi::ApiErrorDoc),
        (status = 413, description = "Too large a body", body = crate::openapi::ApiErrorDoc),
        (status = 415, description = "No `Content-Type: application/json`", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "Unknown fields or pickup shop, no lines, a bad quantity or price (`json_invalid`, `invalid`), or beyond a limit of `pos_domain::limits`: an amount above 9999999.99 (`amount_too_large`), more than 250 lines (`too_many_lines`), a text too long (`text_too_long`); nothing is stored", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage or randomness failed: nothing was placed, resend with the same key", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn place_order(
    State(state): State<AppState>,
    WebShop(webshop): WebShop,
    headers: HeaderMap,
    JsonBody(request): JsonBody<NewWebOrder>,
) -> Result<Response, Failure> {
    let key = idempotency_key(&headers)?;
    let now = Utc::now();
    let order = web_orders::new_order(&request, now).map_err(order_failure)?;
    let placement = Placement {
        webshop,
        idempotency_key: key,
        request_hash: web_orders::request_hash(&request),
        order,
        now,
    };
    let placed = state
        .store
        .place_web_order(&placement)
        .await
        .map_err(|e| match e {
            crate::StoreError::NotFound(m) => {
                Failure::new(StatusCode::UNPROCESSABLE_ENTITY, codes::INVALID, m)
            }
            other => order_read_failure(other),
        })?;
    Ok(match placed {
        Placed::Created(order) => (StatusCode::CREATED, Json(order)).into_response(),
        Placed::Existing(order) => (StatusCode::OK, Json(order)).into_response(),
    })
}

#[utoipa::path(get, path = "/api/v1/web-orders/{id}", tag = "web orders",
    params(("id" = String, Path, description = "The order's id (`WO-...`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order as it now is", body = crate::openapi::WebOrderDoc),
        (status = 401, description = "Missing or unknown key or token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A till, or a manager bound to no shop or region", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such order (or another web shop's, or one of a shop outside the user's scope: answered alike)", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "The order is stored but cannot be read (`web_order_unreadable`): an administrator removes it", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: retry later", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn get_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: OrderCaller,
) -> Result<Response, Failure> {
    let missing = || {
        Failure::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("no web order `{id}`"),
        )
    };
    // Another web shop's order is unknown to this one, readable or not.
    if let OrderCaller::WebShop(webshop) = &caller {
        placed_by(&state, &id, webshop).await?;
    }
    let order = state
        .store
        .web_order(&id)
        .await
        .map_err(order_read_failure)?
        .ok_or_else(missing)?;
    if let OrderCaller::User(user) = &caller {
        crate::scope::visible(state.store.as_ref(), user, &order.shop, missing).await?;
    }
    Ok(Json(order).into_response())
}

/// Refuses a web shop another web shop's order, as if it did not exist: order ids must not
/// tell one web shop about another's customers.
async fn placed_by(state: &AppState, id: &str, webshop: &str) -> Result<(), Failure> {
    match state.store.web_order_webshop(id).await? {
        Some(owner) if owner == webshop => Ok(()),
        _ => Err(Failure::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("no web order `{id}`"),
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/web-orders/{id}/cancel", tag = "web orders",
    params(("id" = String, Path, description = "The order's id (`WO-...`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order, cancelled (cancelling it again changes nothing)", body = crate::openapi::WebOrderDoc),
        (status = 401, description = "Missing or unknown key or token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A till, or a head-office user other than an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such order (or another web shop's)", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "Already handed over or refused at the till (`order_state`), or stored but unreadable (`web_order_unreadable`)", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: nothing changed, retry", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn cancel_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: OrderCaller,
) -> Result<Response, Failure> {
    if let OrderCaller::User(user) = &caller
        && user.role != Role::Admin
    {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            codes::FORBIDDEN,
            "only the web shop or an admin cancels a web order",
        ));
    }
    if let OrderCaller::WebShop(webshop) = &caller {
        placed_by(&state, &id, webshop).await?;
    }
    let order = state
        .store
        .cancel_web_order(&id, Utc::now())
        .await
        .map_err(order_read_failure)?;
    Ok(Json(order).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ShopQuery {
    /// Only this pickup shop's orders (a shop manager always sees only theirs).
    shop: Option<String>,
    /// Only the orders of this region's shops (`(none)`: shops without a region; a regional
    /// manager always sees only their region's).
    region: Option<String>,
    /// The orders placed before this order (the `id` of the previous page's last order).
    after: Option<String>,
    /// Orders per page: 1 to 5000, default 500.
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/hq/web-orders", tag = "web orders",
    params(ShopQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Web orders, newest first, one page (shorter than `limit`: the last)", body = Vec<crate::openapi::WebOrderDoc>),
        (status = 400, description = "`limit` is not a number", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A till, or a shop outside the user's scope", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: retry later", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_orders(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ShopQuery>,
) -> Result<Response, Failure> {
    let Caller::User(user) = caller else {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            codes::FORBIDDEN,
            "tills have no access to head-office data",
        ));
    };
    let scoped = scope(state.store.as_ref(), &user, query.shop, query.region).await?;
    let page = crate::store::Page::new(query.after, query.limit);
    let orders = state.store.web_orders(&scoped.selection, &page).await?;
    Ok(Json(orders).into_response())
}
