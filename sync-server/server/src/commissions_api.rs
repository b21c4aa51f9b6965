//! Seller commissions at head office: the plan admins set, and a month's commissions per shop
//! and seller with their lines, as JSON or as a payroll file (CSV, XLSX). The rules are
//! [`pos_hq_core::commissions`]'; this module reads a month's tickets of the shops asked and
//! which sellers are staff of their shop, and is called alike by the routes and by
//! `sync-server admin commission`.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /api/v1/hq/commissions?month=YYYY-MM[&shop\|&region]` | any head-office user, scoped as the sales API ([`crate::scope`]) | the month's report |
//! | `GET /api/v1/hq/commissions/export?month&format=csv\|xlsx[&shop\|&region]` | same | the payroll file: one row per seller and shop; the XLSX adds a sheet of lines |
//! | `GET /api/v1/hq/commissions/plan` | any head-office user | the rates in force |
//! | `PUT /api/v1/hq/commissions/plan` | admin | sets a rate `{target, key, percent}` |
//! | `DELETE /api/v1/hq/commissions/plan?target&key` | admin | removes a rate |
//!
//! A month is the shop's local calendar month (its time zone), like the sales rollups' days.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use pos_domain::record::timestamp;
use pos_domain::wire::codes;
use pos_domain::wire::kinds;
use pos_hq_core::commissions::{self, Plan, Rate, RateTarget, Report};
use serde::Deserialize;

use crate::api::{AppState, Caller, Failure, JsonBody, QueryParams};
use crate::scope::scope;
use crate::spreadsheet::{self, Cell, FileFormat, Table};
use crate::store::commissions::StoredRate;
use crate::store::returns::stored_ticket;
use crate::store::{RecordCursor, Role, Shop, Store, StoreError};
use crate::tickets_api::day_bounds;

/// Tickets read per storage call.
const PAGE: u32 = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hq/commissions", get(month))
        .route("/api/v1/hq/commissions/export", get(export))
        .route(
            "/api/v1/hq/commissions/plan",
            get(plan).put(set_plan_rate).delete(remove_plan_rate),
        )
}

/// Why a commission request failed.
#[derive(Debug, thiserror::Error)]
pub enum CommissionError {
    #[error("`{0}` is not a month: write it YYYY-MM, e.g. 2026-11")]
    Month(String),
    #[error(transparent)]
    Rate(#[from] commissions::RateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CommissionError> for Failure {
    fn from(e: CommissionError) -> Failure {
        match e {
            CommissionError::Month(_) => {
                Failure::new(StatusCode::BAD_REQUEST, codes::QUERY_INVALID, e.to_string())
            }
            CommissionError::Rate(_) => Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::INVALID,
                e.to_string(),
            ),
            CommissionError::Store(e) => Failure::from(e),
        }
    }
}

/// The first day of `YYYY-MM` and of the month after.
pub fn month_days(month: &str) -> Result<(NaiveDate, NaiveDate), CommissionError> {
    let bad = || CommissionError::Month(month.to_string());
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| bad())?;
    if month.len() != 7 {
        return Err(bad());
    }
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(bad)?;
    Ok((first, next))
}

/// Sets a rate of the plan, checked first; `by` is the user or admin command that set it.
pub async fn set_rate(store: &dyn Store, rate: &Rate, by: &str) -> Result<(), CommissionError> {
    commissions::check_rate(rate)?;
    let at = timestamp::format(&Utc::now());
    store.set_commission_rate(rate, by, &at).await?;
    Ok(())
}

/// The commissions of `month` in `shops`, under the plan in force.
pub async fn month_report(
    store: &dyn Store,
    shops: &[Shop],
    month: &str,
) -> Result<Report, CommissionError> {
    let (first, next) = month_days(month)?;
    let rates: Vec<Rate> = store
        .commission_rates()
        .await?
        .into_iter()
        .map(|r| r.rate)
        .collect();
    let plan = Plan::new(&rates);
    let mut lines = Vec::new();
    let mut without_seller = pos_domain::Money::ZERO;
    for shop in shops {
        let tz: Tz = shop.timezone.parse().unwrap_or(Tz::UTC);
        let (Some((from, _)), Some((to, _))) = (day_bounds(first, tz), day_bounds(next, tz)) else {
            return Err(CommissionError::Month(month.to_string()));
        };
        let mut after: Option<RecordCursor> = None;
        loop {
            let page = store
                .ticket_records(&shop.id, &from, &to, after.as_ref(), PAGE)
                .await?;
            for record in &page {
                let ticket = stored_ticket(&record.body)?;
                let place = commissions::TicketPlace {
                    shop: record.shop_id.clone(),
                    till: record.till_id.clone(),
                    number: record.seq,
                    at: record.at.clone(),
                };
                let (mut of_ticket, no_seller) = commissions::ticket_lines(&ticket, &place, &plan);
                lines.append(&mut of_ticket);
                without_seller += no_seller;
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => {
                    after = Some(RecordCursor {
                        at: last.at.clone(),
                        till_id: last.till_id.clone(),
                        seq: last.seq,
                    })
                }
                _ => break,
            }
        }
    }
    let staff = staff_of(store, &lines).await?;
    Ok(commissions::report(
        month,
        lines,
        without_seller,
        |shop, seller| staff.contains(&(shop.to_string(), seller.to_string())),
    ))
}

