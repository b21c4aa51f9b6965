//! `GET /api/v1/hq/sales`: consolidated sales from the rollups, by shop, region, day, product,
//! category, seller or tender, for the shops the user may see (see [`crate::scope`]), and with
//! `compare=previous` the same figures for the previous period and the difference.
//!
//! The previous period has as many days as `from..=to` and ends the day before `from`. Both
//! periods are read from the same rollups with the same shops, so each period's total equals
//! the sum of its tickets; a row present in only one period counts zero in the other. By day,
//! each day is compared with its counterpart, the day as many days earlier as the period is
//! long (the rows are the days of the period asked).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use pos_domain::Money;
use pos_domain::wire::codes;
use serde::{Deserialize, Serialize};

use crate::api::{AppState, Caller, Failure, QueryParams};
use crate::scope::scope;
use crate::store::{SalesQuery, SalesRow};

/// The figures of a row or a period. Amounts are decimal strings.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default, utoipa::ToSchema)]
pub struct SalesFigures {
    pub tickets: i64,
    pub quantity: i64,
    #[schema(value_type = String, example = "12.50")]
    pub amount: Money,
    #[schema(value_type = String, example = "10.42")]
    pub excluding_vat: Money,
}

impl SalesFigures {
    fn of(row: &SalesRow) -> SalesFigures {
        SalesFigures {
            tickets: row.tickets,
            quantity: row.quantity,
            amount: Money::from_cents(row.amount_cents),
            excluding_vat: Money::from_cents(row.excluding_vat_cents),
        }
    }

    /// `self - earlier`, figure by figure.
    fn minus(self, earlier: SalesFigures) -> SalesFigures {
        SalesFigures {
            tickets: self.tickets - earlier.tickets,
            quantity: self.quantity - earlier.quantity,
            amount: self.amount - earlier.amount,
            excluding_vat: self.excluding_vat - earlier.excluding_vat,
        }
    }
}

/// A consolidated sales row as the API shows it: amounts as decimal strings.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct SalesLine {
    /// The shop, region (`(none)` for shops without one), day, product, category, seller (`-`
    /// for none) or tender.
    pub key: String,
    pub tickets: i64,
    pub quantity: i64,
    #[schema(value_type = String, example = "12.50")]
    pub amount: Money,
    #[schema(value_type = String, example = "10.42")]
    pub excluding_vat: Money,
    /// With `compare=previous`: this key's figures in the previous period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<SalesFigures>,
    /// With `compare=previous`: this period's figures minus the previous period's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difference: Option<SalesFigures>,
}

/// The previous period and its totals, with `compare=previous`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct Comparison {
    /// First day of the previous period (`YYYY-MM-DD`): as many days before `from` as the
    /// period `from..=to` has.
    pub from: String,
    /// Last day of the previous period: the day before `from`.
    pub to: String,
    /// The sum of the rows' `previous` amounts.
    #[schema(value_type = String, example = "1100.00")]
    pub total: Money,
    #[schema(value_type = String, example = "916.67")]
    pub excluding_vat: Money,
    /// This period's total minus the previous period's.
    #[schema(value_type = String, example = "134.50")]
    pub difference: Money,
    #[schema(value_type = String, example = "112.08")]
    pub difference_excluding_vat: Money,
}

/// The answer of `GET /api/v1/hq/sales`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct SalesAnswer {
    pub by: String,
    pub rows: Vec<SalesLine>,
    /// The sum of the rows.
    #[schema(value_type = String, example = "1234.50")]
    pub total: Money,
    #[schema(value_type = String, example = "1028.75")]
    pub excluding_vat: Money,
    /// With `compare=previous`: the previous period and its totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

fn bad_query(message: String) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, codes::QUERY_INVALID, message)
}

fn day(text: &str) -> Result<NaiveDate, Failure> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| bad_query(format!("`{text}` is not a day: write it YYYY-MM-DD")))
}

/// The period of as many days as `from..=to` that ends the day before `from`.
pub fn previous_period(from: NaiveDate, to: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let days = u64::try_from((to - from).num_days()).ok()?;
    let last = from.pred_opt()?;
    let first = last.checked_sub_days(chrono::Days::new(days))?;
    Some((first, last))
}

