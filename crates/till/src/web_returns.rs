//! Returning a web order paid online at this till: finding the order (its web shop reference,
//! its id or its pickup code), what can come back (the lines handed over, less this till's
//! earlier returns of the order), and the return ticket
//! ([`pos_domain::web_return`]) recorded in the ticket chain.
//!
//! The lines handed over come from this till's own handover record when it handed the order
//! over, otherwise from head office's copy of the order (`collected`, or every line of an
//! order collected in full). Prices are the order's, VAT codes the order's or, when the web
//! shop gave none, the catalog's for the product.
//!
//! Earlier returns of an order at this till are found through `web_order_returns` (order id,
//! ticket number), written with each return ticket in its transaction and read inside the
//! write transaction of the next one, so two processes of one till can never both take back
//! the last unit. Returns at other tills of the shop are checked by head office on ingest.

use pos_domain::record::Chain;
use pos_domain::tender::Tender;
use pos_domain::ticket::{ReturnLine, Ticket};
use pos_domain::web_order::{PickedLine, TillAction, WebOrder};
use pos_domain::web_return::{
    CollectedLine, compute_web_order_return, handed_over, quote_web_order_return, returned_per_line,
};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::catalog;
use crate::engine::{SYSTEM_OPERATOR, Till, payload_of, ticket_of};
use crate::error::{Result, TillError};
use crate::ledger;
use crate::requests::RecordedTicket;
use crate::web_orders::load;

/// A return of lines of a web order paid online.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebOrderReturnRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The order's id.
    pub order: String,
    /// Order line numbers and the units coming back.
    pub lines: Vec<ReturnLine>,
    /// The refund (negative amounts): cash, store credit or card.
    #[serde(default)]
    pub tenders: Vec<Tender>,
}

/// What a web order can give back at this till.
#[derive(Clone, Debug, Serialize)]
pub struct Returnable {
    pub order: WebOrder,
    pub lines: Vec<ReturnableLine>,
}

/// One line handed over, and how much of it already came back here.
#[derive(Clone, Debug, Serialize)]
pub struct ReturnableLine {
    pub collected: CollectedLineView,
    /// Units already returned at this till.
    pub returned: u32,
}

/// [`CollectedLine`] as front ends read it.
#[derive(Clone, Debug, Serialize)]
pub struct CollectedLineView {
    pub line: u32,
    pub product_id: String,
    pub label: String,
    pub quantity: u32,
    pub unit_price: pos_domain::Money,
    pub vat_rate: pos_domain::vat::VatRate,
}

impl Till {
    /// The web order a customer brings back, by its web shop reference (`WEB-1001`), its id or
    /// its pickup code (case, spaces and dashes ignored).
    pub fn find_web_order(&self, text: &str) -> Result<WebOrder> {
        let wanted = normalize(text);
        if wanted.is_empty() {
            return Err(TillError::invalid(
                "web_order_reference_missing",
                "type or scan the order's reference (WEB-...) or its pickup code",
            ));
        }
        self.web_orders(None)?
            .into_iter()
            .find(|o| {
                normalize(&o.id) == wanted
                    || o.reference.as_deref().is_some_and(|r| normalize(r) == wanted)
                    || normalize(&o.pickup_code) == wanted
            })
            .ok_or_else(|| {
                TillError::invalid(
                    "unknown_web_order",
                    format!(
                        "no web order `{}` at this till: check the reference, or sync so the shop's orders arrive",
                        text.trim()
                    ),
                )
            })
    }

    /// What web order `id` can give back here: its lines handed over and this till's earlier
    /// returns of each.
    pub fn web_order_returnable(&self, id: &str) -> Result<Returnable> {
        let (order, collected) = collected_lines(&self.conn, self, id)?;
        let earlier = returns_of_order(&self.conn, id)?;
        let done = returned_per_line(&earlier);
        Ok(Returnable {
            order,
            lines: collected
                .into_iter()
                .map(|c| ReturnableLine {
                    returned: done
                        .iter()
                        .find(|d| d.line == c.line)
                        .map_or(0, |d| d.quantity),
                    collected: CollectedLineView {
                        line: c.line,
                        product_id: c.product_id,
                        label: c.label,
                        quantity: c.quantity,
                        unit_price: c.unit_price,
                        vat_rate: c.vat_rate,
                    },
                })
                .collect(),
        })
    }

    /// Prices a return of a web order as [`Till::return_web_order`] would record it, without
    /// its refund and without recording anything.
    pub fn quote_web_order_return(&self, request: &WebOrderReturnRequest) -> Result<Ticket> {
        let (_, collected) = collected_lines(&self.conn, self, &request.order)?;
        let earlier = returns_of_order(&self.conn, &request.order)?;
        Ok(quote_web_order_return(
            &request.order,
            &collected,
            &earlier,
            &request.lines,
        )?)
    }

