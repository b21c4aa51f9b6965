//! Returns of web orders paid online at the counter: finding the order the customer brings
//! back (its web shop reference, its id, or its pickup QR code), showing what was handed over
//! and what already came back here, pricing the return and recording it
//! ([`pos_till::web_returns`]).
//!
//! The till cannot refund the web payment itself: the refund goes to cash, store credit or
//! the customer's card through a refund on the terminal. An order found by its pickup code
//! (the customer's QR code, or the code typed) is proven as a scanned receipt proves a ticket:
//! only the customer holds the code, the till never shows it. Found by its reference, which
//! anyone may quote, the return needs a manager's `refund_without_receipt` approval, as a
//! return without receipt does.

use pos_domain::ticket::ReturnLine;
use pos_till::web_returns::WebOrderReturnRequest as EngineReturn;

use crate::api::*;
use crate::error::{ApiError, ApiResult};
use crate::service::{Service, lock};
use crate::views;
use crate::web_orders::view;

impl Service {
    /// The web order a customer brings back and what it can give back here.
    pub fn web_order_return_find(
        &self,
        request: WebOrderFindRequest,
    ) -> ApiResult<WebOrderReturnable> {
        self.current()?;
        let till = lock(&self.till);
        let order = till.find_web_order(&request.text)?;
        let by_code = normalized(&order.pickup_code) == normalized(&request.text);
        let returnable = till.web_order_returnable(&order.id)?;
        drop(till);
        if by_code {
            lock(&self.found_by_pickup_code).insert(order.id.clone());
        }
        Ok(WebOrderReturnable {
            order: view(&returnable.order),
            lines: returnable
                .lines
                .iter()
                .map(|l| WebOrderReturnLineView {
                    line: l.collected.line,
                    product_id: l.collected.product_id.clone(),
                    label: l.collected.label.clone(),
                    collected: l.collected.quantity,
                    returned: l.returned,
                    unit_price: l.collected.unit_price.to_string(),
                    vat_rate: l.collected.vat_rate.to_string(),
                })
                .collect(),
            by_pickup_code: self.proven(true, &order.id),
        })
    }

    /// The return as it would be recorded, with the refund and the approvals it needs.
    pub fn web_order_return_quote(&self, request: WebOrderReturnRequest) -> ApiResult<ReturnQuote> {
        let staff = self.current()?;
        check_refund_to(request.refund_to)?;
        let computed =
            lock(&self.till).quote_web_order_return(&engine_return(&request, &staff.id))?;
        let mut approvals_needed = Vec::new();
        let approvals: Vec<String> = request.approval.iter().cloned().collect();
        if !self.proven(request.by_pickup_code, &request.order)
            && !self.has_approval(ApprovalAction::RefundWithoutReceipt, &approvals)
        {
            approvals_needed.push(ApprovalAction::RefundWithoutReceipt);
        }
        let tenders = self
            .refund_tenders(request.refund_to, None, &computed)
            .or_else(|e| match request.refund_to {
                // The card refund is not started yet: show it as the card.
                RefundTo::Card => Ok(Some(crate::sale::refund_preview(RefundTo::Card, &computed))),
                _ => Err(e),
            })?
            .unwrap_or_default();
        Ok(views::return_quote(&computed, &tenders, approvals_needed))
    }

    /// Records the return, refunded as asked, and prints its receipt after the commit.
    pub fn web_order_return(&self, request: WebOrderReturnRequest) -> ApiResult<SaleResult> {
        let staff = self.current()?;
        check_refund_to(request.refund_to)?;
        let mut till = lock(&self.till);
        if !self.proven(request.by_pickup_code, &request.order) {
            let approvals: Vec<String> = request.approval.iter().cloned().collect();
            self.require_approval(
                &mut till,
                ApprovalAction::RefundWithoutReceipt,
                "a web order return without its pickup code",
                &approvals,
            )?;
        }
        let mut engine = engine_return(&request, &staff.id);
        let computed = till.quote_web_order_return(&engine)?;
        engine.tenders = self
            .refund_tenders(request.refund_to, request.payment_id.as_ref(), &computed)?
            .unwrap_or_default();
        let recorded = till.return_web_order(&engine)?;
        if let Some(id) = &request.payment_id
            && request.refund_to == RefundTo::Card
        {
            self.mark_used(std::slice::from_ref(id), recorded.number);
        }
        let receipt = till.receipt(Some(&staff.id), recorded.number, false)?;
        drop(till);
        Ok(self.after_commit(&recorded, &receipt))
    }

    fn proven(&self, by_pickup_code: bool, order: &str) -> bool {
        by_pickup_code && lock(&self.found_by_pickup_code).contains(order)
    }
}

/// The web payment cannot be refunded from the till.
fn check_refund_to(refund_to: RefundTo) -> ApiResult<()> {
    if refund_to == RefundTo::Original {
        return Err(ApiError::invalid(
            "web_refund_to_original",
            "the till cannot refund the web payment: refund to cash, store credit or the customer's card",
        ));
    }
    Ok(())
}

fn engine_return(request: &WebOrderReturnRequest, operator: &str) -> EngineReturn {
    EngineReturn {
        operator: Some(operator.to_string()),
        order: request.order.clone(),
        lines: request
            .lines
            .iter()
            .map(|l| ReturnLine {
                line: l.line,
                quantity: l.quantity,
                serials: Vec::new(),
            })
            .collect(),
        tenders: Vec::new(),
    }
}

/// Case, spaces and dashes do not matter in a code.
fn normalized(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
