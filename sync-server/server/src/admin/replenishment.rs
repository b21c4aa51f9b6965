//! Replenishment levels: the min and max of a product at a shop
//! ([`pos_hq_core::replenishment`]), set one shop at a time or from a CSV file
//! (`shop,product,min,max,unit`), each change journaled. Routes (admins only):
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/admin/shops/{shop_id}/minmax` | the shop's levels, by product |
//! | `PUT /api/v1/admin/shops/{shop_id}/minmax` | sets levels of the shop (a product's earlier ones replaced) |
//!
//! `sync-server admin stock minmax set|import|list` calls the same functions.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use pos_domain::stock::StockUnit;
use pos_hq_core::replenishment::{MinMax, read_minmax_csv};
use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, Result, existing_shop};
use crate::api::{AppState, Caller, Failure, JsonBody, PathParams};
use crate::store::AdminChange;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/admin/shops/{shop_id}/minmax",
        get(list_minmax).put(put_minmax),
    )
}

impl Admin<'_> {
    /// Sets replenishment levels, all or none: every line checked, every shop known; journaled
    /// as `stock.minmax.set` with the levels before and after (up to 100 lines).
    pub async fn set_minmax(&self, levels: Vec<MinMax>) -> Result<u64> {
        for l in &levels {
            l.check().map_err(|m| {
                AdminError::Invalid(format!(
                    "shop `{}`, product `{}`: {m}",
                    l.shop_id, l.product_id
                ))
            })?;
        }
        let mut shops: Vec<&str> = levels.iter().map(|l| l.shop_id.as_str()).collect();
        shops.sort();
        shops.dedup();
        let mut before = Vec::new();
        for shop in &shops {
            existing_shop(self.store, shop).await?;
            before.extend(self.store.minmax(shop).await?);
        }
        let (before, after) = if levels.len() <= 100 {
            let touched = |l: &&MinMax| {
                levels.iter().any(|n| {
                    n.shop_id == l.shop_id && n.product_id == l.product_id && n.unit == l.unit
                })
            };
            let before: Vec<&MinMax> = before.iter().filter(touched).collect();
            // The journal holds objects: the levels under `levels`.
            (
                Some(serde_json::json!({ "levels": before })),
                Some(serde_json::json!({ "levels": levels })),
            )
        } else {
            (None, Some(serde_json::json!({"lines": levels.len()})))
        };
        let target = format!("shops {}", shops.join(","));
        let set = self
            .apply(
                AdminChange::MinMax(levels),
                "stock.minmax.set",
                target,
                before,
                after,
            )
            .await?;
        Ok(set)
    }

    /// Sets the levels of a min/max CSV file (`shop,product,min,max,unit`), all or none.
    pub async fn import_minmax(&self, bytes: &[u8]) -> Result<u64> {
        let levels = read_minmax_csv(bytes).map_err(|bad| {
            let lines: Vec<String> = bad
                .iter()
                .map(|b| format!("line {}: {}", b.line, b.reason))
                .collect();
            AdminError::Invalid(format!(
                "nothing was set; fix these lines and import the file again: {}",
                lines.join("; ")
            ))
        })?;
        self.set_minmax(levels).await
    }
}

/// A shop's level of one product (the body of `PUT .../minmax`, and its answer).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopMinMax {
    pub product_id: String,
    /// `units` (the default) or `grams`.
    #[serde(default)]
    #[schema(value_type = crate::logistics_api::StockUnitDoc)]
    pub unit: StockUnit,
    /// Below this position (on hand + in transit − reserved), replenish.
    #[schema(maximum = 1_000_000)]
    pub min: u32,
    /// Replenish up to this; at least `min`, at most 1,000,000.
    #[schema(maximum = 1_000_000)]
    pub max: u32,
}

/// The body of `PUT .../minmax`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MinMaxBody {
    pub levels: Vec<ShopMinMax>,
}

fn admin_of(state: &AppState, caller: Caller) -> std::result::Result<Admin<'_>, Failure> {
    super::http::admin(state, caller)
}

#[utoipa::path(get, path = "/api/v1/admin/shops/{shop_id}/minmax", tag = "administration",
    params(("shop_id" = String, Path, description = "The shop")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The shop's replenishment levels, by product", body = Vec<ShopMinMax>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such shop", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: retry later", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn list_minmax(
    State(state): State<AppState>,
    PathParams(shop_id): PathParams<String>,
    caller: Caller,
) -> std::result::Result<Json<Vec<ShopMinMax>>, Failure> {
    let admin = admin_of(&state, caller)?;
    existing_shop(admin.store, &shop_id).await?;
    Ok(Json(
        state
            .store
            .minmax(&shop_id)
            .await?
            .into_iter()
            .map(|l| ShopMinMax {
                product_id: l.product_id,
                unit: l.unit,
                min: l.min,
                max: l.max,
            })
            .collect(),
    ))
}

#[utoipa::path(put, path = "/api/v1/admin/shops/{shop_id}/minmax", tag = "administration",
    params(("shop_id" = String, Path, description = "The shop")),
    request_body = MinMaxBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Set (a product's earlier levels replaced); journaled", body = crate::admin::http::Changed),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such shop", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "A min above its max, or a level beyond 1,000,000 (`invalid`): nothing set", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: nothing set, retry", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn put_minmax(
    State(state): State<AppState>,
    PathParams(shop_id): PathParams<String>,
    caller: Caller,
    JsonBody(body): JsonBody<MinMaxBody>,
) -> std::result::Result<Json<crate::admin::http::Changed>, Failure> {
    let levels = body
        .levels
        .into_iter()
        .map(|l| MinMax {
            shop_id: shop_id.clone(),
            product_id: l.product_id,
            unit: l.unit,
            min: l.min,
            max: l.max,
        })
        .collect();
    let changed = admin_of(&state, caller)?.set_minmax(levels).await?;
    Ok(Json(crate::admin::http::Changed { changed }))
}
