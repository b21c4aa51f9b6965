//! The admin HTTP API, merged into [`crate::api::router`]: every route is for admins only (a
//! till or another role is 403), with a user's API token or the web app's session cookie and
//! its CSRF header (see [`crate::web_session`]). Each calls the [`super::Admin`] function the
//! command line calls, under the caller's user id, so each change is journaled.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/admin/audit?before=&limit=` | the administration journal, newest first |
//! | `POST /api/v1/admin/catalog/import?format=csv\|json` | a whole catalog file (body), all rows good or nothing applied (422 with every bad row) |
//! | `GET`, `PUT`, `DELETE /api/v1/admin/catalog/products/{product_id}` | one product |
//! | `GET /api/v1/admin/shops/{shop_id}/prices`, `PUT`/`DELETE .../prices/{product_id}` | a shop's prices over the base price |
//! | `GET`, `POST /api/v1/admin/promotions`, `DELETE /api/v1/admin/promotions/{promotion_id}?shop=` | promotions |
//! | `PUT /api/v1/admin/vat` | a VAT rate of a territory from a day on (or its removal) |
//! | `PUT /api/v1/admin/tenders` | how one shop or every shop takes a means of payment |
//! | `GET`, `POST /api/v1/admin/entities`, `/regions`, `/shops`; `PUT /shops/{shop_id}/region` | the organisation |
//! | `GET`, `POST /api/v1/admin/tills`; `POST /tills/{till_id}/code`, `/tills/{till_id}/revoke` | tills and their enrollment codes (shown once) |
//! | `GET /api/v1/admin/shops/{shop_id}/staff`, `PUT`/`DELETE .../staff/{staff_id}`, `POST .../staff/{staff_id}/pin` | a shop's staff |
//! | `GET`, `POST /api/v1/admin/users`; `POST /users/{user_id}/revoke` | head-office users |
//! | `PUT /api/v1/admin/users/{user_id}/role`; `POST /users/{user_id}/disable`, `/enable` | a user's role and scope, disabling (each ends their sessions and tokens; never the last admin) |

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::NaiveDate;
use pos_domain::Money;
use pos_domain::product::Product;
use pos_domain::promotion::Promotion;
use pos_domain::tender::{TenderKind, TenderType};
use pos_domain::vat::{Territory, VatCode, VatRate, VatRateEntry};
use pos_domain::wire::kinds;
use pos_hq_core::distribution::{FileFormat, RowError};
use serde::{Deserialize, Serialize};

use super::catalog::Imported;
use super::rules::ScopedPromotion;
use super::staff::{StaffView, staff_role};
use super::tills::{CODE_HOURS, EnrollmentCode};
use super::users::{AccessChanged, CreatedUser};
use super::{Admin, AdminError};
use crate::api::{AppState, Caller, Failure, JsonBody, QueryParams};
use crate::store::audit::AuditEntry;
use crate::store::{LegalEntity, Page, Region, Role, Shop, TillInfo, User, UserAccount};

/// The largest catalog file taken in one request (a million products is about 100 MB).
pub const MAX_CATALOG_BYTES: usize = 512 * 1024 * 1024;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/audit", get(audit))
        .route(
            "/api/v1/admin/catalog/import",
            post(import_catalog).layer(DefaultBodyLimit::max(MAX_CATALOG_BYTES)),
        )
        .route(
            "/api/v1/admin/catalog/products/{product_id}",
            get(get_product).put(put_product).delete(delete_product),
        )
        .route("/api/v1/admin/shops/{shop_id}/prices", get(shop_prices))
        .route(
            "/api/v1/admin/shops/{shop_id}/prices/{product_id}",
            put(set_price).delete(remove_price),
        )
        .route(
            "/api/v1/admin/promotions",
            get(list_promotions).post(set_promotion),
        )
        .route(
            "/api/v1/admin/promotions/{promotion_id}",
            axum::routing::delete(remove_promotion),
        )
        .route("/api/v1/admin/vat", put(set_vat))
        .route("/api/v1/admin/tenders", put(set_tender))
        .route(
            "/api/v1/admin/entities",
            get(list_entities).post(create_entity),
        )
        .route(
            "/api/v1/admin/regions",
            get(list_regions).post(create_region),
        )
        .route("/api/v1/admin/shops", get(list_shops).post(create_shop))
        .route("/api/v1/admin/shops/{shop_id}/region", put(set_shop_region))
        .route("/api/v1/admin/tills", get(list_tills).post(create_till))
        .route("/api/v1/admin/tills/{till_id}/code", post(till_code))
        .route("/api/v1/admin/tills/{till_id}/revoke", post(revoke_till))
        .route("/api/v1/admin/shops/{shop_id}/staff", get(list_staff))
        .route(
            "/api/v1/admin/shops/{shop_id}/staff/{staff_id}",
            put(put_staff).delete(remove_staff),
        )
        .route(
            "/api/v1/admin/shops/{shop_id}/staff/{staff_id}/pin",
            post(reset_pin),
        )
        .route("/api/v1/admin/users", get(list_users).post(create_user))
        .route("/api/v1/admin/users/{user_id}/revoke", post(revoke_user))
        .route("/api/v1/admin/users/{user_id}/role", put(set_user_role))
        .route("/api/v1/admin/users/{user_id}/disable", post(disable_user))
        .route("/api/v1/admin/users/{user_id}/enable", post(enable_user))
}

