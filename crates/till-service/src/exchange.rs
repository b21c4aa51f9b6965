//! Exchanges: lines of an earlier ticket brought back and new items taken, on one ticket.
//!
//! The request joins a return's (original, lines, where a refund goes, receipt or approval)
//! and a sale's (the cart, its approvals, the tenders paying the difference). The engine
//! computes the ticket; this module checks who may do it, picks the tenders from the sign of
//! the difference, and prints after the ledger commit.

use pos_domain::tender::settlement;
use pos_domain::ticket::{ReturnLine, Ticket};
use pos_till::requests::ExchangeRequest as EngineExchange;

use crate::api::*;
use crate::error::{ApiError, ApiResult};
use crate::service::{Service, lock};
use crate::views;

impl Service {
    fn engine_exchange(
        &self,
        request: &ExchangeRequest,
        operator: &str,
    ) -> ApiResult<EngineExchange> {
        if request.cart.discount.is_some() {
            return Err(ApiError::invalid(
                "exchange_ticket_discount",
                "an exchange takes no discount on the whole ticket: discount the new lines instead",
            ));
        }
        Ok(EngineExchange {
            operator: Some(operator.to_string()),
            original: u64::from(request.original),
            returned: request
                .returned
                .iter()
                .map(|l| ReturnLine {
                    line: l.line,
                    quantity: l.quantity,
                    serials: l.serials.clone(),
                })
                .collect(),
            lines: request
                .cart
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| views::sale_line(i, l))
                .collect::<ApiResult<_>>()?,
            customer: request.cart.customer.clone(),
            tenders: None,
        })
    }

    /// What the exchange needs a manager for: a refund without the receipt, and what the new
    /// lines would need in a sale.
    fn exchange_approvals(
        &self,
        request: &ExchangeRequest,
        computed: &Ticket,
    ) -> Vec<ApprovalAction> {
        let mut needed = Vec::new();
        if !self.with_receipt(request.by_receipt, request.original) {
            needed.push(ApprovalAction::RefundWithoutReceipt);
        }
        let sold = Ticket {
            lines: computed
                .lines
                .iter()
                .filter(|l| !l.is_returned())
                .cloned()
                .collect(),
            ..computed.clone()
        };
        needed.extend(self.approvals_for(&request.cart, &sold));
        needed
    }

    pub fn exchange_quote(&self, request: ExchangeRequest) -> ApiResult<ExchangeQuote> {
        let staff = self.current()?;
        let till = lock(&self.till);
        let computed = till.quote_exchange(&self.engine_exchange(&request, &staff.id)?)?;
        drop(till);
        let mut approvals: Vec<String> = request.cart.approvals.clone();
        approvals.extend(request.approval.iter().cloned());
        let approvals_needed = self
            .exchange_approvals(&request, &computed)
            .into_iter()
            .filter(|a| !self.has_approval(*a, &approvals))
            .collect();
        let total = computed.total;
        let settlement = settlement(total, &views::tenders_entered(&request.tenders)?);
        let refund = if total.is_negative() {
            crate::sale::refund_preview(request.refund_to, &computed)
        } else {
            Vec::new()
        };
        Ok(ExchangeQuote {
            lines: computed.lines.iter().map(views::line).collect(),
            vat: computed.vat.iter().map(views::vat).collect(),
            returned_total: computed.returned_amount().to_string(),
            sold_total: computed.sold_amount().to_string(),
            total: total.to_string(),
            tendered: settlement.tendered.to_string(),
            amount_due: settlement.due.to_string(),
            change: settlement.change.to_string(),
            refund: refund.iter().map(views::tender_view).collect(),
            approvals_needed,
        })
    }

    pub fn exchange(&self, request: ExchangeRequest) -> ApiResult<SaleResult> {
        let staff = self.current()?;
        let mut till = lock(&self.till);
        let mut engine = self.engine_exchange(&request, &staff.id)?;
        let computed = till.quote_exchange(&engine)?;
        let mut approvals: Vec<String> = request.cart.approvals.clone();
        approvals.extend(request.approval.iter().cloned());
        for action in self.exchange_approvals(&request, &computed) {
            let what = match action {
                ApprovalAction::RefundWithoutReceipt => "an exchange without the receipt",
                ApprovalAction::PriceOverride => "changing a price",
                _ => "a discount this large",
            };
            self.require_approval(&mut till, action, what, &approvals)?;
        }
        let total = computed.total;
        let mut card_payments = Vec::new();
        engine.tenders = if total.is_positive() {
            let tenders = self.tenders(&request.tenders, PaymentKind::Debit)?;
            card_payments = tenders.payments;
            Some(tenders.tenders)
        } else if total.is_negative() {
            let refund =
                self.refund_tenders(request.refund_to, request.payment_id.as_ref(), &computed)?;
            if request.refund_to == RefundTo::Card
                && let Some(id) = &request.payment_id
            {
                card_payments.push(id.clone());
            }
            refund
        } else {
            if !request.tenders.is_empty() {
                return Err(ApiError::invalid(
                    "exchange_even",
                    "the new items cost what comes back: nothing to pay or refund, remove the tenders",
                ));
            }
            Some(Vec::new())
        };
        let recorded = till.exchange(&engine)?;
        self.mark_used(&card_payments, recorded.number);
        let receipt = till.receipt(Some(&staff.id), recorded.number, false)?;
        drop(till);
        Ok(self.after_commit(&recorded, &receipt))
    }
}