    /// Records a return of lines of a web order paid online, refunded by `tenders`. The
    /// order's earlier returns here are read inside the write transaction.
    pub fn return_web_order(&mut self, request: &WebOrderReturnRequest) -> Result<RecordedTicket> {
        let (_, collected) = collected_lines(&self.conn, self, &request.order)?;
        let operator = request
            .operator
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(SYSTEM_OPERATOR)
            .to_string();
        let order = request.order.clone();
        self.record_ticket_with(
            Chain::Ticket,
            &operator,
            &[],
            |tx| {
                let earlier = returns_of_order(tx, &request.order)?;
                Ok(compute_web_order_return(
                    &request.order,
                    &collected,
                    &earlier,
                    &request.lines,
                    request.tenders.clone(),
                )?)
            },
            |tx, _, number| {
                tx.execute(
                    "INSERT INTO web_order_returns (order_id, ticket) VALUES (?1, ?2)",
                    params![order, number as i64],
                )?;
                Ok(())
            },
        )
    }

    /// The return tickets of web order `id` recorded at this till, oldest first.
    pub fn web_order_returns(&self, id: &str) -> Result<Vec<u64>> {
        return_numbers(&self.conn, id)
    }
}

/// Case, spaces and dashes do not matter in a typed or scanned reference.
fn normalize(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn return_numbers(conn: &Connection, id: &str) -> Result<Vec<u64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ticket FROM web_order_returns WHERE order_id = ?1 ORDER BY ticket",
    )?;
    let numbers = stmt
        .query_map([id], |r| r.get::<_, i64>(0))?
        .map(|n| n.map(|n| n as u64))
        .collect::<rusqlite::Result<_>>()?;
    Ok(numbers)
}

/// The return tickets of order `id` recorded here, as `conn` sees the ledger.
fn returns_of_order(conn: &Connection, id: &str) -> Result<Vec<Ticket>> {
    return_numbers(conn, id)?
        .into_iter()
        .map(|n| {
            let record = ledger::get(conn, Chain::Ticket, n)?
                .ok_or_else(|| TillError::Corrupt(format!("return ticket {n} of {id} missing")))?;
            ticket_of(&record)
        })
        .collect()
}

/// The lines this till recorded handing over for order `id`, if it handed it over.
fn handed_over_here(conn: &Connection, id: &str) -> Result<Option<Vec<PickedLine>>> {
    let mut found = None;
    let last = ledger::head(conn, Chain::WebOrder)?.map_or(0, |(seq, _)| seq);
    ledger::for_each_in(conn, Chain::WebOrder, 1, last, |record| {
        if let TillAction::HandedOver { order, lines, .. } = payload_of(&record)?
            && order == id
        {
            found = Some(lines);
        }
        Ok(())
    })?;
    Ok(found)
}

/// Order `id` and its lines handed over, priced and taxed as the order says (the catalog's
/// VAT code when the order gives none).
fn collected_lines(
    conn: &Connection,
    till: &Till,
    id: &str,
) -> Result<(WebOrder, Vec<CollectedLine>)> {
    let order = load(conn, id)?.ok_or_else(|| {
        TillError::invalid(
            "unknown_web_order",
            format!("no web order `{id}` at this till: sync so the shop's orders arrive"),
        )
    })?;
    let here = handed_over_here(conn, id)?;
    let picked = handed_over(&order, here.as_deref())?;
    // The rates in force the day the customer paid online, in the shop's time zone.
    let paid_on = chrono::DateTime::parse_from_rfc3339(&order.placed_at)
        .map(|at| at.with_timezone(&till.identity().timezone).date_naive())
        .unwrap_or_else(|_| till.shop_day());
    let vat = crate::shop_rules::vat_table(conn, till.identity().territory, paid_on)?;
    let mut lines = Vec::with_capacity(picked.len());
    for p in picked {
        let Some(ordered) = order.lines.iter().find(|l| l.line == p.line) else {
            return Err(TillError::Corrupt(format!(
                "web order {id}: line {} handed over is not in the order",
                p.line
            )));
        };
        let product = catalog::by_id(conn, &ordered.product_id)?;
        let vat_code = match (ordered.vat_code, &product) {
            (Some(code), _) => code,
            (None, Some(product)) => product.vat_code,
            (None, None) => {
                return Err(TillError::invalid(
                    "web_order_vat_unknown",
                    format!(
                        "line {} of web order {id}: product {} is not in this till's catalog and the order gives no VAT code; sync the catalog, or refund it at head office",
                        p.line, ordered.product_id
                    ),
                ));
            }
        };
        lines.push(CollectedLine {
            line: p.line,
            product_id: ordered.product_id.clone(),
            label: ordered.label.clone(),
            category: product.map_or_else(|| "web".to_string(), |p| p.category),
            quantity: p.quantity,
            unit_price: ordered.unit_price,
            vat_code,
            vat_rate: vat.rate(vat_code),
        });
    }
    Ok((order, lines))
}