/// The caller as an [`Admin`], if they are one.
pub(super) fn admin(state: &AppState, caller: Caller) -> Result<Admin<'_>, Failure> {
    let user = caller.user()?;
    if user.role != Role::Admin {
        return Err(Failure::forbidden(
            "administration is for admins: ask one to make this change",
        ));
    }
    Ok(Admin::new(state.store.as_ref(), user.id))
}

/// The answer to a catalog file refused for its bad rows.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct CatalogRefusal {
    /// `catalog_rows_invalid`.
    pub code: String,
    pub message: String,
    /// Every bad row, in file order.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<RowError>,
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Failure {
        let status = match &e {
            AdminError::Invalid(_) | AdminError::BadRows(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Store(_) | AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if let AdminError::Store(e) = e {
            return Failure::from(e);
        }
        Failure::new(status, e.code(), e.to_string())
    }
}

/// An admin error as an answer; bad catalog rows are listed in `rows`.
fn refused(e: AdminError) -> Response {
    match e {
        AdminError::BadRows(rows) => {
            let message = format!(
                "{} bad row(s): nothing was imported; fix them and import the file again",
                rows.len()
            );
            let body = CatalogRefusal {
                code: super::CATALOG_ROWS_INVALID.into(),
                message,
                rows,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
        }
        other => Failure::from(other).into_response(),
    }
}

/// `GET /api/v1/admin/audit` parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// The entries before this one (the `id` of the previous page's last).
    before: Option<i64>,
    /// Entries per page: 1 to 5000, default 500.
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "administration",
    params(AuditQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "The administration journal, newest first, one page", body = Vec<AuditEntry>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, Failure> {
    admin(&state, caller)?;
    let page = Page::new(query.before, query.limit);
    Ok(Json(state.store.audit_entries(&page).await?))
}

/// `POST /api/v1/admin/catalog/import` parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// `csv` (the till's import format, with its header) or `json` (an array of products).
    format: String,
    /// The file's name, for the journal.
    name: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/admin/catalog/import", tag = "administration",
    params(ImportQuery), security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "The catalog file: CSV `id,barcodes,label,category,vat_code,price,sold_by,serial,stock` or a JSON array of products"),
    responses(
        (status = 200, description = "Every product written in one transaction", body = Imported),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 413, description = "The file is larger than 512 MiB", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "Bad rows (`catalog_rows_invalid`, each with its line and reason) or an unreadable file (`invalid`): nothing was applied", body = CatalogRefusal)))]
