//! A product's stock as a till asks it while a customer waits (issue 15):
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /api/v1/tills/{till_id}/stock?products=P1,P2` | that till | each product's on hand, in transit, reserved and available at the till's shop and at the other shops of its region ("nearby"), with the moment of the answer |
//!
//! The figures are head office's stock lines ([`crate::store::stock::StockLevel`]), as
//! current as the last upload that moved them; a till keeps the answer and shows it with its
//! age when head office does not answer. The nearby shops are those of the till's shop's
//! region (none when the shop has no region) that hold or expect some of the product. Each
//! question counts in the till's lookup budget ([`crate::till_throttle`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use pos_domain::on_hand::{MAX_PRODUCTS, OnHandAnswer, ProductOnHand, ShopOnHand};
use pos_domain::stock::StockUnit;
use pos_domain::wire::codes;
use serde::{Deserialize, Serialize};

use crate::api::{AppState, Caller, Failure, QueryParams};
use crate::store::Shop;
use crate::store::stock::StockLevel;
use crate::stored_value_api::admitted;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/tills/{till_id}/stock", get(till_stock))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TillStockQuery {
    /// Product ids, comma-separated (1 to 100).
    products: String,
}

/// The products asked about, each once, in the order asked.
fn products(text: &str) -> Result<Vec<String>, Failure> {
    let mut products: Vec<String> = Vec::new();
    for product in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !products.iter().any(|p| p == product) {
            products.push(product.to_string());
        }
    }
    if products.is_empty() || products.len() > MAX_PRODUCTS {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            codes::QUERY_INVALID,
            format!(
                "name 1 to {MAX_PRODUCTS} products in `products` (comma-separated): {} given",
                products.len()
            ),
        ));
    }
    Ok(products)
}

fn unit(stored: &str) -> StockUnit {
    match stored {
        "grams" => StockUnit::Grams,
        _ => StockUnit::Units,
    }
}

fn figures(shop: &Shop, level: Option<&StockLevel>) -> ShopOnHand {
    ShopOnHand {
        shop_id: shop.id.clone(),
        shop_name: shop.name.clone(),
        unit: level.map_or(StockUnit::Units, |l| unit(&l.unit)),
        on_hand: level.map_or(0, |l| l.on_hand),
        in_transit: level.map_or(0, |l| l.in_transit),
        reserved: level.map_or(0, |l| l.reserved),
        available: level.map_or(0, |l| l.available),
    }
}

/// The till's shop and the other shops of its region.
fn here_and_nearby(shops: Vec<Shop>, own: &str) -> Result<(Shop, Vec<Shop>), Failure> {
    let here = shops.iter().find(|s| s.id == own).cloned().ok_or_else(|| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            format!("the till's shop `{own}` is not held: ask head office to check it"),
        )
    })?;
    let nearby = match &here.region_id {
        Some(region) => shops
            .into_iter()
            .filter(|s| s.id != here.id && s.region_id.as_ref() == Some(region))
            .collect(),
        None => Vec::new(),
    };
    Ok((here, nearby))
}

/// `GET /api/v1/tills/{till_id}/stock`.
#[utoipa::path(get, path = "/api/v1/tills/{till_id}/stock", tag = "stock",
    params(("till_id" = String, Path, description = "the calling till"), TillStockQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Each product asked about (in the order asked) at the till's shop and at the other shops of its region that hold or expect some, most available first, with the moment of the answer", body = OnHandAnswerDoc),
        (status = 400, description = "`query_invalid`: no product, or more than 100", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Not a till, or another till than `till_id`", body = crate::openapi::ApiErrorDoc),
        (status = 429, description = "`rate_limited`: too many lookups from this till; retry after `Retry-After`", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: retry later", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn till_stock(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
    QueryParams(query): QueryParams<TillStockQuery>,
) -> Result<Json<OnHandAnswer>, Failure> {
    let till = admitted(&state, caller, &till_id)?;
    let products = products(&query.products)?;
    let (here, nearby) = here_and_nearby(state.store.shops().await?, &till.shop_id)?;
    let shop_ids: Vec<String> = std::iter::once(&here)
        .chain(&nearby)
        .map(|s| s.id.clone())
        .collect();
    let levels = state.store.stock_levels(&shop_ids, &products).await?;
    let level = |shop: &str, product: &str| {
        levels
            .iter()
            .find(|l| l.shop_id == shop && l.product_id == product)
    };
    let products = products
        .iter()
        .map(|product| {
            let mut others: Vec<ShopOnHand> = nearby
                .iter()
                .filter_map(|shop| level(&shop.id, product).map(|l| figures(shop, Some(l))))
                .filter(|f| f.on_hand != 0 || f.in_transit != 0 || f.available != 0)
                .collect();
            others.sort_by(|a, b| {
                b.available
                    .cmp(&a.available)
                    .then_with(|| a.shop_id.cmp(&b.shop_id))
            });
            ProductOnHand {
                product_id: product.clone(),
                here: figures(&here, level(&here.id, product)),
                nearby: others,
            }
        })
        .collect();
    Ok(Json(OnHandAnswer {
        shop_id: here.id,
        answered_at: Utc::now(),
        products,
    }))
}

/// [`pos_domain::on_hand::OnHandAnswer`].
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OnHandAnswer)]
pub struct OnHandAnswerDoc {
    /// The till's own shop.
    pub shop_id: String,
    /// When head office answered (UTC, RFC 3339).
    #[schema(format = DateTime)]
    pub answered_at: String,
    pub products: Vec<ProductOnHandDoc>,
}

/// [`pos_domain::on_hand::ProductOnHand`].
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ProductOnHand)]
pub struct ProductOnHandDoc {
    pub product_id: String,
    /// At the till's own shop (all zero when head office has no stock of it there).
    pub here: ShopOnHandDoc,
    /// The other shops of the region holding or expecting some, most available first.
    pub nearby: Vec<ShopOnHandDoc>,
}

/// [`pos_domain::on_hand::ShopOnHand`].
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ShopOnHand)]
pub struct ShopOnHandDoc {
    pub shop_id: String,
    pub shop_name: String,
    /// `units` or `grams`.
    #[schema(example = "units", pattern = "^(units|grams)$")]
    pub unit: String,
    pub on_hand: i64,
    pub in_transit: i64,
    pub reserved: i64,
    pub available: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties<T: utoipa::ToSchema>() -> std::collections::BTreeSet<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    fn keys(value: impl Serialize) -> std::collections::BTreeSet<String> {
        serde_json::to_value(value)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn the_documented_answer_has_the_fields_the_wire_type_serializes() {
        let shop = ShopOnHand {
            shop_id: "S".into(),
            shop_name: "Shop".into(),
            unit: StockUnit::Units,
            on_hand: 1,
            in_transit: 0,
            reserved: 0,
            available: 1,
        };
        let product = ProductOnHand {
            product_id: "P".into(),
            here: shop.clone(),
            nearby: vec![shop.clone()],
        };
        let answer = OnHandAnswer {
            shop_id: "S".into(),
            answered_at: Utc::now(),
            products: vec![product.clone()],
        };
        assert_eq!(
            properties::<OnHandAnswerDoc>(),
            keys(&answer),
            "OnHandAnswer as documented is OnHandAnswer as sent"
        );
        assert_eq!(properties::<ProductOnHandDoc>(), keys(&product));
        assert_eq!(properties::<ShopOnHandDoc>(), keys(&shop));
    }
}
