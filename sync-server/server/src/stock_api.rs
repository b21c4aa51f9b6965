//! Head office's stock for the web shop and head office: `GET /api/v1/stock/available`, what
//! each shop may promise of each product (on hand less what click & collect orders hold), as
//! derived from the tills' uploads (see [`pos_hq_core::stock`]), current as soon as the upload
//! that moved it committed. The same question answered as stock lines, or, for many shops at
//! once, as a matrix of integers (`GET /api/v1/stock/available/matrix`, an
//! [`AvailableMatrix`]: 100 products at 600 shops in 172 KB instead of 7.5 MB).
//!
//! A web shop (its API key) and the logistics role see every shop; another head-office user
//! sees the shops of their scope;
//! a till has no access (its on-hand comes with the changes feed).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use pos_domain::wire::codes;
use serde::Deserialize;

use crate::api::{AppState, Failure, QueryParams};
use crate::orders_api::OrderCaller;
use crate::scope::{scope, select};
use crate::store::Role;
use crate::store::stock::{AvailableMatrix, StockLevel};

/// The most products one request may ask about.
pub const MAX_PRODUCTS: usize = 100;
/// The most shops one request may name (every shop when none is named).
pub const MAX_SHOPS: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/stock/available", get(available))
        .route("/api/v1/stock/available/matrix", get(available_matrix))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AvailableQuery {
    /// Product ids, comma-separated (1 to 100).
    products: String,
    /// Shop ids, comma-separated (up to 1000); none: every shop the caller may see.
    shops: Option<String>,
}

fn list(text: &str) -> Vec<String> {
    let mut items: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    items.sort();
    items.dedup();
    items
}

fn invalid(message: String) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, codes::QUERY_INVALID, message)
}

#[utoipa::path(get, path = "/api/v1/stock/available", tag = "stock",
    params(AvailableQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stock lines of the products at the shops, by shop and product: `available` is what may be promised; a (shop, product) not listed has nothing to promise", body = Vec<StockLevel>),
        (status = 400, description = "No product, or too many products or shops", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A till", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: retry later", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn available(
    State(state): State<AppState>,
    caller: OrderCaller,
    QueryParams(query): QueryParams<AvailableQuery>,
) -> Result<Json<Vec<StockLevel>>, Failure> {
    let (products, shops) = question(&query)?;
    let levels = state.store.stock_levels(&shops, &products).await?;
    match caller {
        OrderCaller::WebShop(_) => Ok(Json(levels)),
        OrderCaller::User(user) if user.role == Role::Logistics => Ok(Json(levels)),
        OrderCaller::User(user) => {
            let scoped = scope(state.store.as_ref(), &user, None, None).await?;
            Ok(Json(
                levels
                    .into_iter()
                    .filter(|l| scoped.contains(&l.shop_id))
                    .collect(),
            ))
        }
    }
}

#[utoipa::path(get, path = "/api/v1/stock/available/matrix", tag = "stock",
    params(AvailableQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What each shop may promise of each product, as a matrix: `available[row][column]` for product `products[row]` counted in `units[row]` at shop `shops[column]`, 0 where the shop has no line; the same figures as `GET /api/v1/stock/available`. The columns are the shops named that exist and the caller may see (every such shop when none is named), by id", body = AvailableMatrix),
        (status = 400, description = "No product, or too many products or shops", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A till, or a user who may see no shop", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: retry later", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn available_matrix(
    State(state): State<AppState>,
    caller: OrderCaller,
    QueryParams(query): QueryParams<AvailableQuery>,
) -> Result<Json<AvailableMatrix>, Failure> {
    let (products, named) = question(&query)?;
    let columns = visible_shops(&state, &caller, &named).await?;
    Ok(Json(state.store.stock_matrix(&columns, &products).await?))
}

/// The products and shops asked (sorted, each once), or why the question is refused.
fn question(query: &AvailableQuery) -> Result<(Vec<String>, Vec<String>), Failure> {
    let products = list(&query.products);
    let shops = list(query.shops.as_deref().unwrap_or_default());
    if products.is_empty() || products.len() > MAX_PRODUCTS {
        return Err(invalid(format!(
            "name 1 to {MAX_PRODUCTS} products in `products` (comma-separated): {} given",
            products.len()
        )));
    }
    if shops.len() > MAX_SHOPS {
        return Err(invalid(format!(
            "name at most {MAX_SHOPS} shops in `shops`, or none for every shop: {} given",
            shops.len()
        )));
    }
    Ok((products, shops))
}

/// The shops among `named` (every shop when none is) that exist and `caller` may see, by id:
/// a web shop and the logistics role see every shop, another user their scope's.
async fn visible_shops(
    state: &AppState,
    caller: &OrderCaller,
    named: &[String],
) -> Result<Vec<String>, Failure> {
    let shops = state.store.shops().await?;
    let selection = match caller {
        OrderCaller::WebShop(_) => None,
        OrderCaller::User(user) if user.role == Role::Logistics => None,
        OrderCaller::User(user) => Some(select(user, &shops, None, None)?),
    };
    let mut visible: Vec<String> = shops
        .into_iter()
        .filter(|shop| named.is_empty() || named.binary_search(&shop.id).is_ok())
        .filter(|shop| {
            selection
                .as_ref()
                .is_none_or(|s| s.contains(&shop.id, shop.region_id.as_deref()))
        })
        .map(|shop| shop.id)
        .collect();
    visible.sort_unstable();
    Ok(visible)
}
