//! A product's stock at this shop and at the shops nearby, as head office knows it: asked
//! while the customer waits (`GET /api/v1/tills/{till}/stock`, through
//! [`crate::head_office`]'s client, within its [`ASK_TIMEOUT`]), and kept per product in
//! `stock_on_hand_answers` (till migration 20). When head office does not answer (offline,
//! not enrolled, a head office without the route, busy) the kept answer is shown instead, with
//! its age, so the cashier knows how far to trust it; a product never answered is listed as
//! unknown.
//!
//! The age is measured on this till's clock, from the moment the answer was kept, not from
//! head office's `answered_at`, so a till clock that differs from head office's does not make
//! an answer look younger or older than it is.

use chrono::{DateTime, Utc};
use pos_domain::on_hand::{MAX_PRODUCTS, OnHandAnswer, ProductOnHand};
use pos_domain::record::timestamp;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::engine::{SYSTEM_OPERATOR, Till};
use crate::error::{Result, TillError};
use crate::head_office::ASK_TIMEOUT;

/// What the till can say of the products asked about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnHandReport {
    /// Whether head office answered just now (otherwise the products are the kept answers).
    pub live: bool,
    /// Why head office did not answer, when it did not.
    pub unreachable: Option<String>,
    /// The products known, in the order asked.
    pub products: Vec<KeptOnHand>,
    /// The products asked about that head office never answered for at this till.
    pub unknown: Vec<String>,
}

/// A product's stock as head office last answered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeptOnHand {
    pub stock: ProductOnHand,
    /// When head office answered (its clock).
    #[serde(with = "timestamp")]
    pub answered_at: DateTime<Utc>,
    /// Seconds since this till received the answer (its clock); 0 for a live answer.
    pub age_seconds: i64,
}

/// The products asked about, each once, in the order asked; refused when none or too many.
fn distinct(products: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for product in products.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        if !out.iter().any(|p| p == product) {
            out.push(product.to_string());
        }
    }
    if out.is_empty() || out.len() > MAX_PRODUCTS {
        return Err(TillError::invalid(
            "stock_products_invalid",
            format!(
                "ask about 1 to {MAX_PRODUCTS} products at a time: {} given",
                out.len()
            ),
        ));
    }
    Ok(out)
}

impl Till {
    /// Each product's stock here and nearby: head office's answer when it answers (kept for
    /// later), otherwise the answers kept, with their age.
    pub fn stock_on_hand(&mut self, products: &[String]) -> Result<OnHandReport> {
        let products = distinct(products)?;
        match self.ask_stock(&products) {
            Ok(answer) => {
                self.keep(&answer)?;
                Ok(OnHandReport {
                    live: true,
                    unreachable: None,
                    unknown: Vec::new(),
                    products: answer
                        .products
                        .into_iter()
                        .map(|stock| KeptOnHand {
                            stock,
                            answered_at: answer.answered_at,
                            age_seconds: 0,
                        })
                        .collect(),
                })
            }
            Err(why) => {
                tracing::info!(%why, "head office did not answer the stock question: the kept answers are shown");
                self.kept(&products, why)
            }
        }
    }

    /// Head office's answer, or why there is none (not enrolled, unreachable, refused).
    fn ask_stock(&self, products: &[String]) -> std::result::Result<OnHandAnswer, String> {
        let server = self
            .server()
            .map_err(|_| "this till is not enrolled with head office".to_string())?;
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("products", &products.join(","))
            .finish();
        let path = format!("/api/v1/tills/{}/stock?{query}", self.identity.till_id);
        let answer = server
            .http
            .get_json::<OnHandAnswer>(&path, Some(&server.token), ASK_TIMEOUT)
            .map_err(|e| e.to_string())?;
        // Nothing beyond the domain's limits is kept (a reader could not show it).
        answer
            .check_limits()
            .map_err(|e| format!("head office's answer is beyond this till's limits: {e}"))?;
        Ok(answer)
    }

    /// Keeps each product's answer, replacing the one kept before.
    fn keep(&mut self, answer: &OnHandAnswer) -> Result<()> {
        self.write(SYSTEM_OPERATOR, |tx, author| {
            let kept_at = timestamp::format(&author.at);
            let answered_at = timestamp::format(&answer.answered_at);
            for product in &answer.products {
                let body = serde_json::to_string(product)
                    .map_err(|e| TillError::Corrupt(e.to_string()))?;
                tx.execute(
                    "INSERT INTO stock_on_hand_answers (product_id, body, answered_at, kept_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (product_id) DO UPDATE SET body = excluded.body,
                       answered_at = excluded.answered_at, kept_at = excluded.kept_at",
                    params![product.product_id, body, answered_at, kept_at],
                )?;
            }
            Ok(())
        })
    }

    /// The answers kept for `products`, with their age.
    fn kept(&self, products: &[String], why: String) -> Result<OnHandReport> {
        let now = self.clock.now();
        let mut report = OnHandReport {
            live: false,
            unreachable: Some(why),
            products: Vec::new(),
            unknown: Vec::new(),
        };
        let mut read = self.conn.prepare_cached(
            "SELECT body, answered_at, kept_at FROM stock_on_hand_answers WHERE product_id = ?1",
        )?;
        for product in products {
            let row: Option<(String, String, String)> = read
                .query_row([product], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((body, answered_at, kept_at)) = row else {
                report.unknown.push(product.clone());
                continue;
            };
            let corrupt = |e: String| TillError::Corrupt(format!("kept stock of {product}: {e}"));
            let time = |text: &str| {
                DateTime::parse_from_rfc3339(text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| corrupt(e.to_string()))
            };
            let kept_at = time(&kept_at)?;
            report.products.push(KeptOnHand {
                stock: serde_json::from_str(&body).map_err(|e| corrupt(e.to_string()))?,
                answered_at: time(&answered_at)?,
                age_seconds: (now - kept_at).num_seconds().max(0),
            });
        }
        Ok(report)
    }
}
