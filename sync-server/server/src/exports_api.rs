//! Downloads from the head-office app: the period screen's tables as CSV or XLSX, and the
//! accountants' files of a legal entity's fiscal year (FEC, hledger).
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /api/v1/hq/exports/sales?by&from&to[&compare=previous][&shop\|&region]&format=csv\|xlsx` | any head-office user, scoped as `GET /api/v1/hq/sales` | that answer's rows as a file, the same figures |
//! | `GET /api/v1/hq/exports/entities` | admins and accountants | the legal entities and the month their fiscal year starts |
//! | `GET /api/v1/hq/exports/hledger?entity&year` | admins and accountants | the entity's fiscal year as an hledger journal |
//!
//! The FEC is `GET /api/v1/hq/exports/fec` (in [`crate::api`]); both read the entries of
//! [`crate::accounting_export`], like `sync-server admin accounting`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use pos_domain::wire::codes;
use pos_hq_core::accounting::fiscal_year;
use serde::{Deserialize, Serialize};

use crate::accounting_export::{self, ExportError};
use crate::api::{AppState, Caller, Failure, QueryParams};
use crate::commissions_api::{file_format, render_failure};
use crate::sales_api::{SalesAnswer, hq_sales};
use crate::spreadsheet::{self, Cell, Table};
use crate::store::{Role, SalesQuery, User};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hq/exports/sales", get(sales))
        .route("/api/v1/hq/exports/entities", get(entities))
        .route("/api/v1/hq/exports/hledger", get(hledger))
}

/// The `format` of an export (the other parameters are the sales query's).
#[derive(Deserialize, Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `csv` or `xlsx`.
    pub format: String,
}

/// A sales answer as a table: the key, the figures, and with a comparison the previous
/// period's amount and the difference.
pub fn sales_table(answer: &SalesAnswer) -> Table {
    let compared = answer.comparison.is_some();
    let mut columns = vec![
        answer.by.clone(),
        "tickets".into(),
        "quantity".into(),
        "amount".into(),
        "excluding_vat".into(),
    ];
    if compared {
        columns.extend(["previous_amount".into(), "difference_amount".into()]);
    }
    let rows = answer
        .rows
        .iter()
        .map(|r| {
            let mut row: Vec<Cell> = vec![
                r.key.as_str().into(),
                r.tickets.into(),
                r.quantity.into(),
                r.amount.into(),
                r.excluding_vat.into(),
            ];
            if compared {
                let previous = r.previous.map(|p| p.amount).unwrap_or_default();
                row.push(previous.into());
                row.push((r.amount - previous).into());
            }
            row
        })
        .collect();
    Table {
        name: answer.by.chars().take(31).collect(),
        columns,
        rows,
    }
}

#[utoipa::path(get, path = "/api/v1/hq/exports/sales", tag = "head office",
    params(SalesQuery, FormatQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rows of `GET /api/v1/hq/sales` for the same query as a CSV or XLSX attachment (with `compare=previous`, the previous amount and the difference too)", content((String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "No `format=csv|xlsx`, or a bad sales query", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A shop or region outside the user's scope", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn sales(
    state: State<AppState>,
    caller: Caller,
    QueryParams(format): QueryParams<FormatQuery>,
    query: QueryParams<SalesQuery>,
) -> Result<Response, Failure> {
    let format = file_format(Some(&format.format))?;
    let (from, to) = (query.0.from.clone(), query.0.to.clone());
    let Json(answer) = hq_sales(state, caller, query).await?;
    let stem = format!(
        "ventes-{}-{}-{}",
        answer.by,
        from.as_deref().unwrap_or("debut"),
        to.as_deref().unwrap_or("fin")
    );
    spreadsheet::download(format, &stem, &[sales_table(&answer)]).map_err(render_failure)
}

fn accountant(caller: Caller) -> Result<User, Failure> {
    let user = caller.user()?;
    if !matches!(user.role, Role::Admin | Role::Accountant) {
        return Err(Failure::forbidden(
            "accounting exports cover every shop of an entity: only admins and accountants read them",
        ));
    }
    Ok(user)
}

/// A legal entity as the exports screen lists it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct EntityInfo {
    pub id: String,
    pub name: String,
    pub siren: String,
    /// Month (1-12) its fiscal year starts.
    pub fiscal_year_start_month: u32,
}

#[utoipa::path(get, path = "/api/v1/hq/exports/entities", tag = "head office",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The legal entities: id, name, SIREN and the month their fiscal year starts", body = [Object]),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Neither admin nor accountant", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn entities(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<EntityInfo>>, Failure> {
    accountant(caller)?;
    Ok(Json(
        state
            .store
            .entities()
            .await?
            .into_iter()
            .map(|e| EntityInfo {
                id: e.id,
                name: e.name,
                siren: e.siren,
                fiscal_year_start_month: e.fiscal_year_start_month,
            })
            .collect(),
    ))
}

/// `GET /api/v1/hq/exports/hledger` parameters.
#[derive(Deserialize, Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The legal entity's id.
    pub entity: String,
    /// The year the fiscal year starts in.
    pub year: i32,
}

#[utoipa::path(get, path = "/api/v1/hq/exports/hledger", tag = "head office",
    params(YearQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The entity's fiscal year as an hledger journal, as an attachment", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 400, description = "No such fiscal year", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Neither admin nor accountant", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "Unknown entity", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hledger(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<YearQuery>,
) -> Result<Response, Failure> {
    accountant(caller)?;
    let entity = state
        .store
        .entities()
        .await?
        .into_iter()
        .find(|e| e.id == query.entity)
        .ok_or_else(|| export_failure(ExportError::UnknownEntity(query.entity.clone())))?;
    let (first, last) =
        fiscal_year(entity.fiscal_year_start_month, query.year).ok_or_else(|| {
            export_failure(ExportError::BadRequest(format!(
                "no fiscal year {}",
                query.year
            )))
        })?;
    let journal = accounting_export::hledger_export(state.store.as_ref(), &entity.id, first, last)
        .await
        .map_err(export_failure)?;
    let name = format!("{}-{}.journal", entity.siren, query.year);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        journal,
    )
        .into_response())
}

/// An accounting export's failure as an answer.
pub fn export_failure(e: ExportError) -> Failure {
    match e {
        ExportError::UnknownEntity(_) => {
            Failure::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, e.to_string())
        }
        ExportError::BadRequest(m) => {
            Failure::new(StatusCode::BAD_REQUEST, codes::QUERY_INVALID, m)
        }
        ExportError::Store(e) => Failure::from(e),
        ExportError::Render(e) => Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::JSON_INVALID,
            e.to_string(),
        ),
    }
}
