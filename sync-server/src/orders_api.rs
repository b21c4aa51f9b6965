//! The HTTP routes of distribution and web orders, merged into [`crate::api::router`]:
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /api/v1/tills/{till_id}/changes?since=V&limit=N` | that till | a page of its shop's changes feed after version `V` |
//! | `POST /api/v1/web-orders` (`Idempotency-Key` header) | a web shop | places an order: 201 with the order; the same key and body again: 200 with the same order; the same key with another body: 409 `idempotency_conflict` |
//! | `GET /api/v1/web-orders/{id}` | a web shop, a user | the order as it now is |
//! | `POST /api/v1/web-orders/{id}/cancel` | a web shop, an admin | cancels it (409 `order_state` once handed over or refused) |
//! | `GET /api/v1/hq/web-orders?shop=` | a user | orders, newest first (a shop manager: their shop's) |
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

use crate::api::{AppState, Caller, Failure, JsonBody, QueryParams, shop_scope};
use crate::distribution::{DEFAULT_PAGE, MAX_PAGE};
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

#[derive(Deserialize)]
struct ChangesQuery {
    #[serde(default)]
    since: u64,
    limit: Option<u32>,
}

async fn changes(
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
enum OrderCaller {
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

fn order_failure(e: NewOrderError) -> Failure {
    match e {
        NewOrderError::Invalid(m) => {
            Failure::new(StatusCode::UNPROCESSABLE_ENTITY, codes::INVALID, m)
        }
        NewOrderError::Random(e) => Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            e.to_string(),
        ),
    }
}

async fn place_order(
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
            other => other.into(),
        })?;
    Ok(match placed {
        Placed::Created(order) => (StatusCode::CREATED, Json(order)).into_response(),
        Placed::Existing(order) => (StatusCode::OK, Json(order)).into_response(),
    })
}

async fn get_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: OrderCaller,
) -> Result<Response, Failure> {
    let order = state.store.web_order(&id).await?.ok_or_else(|| {
        Failure::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("no web order `{id}`"),
        )
    })?;
    if let OrderCaller::User(user) = &caller {
        shop_scope(user, Some(order.shop.clone()))?;
    }
    Ok(Json(order).into_response())
}

async fn cancel_order(
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
    let order = state.store.cancel_web_order(&id, Utc::now()).await?;
    Ok(Json(order).into_response())
}

#[derive(Deserialize)]
struct ShopQuery {
    shop: Option<String>,
}

async fn hq_orders(
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
    let shop = shop_scope(&user, query.shop)?;
    Ok(Json(state.store.web_orders(shop.as_deref()).await?).into_response())
}
