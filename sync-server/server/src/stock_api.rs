//! Head office's stock for the web shop and head office: `GET /api/v1/stock/available`, what
//! each shop may promise of each product (on hand less what click & collect orders hold), as
//! derived from the tills' uploads (see [`pos_hq_core::stock`]), current as soon as the upload
//! that moved it committed.
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
use crate::scope::scope;
use crate::store::Role;
use crate::store::stock::StockLevel;

/// The most products one request may ask about.
pub const MAX_PRODUCTS: usize = 100;
/// The most shops one request may name (every shop when none is named).
pub const MAX_SHOPS: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/stock/available", get(available))
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
