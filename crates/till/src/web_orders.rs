//! Click & collect at the till: the shop's web orders (received through head office's changes
//! feed), marking them prepared and ready, handing them over after checking the pickup code
//! (taking payment as a normal sale ticket when it is due), and recording refusals.
//!
//! Each of these is a signed record of the `web_order` chain
//! ([`pos_domain::web_order::TillAction`]), written with the order's local state in one
//! transaction, so it works offline and reaches head office at the next sync, which moves the
//! order's state there. A handover paid in the shop writes its sale ticket (which names the
//! order in `web_order`) and the handover record in the same transaction.

use std::str::FromStr;

use pos_domain::record::Chain;
use pos_domain::tender::Tender;
use pos_domain::web_order::{
    OrderState, PaymentState, PickedLine, TillAction, WebOrder, check_picked, shown_state,
    whole_order,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::engine::{SYSTEM_OPERATOR, Till};
use crate::error::{Result, TillError};
use crate::ledger::{self, Author};
use crate::requests::{RecordedTicket, SaleLineRequest, SaleRequest};

/// A handover as entered at the counter.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    pub order: String,
    /// The code the customer shows (QR or typed; case, spaces and dashes are ignored).
    pub pickup_code: String,
    /// What the customer takes; `None`: every line in full. Fewer units is a partial pickup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<PickedLine>>,
    /// Payment for an order to pay in the shop (the lines taken, at the order's prices).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenders: Vec<Tender>,
}

/// What a handover recorded.
#[derive(Clone, Debug, Serialize)]
pub struct Handover {
    pub order: WebOrder,
    /// The sequence of the handover record in the `web_order` chain.
    pub record: u64,
    pub lines: Vec<PickedLine>,
    /// The sale ticket that took payment, if payment was due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<RecordedTicket>,
}

fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// An order as stored, with the state this till shows.
pub(crate) fn load(conn: &Connection, id: &str) -> Result<Option<WebOrder>> {
    let row: Option<(String, String, Option<String>)> = conn
        .query_row(
            "SELECT body, server_state, local_state FROM web_orders WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(body, server, local)| shown(&body, &server, local.as_deref()))
        .transpose()
}

fn shown(body: &str, server: &str, local: Option<&str>) -> Result<WebOrder> {
    let mut order: WebOrder =
        serde_json::from_str(body).map_err(|e| TillError::Corrupt(format!("web order: {e}")))?;
    let state = |s: &str| {
        OrderState::parse(s).ok_or_else(|| TillError::Corrupt(format!("web order state `{s}`")))
    };
    order.state = shown_state(state(server)?, local.map(state).transpose()?);
    Ok(order)
}

fn unknown(id: &str) -> TillError {
    TillError::invalid(
        "unknown_web_order",
        format!("no web order `{id}` at this till: run `till sync` to receive the shop's orders"),
    )
}

/// Refuses to act on an order that is finished.
fn check_open(order: &WebOrder) -> Result<()> {
    match order.state {
        OrderState::Cancelled => Err(TillError::invalid(
            "web_order_cancelled",
            format!(
                "web order {} was cancelled online: do not hand it over; put the goods back",
                order.id
            ),
        )),
        s if s.is_final() => Err(TillError::invalid(
            "web_order_closed",
            format!("web order {} is already {s}", order.id),
        )),
        _ => Ok(()),
    }
}

/// Appends the action to the web_order chain and sets the order's local state.
fn record(
    tx: &Connection,
    author: &Author<'_>,
    action: &TillAction,
    state: OrderState,
) -> Result<u64> {
    let payload = serde_json::to_value(action).map_err(|e| TillError::Corrupt(e.to_string()))?;
    let signed = ledger::append(tx, author, Chain::WebOrder, payload, None)?;
    tx.execute(
        "UPDATE web_orders SET local_state = ?2 WHERE id = ?1",
        params![action.order(), state.name()],
    )?;
    Ok(signed.record.seq)
}

fn operator_of(given: &Option<String>) -> &str {
    given
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(SYSTEM_OPERATOR)
}

impl Till {
    /// The shop's web orders in `state` (all when `None`), as this till shows them, oldest
    /// first.
    pub fn web_orders(&self, state: Option<OrderState>) -> Result<Vec<WebOrder>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body, server_state, local_state FROM web_orders ORDER BY placed_at, id",
        )?;
        let rows: Vec<(String, String, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (body, server, local) in rows {
            let order = shown(&body, &server, local.as_deref())?;
            if state.is_none_or(|s| s == order.state) {
                out.push(order);
            }
        }
        Ok(out)
    }

    /// One web order as this till shows it.
    pub fn web_order(&self, id: &str) -> Result<WebOrder> {
        load(&self.conn, id)?.ok_or_else(|| unknown(id))
    }

    /// The order waiting for pickup (not collected, refused or cancelled) whose pickup code is
    /// `code` (case, spaces and dashes ignored), for a customer who shows only their code.
    pub fn web_order_by_pickup_code(&self, code: &str) -> Result<Option<WebOrder>> {
        let code = normalize_code(code);
        if code.is_empty() {
            return Ok(None);
        }
        Ok(self
            .web_orders(None)?
            .into_iter()
            .find(|o| !o.state.is_final() && normalize_code(&o.pickup_code) == code))
    }

    fn progress_order(&mut self, operator: &str, id: &str, to: OrderState) -> Result<WebOrder> {
        let id = id.to_string();
        self.write(operator, |tx, author| {
            let mut order = load(tx, &id)?.ok_or_else(|| unknown(&id))?;
            check_open(&order)?;
            if order.state >= to {
                return Ok(order);
            }
            let action = if to == OrderState::Prepared {
                TillAction::Prepared { order: id.clone() }
            } else {
                TillAction::Ready { order: id.clone() }
            };
            record(tx, author, &action, to)?;
            order.state = to;
            Ok(order)
        })
    }

    /// Records that the order was picked in the shop.
    pub fn mark_prepared(&mut self, operator: &str, id: &str) -> Result<WebOrder> {
        self.progress_order(operator, id, OrderState::Prepared)
    }

    /// Records that the order waits for the customer (head office tells the web shop).
    pub fn mark_ready(&mut self, operator: &str, id: &str) -> Result<WebOrder> {
        self.progress_order(operator, id, OrderState::Ready)
    }

    /// Hands an order over (in full, or the lines given: a partial pickup) after checking its
    /// pickup code. When payment is due in the shop, `tenders` pay for the lines taken at the
    /// order's prices, as a sale ticket recorded with the handover in one transaction.
    pub fn hand_over(&mut self, request: &HandoverRequest) -> Result<Handover> {
        let order = self.web_order(&request.order)?;
        check_open(&order)?;
        if normalize_code(&request.pickup_code) != normalize_code(&order.pickup_code) {
            return Err(TillError::invalid(
                "pickup_code_wrong",
                format!(
                    "this is not the pickup code of web order {}: check the customer's message or QR code",
                    order.id
                ),
            ));
        }
        let picked = request
            .lines
            .clone()
            .unwrap_or_else(|| whole_order(&order.lines));
        check_picked(&order.lines, &picked)
            .map_err(|m| TillError::invalid("picked_lines_invalid", m))?;
        let picked: Vec<PickedLine> = picked.into_iter().filter(|p| p.quantity > 0).collect();
        let operator = operator_of(&request.operator).to_string();
        let state = TillAction::HandedOver {
            order: order.id.clone(),
            lines: picked.clone(),
            ticket: None,
        }
        .target(&order.lines);
        let id = order.id.clone();
        let check_still_open = move |tx: &Connection| -> Result<()> {
            // Another process of this till may have handed it over meanwhile.
            check_open(&load(tx, &id)?.ok_or_else(|| unknown(&id))?)
        };
        let mut done = order.clone();
        done.state = state;
        match order.payment {
            PaymentState::PaidOnline => {
                if !request.tenders.is_empty() {
                    return Err(TillError::invalid(
                        "nothing_to_pay",
                        format!("web order {} was paid online: take no payment", order.id),
                    ));
                }
                let action = TillAction::HandedOver {
                    order: order.id.clone(),
                    lines: picked.clone(),
                    ticket: None,
                };
                let seq = self.write(&operator, |tx, author| {
                    check_still_open(tx)?;
                    record(tx, author, &action, state)
                })?;
                Ok(Handover {
                    order: done,
                    record: seq,
                    lines: picked,
                    ticket: None,
                })
            }
            PaymentState::PayInShop => {
                let sale = SaleRequest {
                    operator: Some(operator.clone()),
                    lines: picked
                        .iter()
                        .map(|p| {
                            let line = order.lines.iter().find(|l| l.line == p.line);
                            SaleLineRequest {
                                product_id: line.map(|l| l.product_id.clone()),
                                quantity: Some(i64::from(p.quantity)),
                                unit_price: line.map(|l| l.unit_price),
                                ..SaleLineRequest::default()
                            }
                        })
                        .collect(),
                    tenders: request.tenders.clone(),
                    ..SaleRequest::default()
                };
                let mut ticket = pos_domain::ticket::compute_sale(self.draft(&sale)?)?;
                ticket.web_order = Some(order.id.clone());
                let mut seq = 0;
                let recorded = self.record_ticket_with(
                    Chain::Ticket,
                    &operator,
                    &[],
                    |tx| {
                        check_still_open(tx)?;
                        Ok(ticket)
                    },
                    |tx, author, number| {
                        let action = TillAction::HandedOver {
                            order: order.id.clone(),
                            lines: picked.clone(),
                            ticket: Some(number),
                        };
                        seq = record(tx, author, &action, state)?;
                        Ok(())
                    },
                )?;
                Ok(Handover {
                    order: done,
                    record: seq,
                    lines: picked,
                    ticket: Some(recorded),
                })
            }
        }
    }

    /// Records that the customer refused the whole order at the counter.
    pub fn refuse(&mut self, operator: &str, id: &str, reason: &str) -> Result<WebOrder> {
        if reason.trim().is_empty() {
            return Err(TillError::invalid(
                "reason_missing",
                "say why the customer refused the order",
            ));
        }
        pos_domain::limits::check_text(
            "the reason",
            reason.trim(),
            pos_domain::limits::MAX_NOTE_CHARS,
        )
        .map_err(pos_domain::SaleError::from)?;
        let id = id.to_string();
        self.write(operator, |tx, author| {
            let mut order = load(tx, &id)?.ok_or_else(|| unknown(&id))?;
            check_open(&order)?;
            let action = TillAction::Refused {
                order: id.clone(),
                reason: reason.trim().to_string(),
            };
            record(tx, author, &action, OrderState::Refused)?;
            order.state = OrderState::Refused;
            Ok(order)
        })
    }
}

/// Parses an order state name (`placed`, `ready`...), for front ends.
pub fn parse_state(text: &str) -> Result<OrderState> {
    OrderState::parse(text).ok_or_else(|| {
        TillError::invalid(
            "state_unknown",
            format!(
                "`{text}`: a state is placed, prepared, ready, collected, partially_collected, refused or cancelled"
            ),
        )
    })
}

/// Parses `LINE:QUANTITY`.
pub fn parse_picked(text: &str) -> Result<PickedLine> {
    let bad = || {
        TillError::invalid(
            "picked_lines_invalid",
            format!("`{text}`: write LINE:QUANTITY, for example 2:1"),
        )
    };
    let (line, quantity) = text.split_once(':').ok_or_else(bad)?;
    Ok(PickedLine {
        line: u32::from_str(line.trim()).map_err(|_| bad())?,
        quantity: u32::from_str(quantity.trim()).map_err(|_| bad())?,
    })
}