pub(crate) async fn import_catalog(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ImportQuery>,
    body: Bytes,
) -> Response {
    let admin = match admin(&state, caller) {
        Ok(admin) => admin,
        Err(failure) => return failure.into_response(),
    };
    let format = match FileFormat::of(Some(&query.format), "") {
        Ok(format) => format,
        Err(m) => {
            return Failure::new(
                StatusCode::BAD_REQUEST,
                pos_domain::wire::codes::QUERY_INVALID,
                m,
            )
            .into_response();
        }
    };
    // Reading a million rows is CPU work: off the async workers.
    let read =
        tokio::task::spawn_blocking(move || super::catalog::read_catalog_file(format, &body[..]))
            .await;
    let products = match read {
        Ok(Ok(products)) => products,
        Ok(Err(e)) => return refused(e),
        Err(e) => return refused(AdminError::Internal(format!("reading the catalog: {e}"))),
    };
    let name = query.name.unwrap_or_else(|| "upload".into());
    match admin.import_products(products, &name).await {
        Ok(imported) => Json(imported).into_response(),
        Err(e) => refused(e),
    }
}

#[utoipa::path(get, path = "/api/v1/admin/catalog/products/{product_id}", tag = "administration",
    params(("product_id" = String, Path, description = "The product")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The product as the tills receive it", body = Object),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such product", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn get_product(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
    caller: Caller,
) -> Result<Json<Product>, Failure> {
    Ok(Json(admin(&state, caller)?.product(&product_id).await?))
}

/// What a change did.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct Changed {
    /// Changes-feed entries new or changed (0: it was already so).
    pub changed: u64,
}

#[utoipa::path(put, path = "/api/v1/admin/catalog/products/{product_id}", tag = "administration",
    params(("product_id" = String, Path, description = "The product; the body's `id` must be the same")),
    request_body = Object, security(("bearer" = [])),
    responses(
        (status = 200, description = "Created or changed for every till", body = Changed),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn put_product(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
    caller: Caller,
    JsonBody(product): JsonBody<Product>,
) -> Result<Json<Changed>, Failure> {
    let admin = admin(&state, caller)?;
    if product.id != product_id {
        return Err(AdminError::Invalid(format!(
            "the body's id `{}` is not the product `{product_id}` of the address",
            product.id
        ))
        .into());
    }
    let changed = admin.put_product(product).await?;
    Ok(Json(Changed { changed }))
}

#[utoipa::path(delete, path = "/api/v1/admin/catalog/products/{product_id}", tag = "administration",
    params(("product_id" = String, Path, description = "The product")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Removed from every till's catalog (its sales stay)", body = Changed),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn delete_product(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
    caller: Caller,
) -> Result<Json<Changed>, Failure> {
    let changed = admin(&state, caller)?.remove_product(&product_id).await?;
    Ok(Json(Changed { changed }))
}

/// A shop's price of a product.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct ShopPriceView {
    pub product_id: String,
    /// Including VAT: `19.90`.
    #[schema(value_type = String)]
    pub price: Money,
}

#[utoipa::path(get, path = "/api/v1/admin/shops/{shop_id}/prices", tag = "administration",
    params(("shop_id" = String, Path, description = "The shop")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The shop's prices over the base price", body = Vec<ShopPriceView>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn shop_prices(
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
    caller: Caller,
) -> Result<Json<Vec<ShopPriceView>>, Failure> {
    admin(&state, caller)?;
    let mut out = Vec::new();
    let mut page = Page::first();
    loop {
        let entries = state.store.live_entries(kinds::PRICE, &page).await?;
        let last = entries.last().map(|e| (e.key.clone(), e.shop_id.clone()));
        let full = entries.len() as u32 == page.limit;
        out.extend(
            entries
                .into_iter()
                .filter(|e| e.shop_id == shop_id)
                .filter_map(|e| serde_json::from_value(e.data).ok()),
        );
        match last {
            Some(last) if full => page.after = Some(last),
            _ => return Ok(Json(out)),
        }
    }
}

/// The body of `PUT .../prices/{product_id}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPrice {
    /// Including VAT, with a dot: `19.90`.
    #[schema(value_type = String)]
    pub price: Money,
}

#[utoipa::path(put, path = "/api/v1/admin/shops/{shop_id}/prices/{product_id}", tag = "administration",
    params(("shop_id" = String, Path, description = "The shop"), ("product_id" = String, Path, description = "The product")),
    request_body = SetPrice, security(("bearer" = [])),
    responses(
        (status = 200, description = "The shop's tills sell it at this price", body = Changed),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such shop", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn set_price(
    State(state): State<AppState>,
    Path((shop_id, product_id)): Path<(String, String)>,
    caller: Caller,
    JsonBody(body): JsonBody<SetPrice>,
) -> Result<Json<Changed>, Failure> {
    let changed = admin(&state, caller)?
        .set_prices(&shop_id, vec![(product_id, Some(body.price))])
        .await?;
    Ok(Json(Changed { changed }))
}