/// The (shop, seller) pairs of `lines` whose seller is a live staff member of the shop.
async fn staff_of(
    store: &dyn Store,
    lines: &[commissions::CommissionLine],
) -> Result<std::collections::BTreeSet<(String, String)>, StoreError> {
    let pairs: std::collections::BTreeSet<(String, String)> = lines
        .iter()
        .map(|l| (l.shop.clone(), l.seller.clone()))
        .collect();
    let mut staff = std::collections::BTreeSet::new();
    let sellers: std::collections::BTreeSet<&String> = pairs.iter().map(|(_, s)| s).collect();
    for seller in sellers {
        let scopes = store.live_scopes(kinds::STAFF, seller).await?;
        for (shop, s) in pairs.iter().filter(|(_, s)| s == seller) {
            if scopes.iter().any(|scope| scope == shop) {
                staff.insert((shop.clone(), s.clone()));
            }
        }
    }
    Ok(staff)
}

/// The payroll tables of a report: one row per seller and shop (the sellers who are not staff
/// of the shop listed with status `not_staff`, and their would-be amount in no total), then
/// every line.
pub fn payroll_tables(report: &Report) -> Vec<Table> {
    let columns = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
    let mut sellers = Table {
        name: "Commissions".into(),
        columns: columns(&[
            "month",
            "shop",
            "seller",
            "status",
            "base_excl_vat",
            "earned",
            "clawed_back",
            "commission",
        ]),
        rows: Vec::new(),
    };
    let mut lines = Table {
        name: "Lignes".into(),
        columns: columns(&[
            "shop",
            "seller",
            "till",
            "ticket",
            "line",
            "at",
            "kind",
            "product",
            "label",
            "category",
            "quantity",
            "base_excl_vat",
            "percent",
            "commission",
        ]),
        rows: Vec::new(),
    };
    let known = report.sellers.iter().map(|s| (s, "staff"));
    let unknown = report.unknown_sellers.iter().map(|s| (s, "not_staff"));
    for (seller, status) in known.chain(unknown) {
        sellers.rows.push(vec![
            report.month.as_str().into(),
            seller.shop.as_str().into(),
            seller.seller.as_str().into(),
            status.into(),
            seller.base.into(),
            seller.earned.into(),
            seller.clawed_back.into(),
            seller.commission.into(),
        ]);
        for l in &seller.lines {
            lines.rows.push(vec![
                l.shop.as_str().into(),
                l.seller.as_str().into(),
                l.till.as_str().into(),
                Cell::Count(l.ticket as i64),
                Cell::Count(i64::from(l.line)),
                l.at.as_str().into(),
                l.kind.as_str().into(),
                l.product_id.as_str().into(),
                l.label.as_str().into(),
                l.category.as_str().into(),
                l.quantity.into(),
                l.base.into(),
                l.percent.normalize().to_string().into(),
                l.commission.into(),
            ]);
        }
    }
    vec![sellers, lines]
}

/// `GET /api/v1/hq/commissions` parameters.
#[derive(Deserialize, Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// The shops' local month, `YYYY-MM`.
    pub month: String,
    /// Only this shop.
    pub shop: Option<String>,
    /// Only the shops of this region.
    pub region: Option<String>,
}

/// The shops of the query the caller may see.
async fn shops_asked(
    state: &AppState,
    caller: Caller,
    query: &MonthQuery,
) -> Result<Vec<Shop>, Failure> {
    let user = caller.user()?;
    let scoped = scope(
        state.store.as_ref(),
        &user,
        query.shop.clone(),
        query.region.clone(),
    )
    .await?;
    Ok(state
        .store
        .shops()
        .await?
        .into_iter()
        .filter(|s| scoped.contains(&s.id))
        .collect())
}