#[utoipa::path(get, path = "/api/v1/hq/sales", tag = "head office",
    params(SalesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Consolidated sales from the rollups; with `compare=previous`, each row's `previous` and `difference` and the answer's `comparison`", body = SalesAnswer),
        (status = 400, description = "Unknown dimension, bad day, or `compare` without `from` and `to`", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A shop or region outside the user's scope, or a regional manager bound to no region", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_sales(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(mut query): QueryParams<SalesQuery>,
) -> Result<Json<SalesAnswer>, Failure> {
    let user = caller.user()?;
    let scoped = scope(
        state.store.as_ref(),
        &user,
        query.shop.take(),
        query.region.take(),
    )
    .await?;
    query.shop = scoped.selection.shop;
    query.region = scoped.selection.region;
    if query.grouping().is_none() {
        return Err(bad_query(format!(
            "`by={}` is not a sales dimension: use shop, region, day, product, category, seller or tender",
            query.by
        )));
    }
    let from = query.from.as_deref().map(day).transpose()?;
    let to = query.to.as_deref().map(day).transpose()?;
    let previous = match query.compare.as_deref() {
        None => None,
        Some("previous") => {
            let (Some(from), Some(to)) = (from, to) else {
                return Err(bad_query(
                    "`compare=previous` needs `from` and `to`: the previous period has as many days and ends the day before `from`".into(),
                ));
            };
            let (first, last) = previous_period(from, to).ok_or_else(|| {
                bad_query(format!(
                    "`from={from}` is after `to={to}`, or the previous period starts before the calendar: give from <= to"
                ))
            })?;
            Some((first.to_string(), last.to_string()))
        }
        Some(other) => {
            return Err(bad_query(format!(
                "`compare={other}` is not a comparison: use `compare=previous`"
            )));
        }
    };
    let rows: Vec<SalesRow> = state.store.sales(&query).await?;
    let total: i64 = rows.iter().map(|r| r.amount_cents).sum();
    let excluding_vat: i64 = rows.iter().map(|r| r.excluding_vat_cents).sum();
    let Some((first, last)) = previous else {
        return Ok(Json(SalesAnswer {
            by: query.by.clone(),
            rows: rows.iter().map(|r| line(r, None)).collect(),
            total: Money::from_cents(total),
            excluding_vat: Money::from_cents(excluding_vat),
            comparison: None,
        }));
    };
    let earlier = SalesQuery {
        from: Some(first.clone()),
        to: Some(last.clone()),
        ..query.clone()
    };
    let mut before: Vec<SalesRow> = state.store.sales(&earlier).await?;
    if query.by == "day" {
        let shift = previous_shift(&first, from)?;
        for row in &mut before {
            row.key = shifted_day(&row.key, shift)?;
        }
    }
    let previous_total: i64 = before.iter().map(|r| r.amount_cents).sum();
    let previous_excluding_vat: i64 = before.iter().map(|r| r.excluding_vat_cents).sum();
    Ok(Json(SalesAnswer {
        by: query.by.clone(),
        rows: compared(&rows, &before),
        total: Money::from_cents(total),
        excluding_vat: Money::from_cents(excluding_vat),
        comparison: Some(Comparison {
            from: first,
            to: last,
            total: Money::from_cents(previous_total),
            excluding_vat: Money::from_cents(previous_excluding_vat),
            difference: Money::from_cents(total - previous_total),
            difference_excluding_vat: Money::from_cents(excluding_vat - previous_excluding_vat),
        }),
    }))
}

/// The number of days from the previous period's first day to `from`: the period's length.
fn previous_shift(first: &str, from: Option<NaiveDate>) -> Result<u64, Failure> {
    let first = day(first)?;
    let from = from.ok_or_else(|| bad_query("`compare=previous` needs `from`".into()))?;
    u64::try_from((from - first).num_days())
        .map_err(|_| bad_query("the previous period must come before `from`".into()))
}

/// `key` (a day) moved `days` later: a previous period's day keyed by its counterpart.
fn shifted_day(key: &str, days: u64) -> Result<String, Failure> {
    day(key)?
        .checked_add_days(chrono::Days::new(days))
        .map(|d| d.to_string())
        .ok_or_else(|| bad_query(format!("`{key}` moved by {days} days leaves the calendar")))
}

fn line(row: &SalesRow, previous: Option<SalesFigures>) -> SalesLine {
    let now = SalesFigures::of(row);
    SalesLine {
        key: row.key.clone(),
        tickets: now.tickets,
        quantity: now.quantity,
        amount: now.amount,
        excluding_vat: now.excluding_vat,
        difference: previous.map(|p| now.minus(p)),
        previous,
    }
}

/// The rows of both periods by key, each with its previous figures and the difference; a
/// key missing from a period counts zero there.
pub fn compared(now: &[SalesRow], before: &[SalesRow]) -> Vec<SalesLine> {
    let zero = |key: &str| SalesRow {
        key: key.to_string(),
        tickets: 0,
        quantity: 0,
        amount_cents: 0,
        excluding_vat_cents: 0,
    };
    let mut keys: BTreeMap<&str, (Option<&SalesRow>, Option<&SalesRow>)> = BTreeMap::new();
    for row in now {
        keys.entry(&row.key).or_default().0 = Some(row);
    }
    for row in before {
        keys.entry(&row.key).or_default().1 = Some(row);
    }
    keys.into_iter()
        .map(|(key, (now, before))| {
            let previous = before.map_or_else(SalesFigures::default, SalesFigures::of);
            match now {
                Some(row) => line(row, Some(previous)),
                None => line(&zero(key), Some(previous)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_previous_period_has_as_many_days_and_ends_the_day_before() {
        assert_eq!(
            previous_period(d("2026-03-08"), d("2026-03-14")),
            Some((d("2026-03-01"), d("2026-03-07")))
        );
        assert_eq!(
            previous_period(d("2026-03-01"), d("2026-03-01")),
            Some((d("2026-02-28"), d("2026-02-28")))
        );
        // March (31 days) is compared with the 31 days before it.
        assert_eq!(
            previous_period(d("2026-03-01"), d("2026-03-31")),
            Some((d("2026-01-29"), d("2026-02-28")))
        );
        assert_eq!(previous_period(d("2026-03-02"), d("2026-03-01")), None);
    }

    fn row(key: &str, tickets: i64, cents: i64) -> SalesRow {
        SalesRow {
            key: key.into(),
            tickets,
            quantity: tickets,
            amount_cents: cents,
            excluding_vat_cents: cents * 5 / 6,
        }
    }

    #[test]
    fn a_key_of_only_one_period_counts_zero_in_the_other() {
        let lines = compared(
            &[row("A", 2, 1000), row("B", 1, 500)],
            &[row("A", 1, 400), row("C", 3, 900)],
        );
        let keys: Vec<&str> = lines.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys, ["A", "B", "C"]);
        assert_eq!(lines[0].difference.unwrap().amount, Money::from_cents(600));
        assert_eq!(lines[1].previous.unwrap(), SalesFigures::default());
        assert_eq!(lines[2].amount, Money::ZERO);
        assert_eq!(lines[2].difference.unwrap().amount, Money::from_cents(-900));
        assert_eq!(lines[2].difference.unwrap().tickets, -3);
    }
}
