//! Click & collect at the counter: the shop's web orders (received from head office by the
//! sync loop), marking them prepared and ready, finding one by the pickup code the customer
//! shows, handing it over (in full or in part, taking payment like a sale when it is due), and
//! recording a refusal. Each action is a record of the till's `web_order` chain, written by the
//! engine ([`pos_till::web_orders`]), so all of it works offline and reaches head office at the
//! next sync, which the action asks for at once.

use pos_domain::tender::settlement;
use pos_domain::web_order::{
    OrderState, PaymentState, PickedLine, WebOrder, check_picked, is_complete, whole_order,
};
use pos_till::web_orders::HandoverRequest as EngineHandover;

use crate::api::*;
use crate::error::{ApiError, ApiResult};
use crate::service::{Service, lock};
use crate::views;

fn state_view(state: OrderState) -> WebOrderState {
    match state {
        OrderState::Placed => WebOrderState::Placed,
        OrderState::Prepared => WebOrderState::Prepared,
        OrderState::Ready => WebOrderState::Ready,
        OrderState::Collected => WebOrderState::Collected,
        OrderState::PartiallyCollected => WebOrderState::PartiallyCollected,
        OrderState::Refused => WebOrderState::Refused,
        OrderState::Cancelled => WebOrderState::Cancelled,
    }
}

fn state_of(view: WebOrderState) -> OrderState {
    match view {
        WebOrderState::Placed => OrderState::Placed,
        WebOrderState::Prepared => OrderState::Prepared,
        WebOrderState::Ready => OrderState::Ready,
        WebOrderState::Collected => OrderState::Collected,
        WebOrderState::PartiallyCollected => OrderState::PartiallyCollected,
        WebOrderState::Refused => OrderState::Refused,
        WebOrderState::Cancelled => OrderState::Cancelled,
    }
}

pub(crate) fn view(order: &WebOrder) -> WebOrderView {
    WebOrderView {
        id: order.id.clone(),
        reference: order.reference.clone(),
        customer: order.customer.clone(),
        payment: match order.payment {
            PaymentState::PaidOnline => WebOrderPayment::PaidOnline,
            PaymentState::PayInShop => WebOrderPayment::PayInShop,
        },
        state: state_view(order.state),
        total: order.total.to_string(),
        placed_at: order.placed_at.clone(),
        lines: order
            .lines
            .iter()
            .map(|l| WebOrderLineView {
                line: l.line,
                product_id: l.product_id.clone(),
                label: l.label.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price.to_string(),
                total: l.unit_price.times(l.quantity.into()).to_string(),
            })
            .collect(),
    }
}

fn picked(lines: &Option<Vec<PickedLineInput>>) -> Option<Vec<PickedLine>> {
    lines.as_ref().map(|lines| {
        lines
            .iter()
            .map(|l| PickedLine {
                line: l.line,
                quantity: l.quantity,
            })
            .collect()
    })
}

impl Service {
    pub fn web_orders(&self, request: WebOrdersRequest) -> ApiResult<Vec<WebOrderView>> {
        self.current()?;
        let orders = lock(&self.till).web_orders(request.state.map(state_of))?;
        Ok(orders.iter().map(view).collect())
    }

    pub fn web_order(&self, request: WebOrderId) -> ApiResult<WebOrderView> {
        self.current()?;
        Ok(view(&lock(&self.till).web_order(&request.id)?))
    }

    /// The order awaiting pickup with this code: what the counter does when the customer shows
    /// the code (scanned from their phone or typed).
    pub fn web_order_by_code(&self, request: PickupCodeRequest) -> ApiResult<WebOrderView> {
        self.current()?;
        let order = lock(&self.till)
            .web_order_by_pickup_code(&request.code)?
            .ok_or_else(|| {
                ApiError::invalid(
                    "pickup_code_unknown",
                    "no order awaiting pickup has this code: check the code with the customer, or find the order in the list by its reference",
                )
            })?;
        Ok(view(&order))
    }

    pub fn web_order_prepared(&self, request: WebOrderId) -> ApiResult<WebOrderView> {
        let staff = self.current()?;
        let order = lock(&self.till).mark_prepared(&staff.id, &request.id)?;
        self.request_sync();
        Ok(view(&order))
    }

    pub fn web_order_ready(&self, request: WebOrderId) -> ApiResult<WebOrderView> {
        let staff = self.current()?;
        let order = lock(&self.till).mark_ready(&staff.id, &request.id)?;
        self.request_sync();
        Ok(view(&order))
    }

    /// What the customer pays for the lines they take, checked as the handover will check them.
    pub fn web_order_quote(&self, request: WebOrderPickRequest) -> ApiResult<WebOrderQuote> {
        self.current()?;
        let order = lock(&self.till).web_order(&request.order)?;
        let picked = picked(&request.lines).unwrap_or_else(|| whole_order(&order.lines));
        check_picked(&order.lines, &picked)
            .map_err(|m| ApiError::invalid("picked_lines_invalid", m))?;
        let total = match order.payment {
            PaymentState::PaidOnline => pos_domain::Money::ZERO,
            PaymentState::PayInShop => picked
                .iter()
                .filter_map(|p| {
                    let line = order.lines.iter().find(|l| l.line == p.line)?;
                    Some(line.unit_price.times(p.quantity.into()))
                })
                .sum(),
        };
        let settlement = settlement(total, &views::tenders_entered(&request.tenders)?);
        Ok(WebOrderQuote {
            total: total.to_string(),
            tendered: settlement.tendered.to_string(),
            amount_due: settlement.due.to_string(),
            change: settlement.change.to_string(),
            partial: !is_complete(&order.lines, &picked),
        })
    }

    /// Hands the order over after its pickup code is checked by the engine. Payment due in the
    /// shop is a sale ticket recorded with the handover; its receipt prints after the commit.
    pub fn web_order_handover(&self, request: HandoverRequest) -> ApiResult<HandoverResult> {
        let staff = self.current()?;
        let mut till = lock(&self.till);
        let tenders = self.tenders(&request.tenders, PaymentKind::Debit)?;
        let handover = till.hand_over(&EngineHandover {
            operator: Some(staff.id.clone()),
            order: request.order.clone(),
            pickup_code: request.pickup_code.clone(),
            lines: picked(&request.lines),
            tenders: tenders.tenders,
        })?;
        let receipt = match &handover.ticket {
            Some(ticket) => {
                self.mark_used(&tenders.payments, ticket.number);
                Some(till.receipt(Some(&staff.id), ticket.number, false)?)
            }
            None => None,
        };
        drop(till);
        self.request_sync();
        let sale = match (&handover.ticket, &receipt) {
            (Some(ticket), Some(receipt)) => Some(self.after_commit(ticket, receipt)),
            _ => None,
        };
        Ok(HandoverResult {
            order: view(&handover.order),
            sale,
        })
    }

    pub fn web_order_refuse(&self, request: RefuseRequest) -> ApiResult<WebOrderView> {
        let staff = self.current()?;
        let order = lock(&self.till).refuse(&staff.id, &request.order, &request.reason)?;
        self.request_sync();
        Ok(view(&order))
    }
}