#[utoipa::path(get, path = "/api/v1/hq/commissions", tag = "head office",
    params(MonthQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`Report`: per shop and seller the base, what was earned, what returns clawed back and the commission, with the lines; the sellers not on their shop's staff apart (in no total); the base of lines without seller", body = Object),
        (status = 400, description = "A month not written YYYY-MM", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A shop or region outside the user's scope", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn month(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<MonthQuery>,
) -> Result<Json<Report>, Failure> {
    let shops = shops_asked(&state, caller, &query).await?;
    Ok(Json(
        month_report(state.store.as_ref(), &shops, &query.month).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/hq/commissions/export", tag = "head office",
    params(MonthQuery, crate::exports_api::FormatQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The payroll file `commissions-YYYY-MM.csv` (one row per shop and seller, `status` `staff` or `not_staff`) or `.xlsx` (the same, and a sheet of lines), as an attachment", content((String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "A month not written YYYY-MM, or no `format=csv|xlsx`", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A shop or region outside the user's scope", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn export(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<MonthQuery>,
    QueryParams(format): QueryParams<crate::exports_api::FormatQuery>,
) -> Result<Response, Failure> {
    let format = file_format(Some(&format.format))?;
    let shops = shops_asked(&state, caller, &query).await?;
    let report = month_report(state.store.as_ref(), &shops, &query.month).await?;
    let stem = format!("commissions-{}", report.month);
    spreadsheet::download(format, &stem, &payroll_tables(&report)).map_err(render_failure)
}

/// The download format asked (`csv` or `xlsx`).
pub(crate) fn file_format(format: Option<&str>) -> Result<FileFormat, Failure> {
    format.and_then(FileFormat::parse).ok_or_else(|| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            codes::QUERY_INVALID,
            "say which file to make: format=csv or format=xlsx",
        )
    })
}

pub(crate) fn render_failure(e: spreadsheet::RenderError) -> Failure {
    tracing::error!("export: {e}");
    Failure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        codes::INTERNAL,
        "the file could not be written: try again, and tell the server's operator if it persists",
    )
}

#[utoipa::path(get, path = "/api/v1/hq/commissions/plan", tag = "head office",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rates in force: `target` (`category` or `product`), `key`, `percent`, who set it and when", body = [Object]),
        (status = 403, description = "A till, or the logistics role", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn plan(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<StoredRate>>, Failure> {
    if caller.user()?.role == Role::Logistics {
        return Err(Failure::forbidden(
            "the logistics role reads stock levels, shipping notices and replenishment only",
        ));
    }
    Ok(Json(state.store.commission_rates().await?))
}

fn plan_admin(caller: Caller) -> Result<crate::store::User, Failure> {
    let user = caller.user()?;
    if user.role != Role::Admin {
        return Err(Failure::forbidden(
            "commission plans are head office's to set: only admins change them",
        ));
    }
    Ok(user)
}

#[utoipa::path(put, path = "/api/v1/hq/commissions/plan", tag = "head office",
    request_body(content = crate::openapi::CommissionRateDoc),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Set; the rates in force", body = [Object]),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "A percent beyond 0..100 or an empty key", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn set_plan_rate(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(rate): JsonBody<Rate>,
) -> Result<Json<Vec<StoredRate>>, Failure> {
    let user = plan_admin(caller)?;
    set_rate(state.store.as_ref(), &rate, &user.id).await?;
    Ok(Json(state.store.commission_rates().await?))
}

/// `DELETE /api/v1/hq/commissions/plan` parameters.
#[derive(Deserialize, Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RateKey {
    /// `category` or `product`.
    #[param(value_type = String)]
    pub target: RateTarget,
    /// The category name or the product id.
    pub key: String,
}

#[utoipa::path(delete, path = "/api/v1/hq/commissions/plan", tag = "head office",
    params(RateKey),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such rate", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn remove_plan_rate(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(rate): QueryParams<RateKey>,
) -> Result<StatusCode, Failure> {
    plan_admin(caller)?;
    if state
        .store
        .remove_commission_rate(rate.target, &rate.key)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Failure::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!(
                "the plan has no rate for {} `{}`",
                rate.target.name(),
                rate.key
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_written_yyyy_mm_and_december_ends_in_january() {
        let (first, next) = month_days("2026-12").unwrap();
        assert_eq!(
            (first.to_string(), next.to_string()),
            ("2026-12-01".into(), "2027-01-01".into())
        );
        assert!(month_days("2026-13").is_err(), "no 13th month");
        assert!(month_days("2026-1").is_err(), "two digits for the month");
        assert!(month_days("2026-11-03").is_err(), "a day is not a month");
    }
}