#[utoipa::path(delete, path = "/api/v1/admin/shops/{shop_id}/prices/{product_id}", tag = "administration",
    params(("shop_id" = String, Path, description = "The shop"), ("product_id" = String, Path, description = "The product")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The base price applies again in the shop", body = Changed),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such shop", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn remove_price(
    State(state): State<AppState>,
    Path((shop_id, product_id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Json<Changed>, Failure> {
    let changed = admin(&state, caller)?
        .set_prices(&shop_id, vec![(product_id, None)])
        .await?;
    Ok(Json(Changed { changed }))
}

#[utoipa::path(get, path = "/api/v1/admin/promotions", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Live promotions with where each applies", body = Vec<ScopedPromotion>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn list_promotions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ScopedPromotion>>, Failure> {
    Ok(Json(admin(&state, caller)?.promotions().await?))
}

/// The body of `POST /api/v1/admin/promotions`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPromotion {
    /// Only this shop (absent: every shop).
    #[serde(default)]
    pub shop: Option<String>,
    /// `{id, label, starts, ends, products, categories, benefit: {percent_off} | {amount_off_each}}`.
    #[schema(value_type = Object)]
    pub promotion: Promotion,
}

#[utoipa::path(post, path = "/api/v1/admin/promotions", tag = "administration",
    request_body = SetPromotion, security(("bearer" = [])),
    responses(
        (status = 200, description = "Created or replaced; the tills apply it from their next sync", body = ScopedPromotion),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "The id is live for another scope", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn set_promotion(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<SetPromotion>,
) -> Result<Json<ScopedPromotion>, Failure> {
    let admin = admin(&state, caller)?;
    let shop = admin
        .set_promotion(body.promotion.clone(), body.shop.as_deref())
        .await?;
    Ok(Json(ScopedPromotion {
        shop,
        promotion: body.promotion,
    }))
}

/// `DELETE /api/v1/admin/promotions/{promotion_id}` parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PromotionScope {
    /// The shop it was set for (absent: every shop).
    shop: Option<String>,
}

#[utoipa::path(delete, path = "/api/v1/admin/promotions/{promotion_id}", tag = "administration",
    params(("promotion_id" = String, Path, description = "The promotion"), PromotionScope),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Withdrawn from the tills at their next sync"),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such promotion for that scope", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn remove_promotion(
    State(state): State<AppState>,
    Path(promotion_id): Path<String>,
    caller: Caller,
    QueryParams(query): QueryParams<PromotionScope>,
) -> Result<StatusCode, Failure> {
    admin(&state, caller)?
        .remove_promotion(&promotion_id, query.shop.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `PUT /api/v1/admin/vat`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVat {
    /// `metropole`, `corsica`, `guadeloupe`, `martinique`, `reunion`, `guyane`, `mayotte`.
    #[schema(value_type = String)]
    pub territory: Territory,
    /// `standard`, `intermediate`, `reduced`, `super_reduced`, `exempt`.
    #[schema(value_type = String)]
    pub code: VatCode,
    /// In percent: `20`, `5.5`.
    #[schema(value_type = String)]
    pub rate: VatRate,
    /// The first day it applies (YYYY-MM-DD), in each shop's time zone.
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Removes the rate set for that day instead (the earlier or built-in one applies again).
    #[serde(default)]
    pub remove: bool,
}

#[utoipa::path(put, path = "/api/v1/admin/vat", tag = "administration",
    request_body = SetVat, security(("bearer" = [])),
    responses(
        (status = 200, description = "Sent ahead to every shop of the territory", body = Changed),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn set_vat(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<SetVat>,
) -> Result<Json<Changed>, Failure> {
    let entry = VatRateEntry {
        code: body.code,
        rate: body.rate,
        valid_from: body.from,
    };
    let changed = admin(&state, caller)?
        .set_vat_rate(body.territory, entry, !body.remove)
        .await?;
    Ok(Json(Changed { changed }))
}

/// The body of `PUT /api/v1/admin/tenders`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTender {
    /// One shop (absent: every shop there is now).
    #[serde(default)]
    pub shop: Option<String>,
    /// `cash`, `card`, `gift_card`, `voucher`, `cheque`, `store_credit`.
    #[schema(value_type = String)]
    pub kind: TenderKind,
    /// Whether the shop takes it as payment (default true).
    #[serde(default = "yes")]
    pub accepted: bool,
    /// The name shown at the till.
    #[serde(default)]
    pub label: Option<String>,
    /// The most one ticket may take in it, including VAT: `25.00`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub max_amount: Option<Money>,
    /// Back to the default (accepted, usual label, no limit) instead.
    #[serde(default)]
    pub reset: bool,
}

fn yes() -> bool {
    true
}

/// Where a rule went.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct RuleShops {
    pub shops: Vec<String>,
}

#[utoipa::path(put, path = "/api/v1/admin/tenders", tag = "administration",
    request_body = SetTender, security(("bearer" = [])),
    responses(
        (status = 200, description = "The shops it went to", body = RuleShops),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such shop", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn set_tender(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<SetTender>,
) -> Result<Json<RuleShops>, Failure> {
    let rule = (!body.reset).then(|| TenderType {
        kind: body.kind,
        accepted: body.accepted,
        label: body.label.clone(),
        max_amount: body.max_amount,
    });
    let shops = admin(&state, caller)?
        .set_tender(body.shop.as_deref(), body.kind, rule)
        .await?;
    Ok(Json(RuleShops { shops }))
}

#[utoipa::path(get, path = "/api/v1/admin/entities", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Legal entities", body = Vec<Object>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn list_entities(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<LegalEntity>>, Failure> {
    admin(&state, caller)?;
    Ok(Json(state.store.entities().await?))
}

#[utoipa::path(post, path = "/api/v1/admin/entities", tag = "administration",
    request_body = Object, security(("bearer" = [])),
    responses(
        (status = 200, description = "Created: `{id, name, siren, fiscal_year_start_month}` (an empty id is a slug of the name)", body = Object),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "The id is taken", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn create_entity(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(entity): JsonBody<LegalEntity>,
) -> Result<Json<LegalEntity>, Failure> {
    Ok(Json(admin(&state, caller)?.create_entity(entity).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/regions", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Regions", body = Vec<Object>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn list_regions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Region>>, Failure> {
    admin(&state, caller)?;
    Ok(Json(state.store.regions().await?))
}

/// The body of `POST /api/v1/admin/regions`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegion {
    /// Defaults to a slug of the name.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/admin/regions", tag = "administration",
    request_body = NewRegion, security(("bearer" = [])),
    responses(
        (status = 200, description = "Created", body = Object),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "The id is taken", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn create_region(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewRegion>,
) -> Result<Json<Region>, Failure> {
    Ok(Json(
        admin(&state, caller)?
            .create_region(body.id, &body.name)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/admin/shops", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Shops", body = Vec<Object>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn list_shops(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Shop>>, Failure> {
    admin(&state, caller)?;
    Ok(Json(state.store.shops().await?))
}

#[utoipa::path(post, path = "/api/v1/admin/shops", tag = "administration",
    request_body = Object, security(("bearer" = [])),
    responses(
        (status = 200, description = "Created: `{id, entity_id, name, territory, timezone, address, region_id}` (an empty id is a slug of the name)", body = Object),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "The id is taken, or the entity or region is unknown", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn create_shop(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(shop): JsonBody<Shop>,
) -> Result<Json<Shop>, Failure> {
    Ok(Json(admin(&state, caller)?.create_shop(shop).await?))
}

/// The body of `PUT /api/v1/admin/shops/{shop_id}/region`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopRegion {
    /// The region (null: none).
    pub region: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/admin/shops/{shop_id}/region", tag = "administration",
    params(("shop_id" = String, Path, description = "The shop")),
    request_body = ShopRegion, security(("bearer" = [])),
    responses(
        (status = 204, description = "The shop is in that region (its history moves with it)"),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such shop", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "No such region", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn set_shop_region(
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
    caller: Caller,
    JsonBody(body): JsonBody<ShopRegion>,
) -> Result<StatusCode, Failure> {
    admin(&state, caller)?
        .set_shop_region(&shop_id, body.region.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/admin/tills", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every till, enrolled or not", body = Vec<Object>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn list_tills(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TillInfo>>, Failure> {
    admin(&state, caller)?;
    Ok(Json(state.store.tills().await?))
}

/// The body of `POST /api/v1/admin/tills`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTillRequest {
    pub shop: String,
    pub name: String,
    /// Defaults to `SHOP-<slug of the name>`.
    #[serde(default)]
    pub id: Option<String>,
    /// Hours the code stays valid: 1 to 720, default 72.
    #[serde(default)]
    pub expires_hours: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/admin/tills", tag = "administration",
    request_body = NewTillRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Created, with its one-time enrollment code (shown this once)", body = EnrollmentCode),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such shop", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "The id is taken", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn create_till(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewTillRequest>,
) -> Result<Json<EnrollmentCode>, Failure> {
    let hours = body.expires_hours.unwrap_or(CODE_HOURS);
    Ok(Json(
        admin(&state, caller)?
            .create_till(&body.shop, &body.name, body.id, hours)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/admin/tills/{till_id}/code", tag = "administration",
    params(("till_id" = String, Path, description = "The till")), security(("bearer" = [])),
    responses(
        (status = 200, description = "A new one-time code (valid 72 hours, shown this once); the till's current token stops working", body = EnrollmentCode),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such till", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn till_code(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
) -> Result<Json<EnrollmentCode>, Failure> {
    Ok(Json(
        admin(&state, caller)?
            .new_till_code(&till_id, CODE_HOURS)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/admin/tills/{till_id}/revoke", tag = "administration",
    params(("till_id" = String, Path, description = "The till")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Its token and pending code stop working; its records stay"),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such till", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn revoke_till(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
) -> Result<StatusCode, Failure> {
    admin(&state, caller)?.revoke_till(&till_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/admin/shops/{shop_id}/staff", tag = "administration",
    params(("shop_id" = String, Path, description = "The shop")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The shop's staff (never their PIN)", body = Vec<StaffView>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn list_staff(
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
    caller: Caller,
) -> Result<Json<Vec<StaffView>>, Failure> {
    Ok(Json(admin(&state, caller)?.staff(&shop_id).await?))
}

/// The body of `PUT .../staff/{staff_id}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutStaff {
    pub name: String,
    /// `cashier` or `manager`.
    pub role: String,
    /// 4 to 8 digits; only its Argon2 hash is kept.
    pub pin: String,
}

#[utoipa::path(put, path = "/api/v1/admin/shops/{shop_id}/staff/{staff_id}", tag = "administration",
    params(("shop_id" = String, Path, description = "The shop"), ("staff_id" = String, Path, description = "The staff member")),
    request_body = PutStaff, security(("bearer" = [])),
    responses(
        (status = 200, description = "Added or replaced; the tills have them from their next sync", body = StaffView),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such shop", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn put_staff(
    State(state): State<AppState>,
    Path((shop_id, staff_id)): Path<(String, String)>,
    caller: Caller,
    JsonBody(body): JsonBody<PutStaff>,
) -> Result<Json<StaffView>, Failure> {
    let admin = admin(&state, caller)?;
    let role = staff_role(&body.role)?;
    Ok(Json(
        admin
            .add_staff(&shop_id, Some(staff_id), &body.name, role, &body.pin)
            .await?,
    ))
}

/// The body of `POST .../staff/{staff_id}/pin`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPin {
    /// 4 to 8 digits.
    pub pin: String,
}

#[utoipa::path(post, path = "/api/v1/admin/shops/{shop_id}/staff/{staff_id}/pin", tag = "administration",
    params(("shop_id" = String, Path, description = "The shop"), ("staff_id" = String, Path, description = "The staff member")),
    request_body = NewPin, security(("bearer" = [])),
    responses(
        (status = 204, description = "The new PIN works at the shop's tills from their next sync"),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such staff member", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn reset_pin(
    State(state): State<AppState>,
    Path((shop_id, staff_id)): Path<(String, String)>,
    caller: Caller,
    JsonBody(body): JsonBody<NewPin>,
) -> Result<StatusCode, Failure> {
    admin(&state, caller)?
        .reset_staff_pin(&shop_id, &staff_id, &body.pin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/admin/shops/{shop_id}/staff/{staff_id}", tag = "administration",
    params(("shop_id" = String, Path, description = "The shop"), ("staff_id" = String, Path, description = "The staff member")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Removed: the tills deactivate them at their next sync", body = Changed),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn remove_staff(
    State(state): State<AppState>,
    Path((shop_id, staff_id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Json<Changed>, Failure> {
    let changed = admin(&state, caller)?
        .remove_staff(&shop_id, &staff_id)
        .await?;
    Ok(Json(Changed { changed }))
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Head-office users, their roles, and whether they are disabled", body = Vec<UserAccount>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserAccount>>, Failure> {
    admin(&state, caller)?;
    Ok(Json(state.store.users().await?))
}

/// The body of `POST /api/v1/admin/users`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Defaults to a slug of the name.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    pub role: Role,
    /// The shop of a shop manager.
    #[serde(default)]
    pub shop: Option<String>,
    /// The region of a regional manager.
    #[serde(default)]
    pub region: Option<String>,
    /// Days the first API token works: 1 to 3650, default 90.
    #[serde(default)]
    pub token_days: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "administration",
    request_body = NewUser, security(("bearer" = [])),
    responses(
        (status = 200, description = "Created, with their first API token (shown this once)", body = CreatedUser),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such shop or region", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "The id is taken", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "A shop missing for a shop manager or given to another role, a region likewise, no name, or token days out of 1 to 3650", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewUser>,
) -> Result<Json<CreatedUser>, Failure> {
    let user = User {
        id: body.id.unwrap_or_default(),
        name: body.name,
        role: body.role,
        shop_id: body.shop,
        region_id: body.region,
    };
    let days = body.token_days.unwrap_or(crate::store::USER_TOKEN_DAYS);
    Ok(Json(admin(&state, caller)?.create_user(user, days).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{user_id}/revoke", tag = "administration",
    params(("user_id" = String, Path, description = "The user")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Every API token and session of the user ended"),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such user", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn revoke_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    caller: Caller,
) -> Result<StatusCode, Failure> {
    admin(&state, caller)?.revoke_user(&user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `PUT /api/v1/admin/users/{user_id}/role`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRole {
    pub role: Role,
    /// The shop of a shop manager (and only of one).
    #[serde(default)]
    pub shop: Option<String>,
    /// The region of a regional manager (and only of one).
    #[serde(default)]
    pub region: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/admin/users/{user_id}/role", tag = "administration",
    params(("user_id" = String, Path, description = "The user")),
    request_body = UserRole, security(("bearer" = [])),
    responses(
        (status = 200, description = "The user has this role and scope; unless both stayed the same, their sessions and API tokens ended (they log in again)", body = AccessChanged),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such user, shop or region", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "They are the last active admin: make another user admin first", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "A shop missing for a shop manager or given to another role, a region likewise", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn set_user_role(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    caller: Caller,
    JsonBody(body): JsonBody<UserRole>,
) -> Result<Json<AccessChanged>, Failure> {
    Ok(Json(
        admin(&state, caller)?
            .set_user_role(&user_id, body.role, body.shop, body.region)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{user_id}/disable", tag = "administration",
    params(("user_id" = String, Path, description = "The user")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Disabled: their sessions and API tokens ended, they cannot log in", body = AccessChanged),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such user", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "They are the last active admin: make another user admin first", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn disable_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    caller: Caller,
) -> Result<Json<AccessChanged>, Failure> {
    Ok(Json(
        admin(&state, caller)?
            .set_user_disabled(&user_id, true)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{user_id}/enable", tag = "administration",
    params(("user_id" = String, Path, description = "The user")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Enabled again: they log in with their password (their old tokens stay ended)", body = AccessChanged),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such user", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn enable_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    caller: Caller,
) -> Result<Json<AccessChanged>, Failure> {
    Ok(Json(
        admin(&state, caller)?
            .set_user_disabled(&user_id, false)
            .await?,
    ))
}
