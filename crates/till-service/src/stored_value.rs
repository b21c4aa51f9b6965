//! Customer money across the chain, as the cashier app asks for it: a credit note's or gift
//! card's balance, a gift card sold, the credit-note slips a ticket prints, and returns of items
//! bought at another till or without receipt.
//!
//! Head office is asked while the customer waits (at most `pos_till::head_office::ASK_TIMEOUT`,
//! and only when this till is enrolled); without an answer the engine applies the offline rules
//! (caps for stored value, a manager's approval for returns). The engine decides; this module
//! checks who may (approvals) and prints.

use pos_domain::Money;
use pos_domain::stored_value::{InstrumentNumber, InstrumentState};
use pos_domain::tender::Tender;
use pos_domain::ticket::ReturnLine;
use pos_till::Till;
use pos_till::requests::RecordedTicket;
use pos_till::returns_anywhere::ReturnAnywhereRequest as EngineReturn;
use pos_till::stored_value::{GiftCardRequest, GrantedHold, StoredValueRequest};

use crate::api::*;
use crate::devices;
use crate::error::{ApiError, ApiResult};
use crate::service::{Service, lock};
use crate::views;

/// How long head office keeps a redemption hold or a return reservation for this till.
const HOLD_SECONDS: u32 = 120;

/// A random id for a hold or a reservation (a resend is the same one).
fn random_id() -> ApiResult<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::failure("randomness_unavailable", e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Head office's balances of the instruments `tenders` name, each with the amount spent held
/// for this sale, so another till cannot spend the same money meanwhile. An instrument head
/// office does not answer for (or whose hold it does not answer) is spent offline; a hold it
/// refuses is refused here with its code.
pub(crate) fn balances_for(till: &Till, tenders: &[Tender]) -> ApiResult<StoredValueRequest> {
    let mut balances: Vec<InstrumentState> = Vec::new();
    let mut holds: Vec<GrantedHold> = Vec::new();
    let mut spent: Vec<(InstrumentNumber, Money)> = Vec::new();
    for tender in tenders.iter().filter(|t| t.amount.is_positive()) {
        let Some(number) = tender
            .reference
            .as_deref()
            .and_then(|r| InstrumentNumber::parse(r).ok())
        else {
            continue;
        };
        match spent.iter_mut().find(|(n, _)| *n == number) {
            Some((_, amount)) => *amount += tender.amount,
            None => spent.push((number, tender.amount)),
        }
    }
    for (number, amount) in spent {
        let Some(answer) = till.lookup_instrument(&number)?.filter(|a| a.known) else {
            continue;
        };
        let hold = pos_domain::wire::RedemptionHold {
            protocol: pos_domain::wire::ProtocolVersion::CURRENT,
            hold: random_id()?,
            number: number.clone(),
            amount,
            seconds: HOLD_SECONDS,
        };
        match till.hold_redemption(&hold)? {
            Some(held) if held.granted => {
                holds.push(GrantedHold {
                    number: number.clone(),
                    hold: hold.hold.clone(),
                });
                balances.push(held.state);
            }
            Some(held) => {
                return Err(ApiError::invalid(
                    "instrument_hold_refused",
                    format!(
                        "head office refused to set {amount} of {number} aside ({}): its balance is {}; take less from it",
                        held.refused.unwrap_or_default(),
                        held.state.balance
                    ),
                ));
            }
            // Looked up but not held: the engine checks the balance head office gave.
            None => balances.push(answer.state),
        }
    }
    Ok(StoredValueRequest {
        balances,
        holds,
        ..Default::default()
    })
}

fn parse_number(text: &str) -> ApiResult<InstrumentNumber> {
    InstrumentNumber::parse(text).map_err(|e| ApiError::invalid(e.code(), e.to_string()))
}

fn instrument_kind(kind: pos_domain::stored_value::InstrumentKind) -> InstrumentKind {
    match kind {
        pos_domain::stored_value::InstrumentKind::CreditNote => InstrumentKind::CreditNote,
        pos_domain::stored_value::InstrumentKind::GiftCard => InstrumentKind::GiftCard,
    }
}

impl Service {
    pub fn instrument_lookup(&self, request: InstrumentRequest) -> ApiResult<InstrumentView> {
        self.current()?;
        let number = parse_number(&request.number)?;
        let till = lock(&self.till);
        let rules = till.stored_value_rules()?;
        let answer = till.lookup_instrument(&number)?.filter(|a| a.known);
        let known = till.instrument(number.as_str())?;
        let (source, state) = match answer {
            Some(answer) => (BalanceSource::HeadOffice, answer.state),
            None if known.known_here => (BalanceSource::ThisTill, known.state.clone()),
            None => (BalanceSource::Unknown, known.state.clone()),
        };
        let offline_limit = match source {
            BalanceSource::HeadOffice => state.balance,
            BalanceSource::ThisTill => state.balance.min(rules.offline_cap_per_instrument),
            BalanceSource::Unknown => rules.offline_cap_per_instrument,
        };
        Ok(InstrumentView {
            number: number.to_string(),
            grouped: number.grouped(),
            kind: instrument_kind(number.kind()),
            tender: views::tender_kind_view(number.kind().tender_kind()),
            source,
            balance: state.balance.to_string(),
            expires: state.expires.map(|d| d.to_string()),
            closed: state.closed,
            offline_limit: offline_limit.max(Money::ZERO).to_string(),
        })
    }

    pub fn gift_card_sell(&self, request: GiftCardSaleRequest) -> ApiResult<SaleResult> {
        let staff = self.current()?;
        let amount = views::money("the amount loaded", &request.amount)?;
        let mut till = lock(&self.till);
        let tenders = self.tenders(&request.tenders, PaymentKind::Debit)?;
        let sale = self.sale_request(&Cart::default(), &staff.id, tenders.tenders)?;
        let mut stored = balances_for(&till, &sale.tenders)?;
        stored.gift_cards.push(GiftCardRequest {
            number: request.number.clone(),
            amount,
            top_up: request.top_up,
        });
        let recorded = till.sell_with(&sale, &stored)?;
        self.mark_used(&tenders.payments, recorded.number);
        let receipt = till.receipt(Some(&staff.id), recorded.number, false)?;
        drop(till);
        Ok(self.after_commit(&recorded, &receipt))
    }

    pub fn return_anywhere_quote(&self, request: ReturnAnywhereRequest) -> ApiResult<ReturnQuote> {
        let staff = self.current()?;
        let till = lock(&self.till);
        let (engine, checked) = self.engine_return_anywhere(&till, &request, &staff.id, false)?;
        let mut approvals_needed = Vec::new();
        let approvals: Vec<String> = request.approval.iter().cloned().collect();
        if !checked && !self.has_approval(ApprovalAction::ReturnUnchecked, &approvals) {
            approvals_needed.push(ApprovalAction::ReturnUnchecked);
        }
        // Priced as a manager would see it, to show the refund before approval.
        let preview = EngineReturn {
            approved_by: engine
                .approved_by
                .clone()
                .or_else(|| self.any_manager(&till)),
            ..engine
        };
        let computed = till.quote_return_anywhere(&preview)?;
        let shown = crate::sale::refund_preview(request.refund_to, &computed);
        Ok(views::return_quote(&computed, &shown, approvals_needed))
    }

    pub fn return_anywhere(&self, request: ReturnAnywhereRequest) -> ApiResult<SaleResult> {
        let staff = self.current()?;
        let mut till = lock(&self.till);
        let approvals: Vec<String> = request.approval.iter().cloned().collect();
        let (mut engine, checked) =
            self.engine_return_anywhere(&till, &request, &staff.id, true)?;
        if !checked {
            let manager = self.require_approval(
                &mut till,
                ApprovalAction::ReturnUnchecked,
                "a return head office cannot check",
                &approvals,
            )?;
            engine.approved_by = Some(manager);
        }
        let computed = till.quote_return_anywhere(&engine)?;
        engine.tenders =
            self.refund_tenders(request.refund_to, request.payment_id.as_ref(), &computed)?;
        // The engine checks the refund against the original's payments (a card only back to
        // the card that paid it, within what it paid) and that the refund is on no other ticket.
        let recorded = till.return_anywhere(&engine)?;
        if let Some(id) = &request.payment_id
            && request.refund_to == RefundTo::Card
        {
            self.mark_used(std::slice::from_ref(id), recorded.number);
        }
        let receipt = till.receipt(Some(&staff.id), recorded.number, false)?;
        drop(till);
        Ok(self.after_commit(&recorded, &receipt))
    }

    /// The engine's request, with head office's answer when it found the receipt's ticket
    /// (and, with `reserve`, reserved its lines); and whether it did (a checked return needs no
    /// approval). A quote reserves nothing.
    fn engine_return_anywhere(
        &self,
        till: &Till,
        request: &ReturnAnywhereRequest,
        operator: &str,
        reserve: bool,
    ) -> ApiResult<(EngineReturn, bool)> {
        let found = match request.receipt.as_deref() {
            Some(text) => {
                let receipt = pos_domain::returns_anywhere::ReceiptRef::parse(text)
                    .map_err(|e| ApiError::invalid("receipt_reference_invalid", e))?;
                till.lookup_ticket(&receipt)?
            }
            None => None,
        };
        let items = self
            .sale_request(
                &Cart {
                    lines: request.items.clone(),
                    ..Cart::default()
                },
                operator,
                Vec::new(),
            )?
            .lines;
        let mut engine = EngineReturn {
            operator: Some(operator.to_string()),
            receipt: request.receipt.clone(),
            found: found.clone(),
            lines: request
                .lines
                .iter()
                .map(|l| ReturnLine {
                    line: l.line,
                    quantity: l.quantity,
                    serials: l.serials.clone(),
                })
                .collect(),
            items,
            approved_by: None,
            reason: request.reason.clone(),
            tenders: None,
        };
        // Items scanned rather than the original's lines picked: the engine matches them to
        // its lines, and those lines are what head office reserves and the return records.
        if engine.found.is_some() && engine.lines.is_empty() {
            engine.lines = till
                .quote_return_anywhere(&engine)?
                .lines
                .iter()
                .filter_map(|l| {
                    Some(ReturnLine {
                        line: l.original_line?,
                        quantity: l.quantity.count(),
                        serials: l.serials.iter().map(|s| s.to_string()).collect(),
                    })
                })
                .collect();
        }
        // Head office reserves the lines in the request that checks them, so two tills cannot
        // both take back the last unit; without its answer the return is unchecked.
        if let (Some(answer), true) = (&found, reserve) {
            let reservation = pos_domain::wire::ReturnReservation {
                protocol: pos_domain::wire::ProtocolVersion::CURRENT,
                reservation: random_id()?,
                original_till: answer.original.till.clone(),
                original_ticket: answer.original.ticket,
                lines: engine.lines.clone(),
                seconds: HOLD_SECONDS,
            };
            match till.reserve_return(&reservation)? {
                Some(answer) if !answer.granted => {
                    return Err(ApiError::invalid(
                        "return_reserved_elsewhere",
                        format!(
                            "head office refused the return ({}): these units were already returned or are being returned at another till",
                            answer.refused.unwrap_or_default()
                        ),
                    ));
                }
                Some(_) => {}
                // Head office did not answer the reservation: the return is unchecked.
                None => {
                    engine.found = None;
                    engine.lines.clear();
                }
            }
        }
        let checked = engine.found.is_some();
        Ok((engine, checked))
    }

    /// Some active manager's id, to price a quote before anyone approved it.
    fn any_manager(&self, till: &Till) -> Option<String> {
        till.staff().ok()?.into_iter().find_map(|s| {
            (s.active && s.role == pos_till::staff::StaffRole::Manager).then_some(s.id)
        })
    }

    /// Prints the slips of the credit notes `recorded` issued, after its receipt.
    pub(crate) fn print_credit_notes(&self, recorded: &RecordedTicket) -> Vec<CreditNoteView> {
        let issued: Vec<_> = recorded
            .ticket
            .stored_value
            .iter()
            .filter(|m| m.kind == pos_domain::stored_value::MovementKind::Issue)
            .collect();
        if issued.is_empty() {
            return Vec::new();
        }
        let identity = lock(&self.till).identity().clone();
        let printer = lock(&self.devices).printer.clone();
        issued
            .into_iter()
            .map(|issue| {
                let text = pos_till::receipt::render_credit_note(&identity, recorded, issue);
                if let Ok(bytes) = devices::credit_note_bytes(&text, issue.number.scan_payload()) {
                    let printed = devices::print(printer.as_ref(), &bytes);
                    if !printed.ok {
                        tracing::warn!(message = %printed.message, "a credit note slip was not printed");
                    }
                }
                CreditNoteView {
                    number: issue.number.to_string(),
                    grouped: issue.number.grouped(),
                    amount: issue.amount.to_string(),
                    expires: issue.expires.map(|d| d.to_string()),
                    scan: issue.number.scan_payload().to_string(),
                    text,
                }
            })
            .collect()
    }
}
