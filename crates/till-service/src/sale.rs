//! Selling: catalog lookups, the cart's quote, parked carts, recording a sale with its tenders,
//! receipts and reprints, and returns (exchanges: [`crate::exchange`]). Tickets are computed by
//! the engine only; this module turns the app's requests into engine requests, checks who may
//! do what, and prints after the ledger commit.

use pos_domain::Money;
use pos_domain::record::Chain;
use pos_domain::tender::{Tender, settlement};
use pos_domain::ticket::{ReturnLine, Ticket};
use pos_till::requests::{RecordedTicket, ReturnRequest as EngineReturn, SaleRequest};
use rust_decimal::Decimal;

use crate::api::*;
use crate::devices;
use crate::error::{ApiError, ApiResult};
use crate::receipt_proof::Scanned;
use crate::service::{Service, lock};
use crate::views::{self, money, number};

const DEFAULT_SEARCH_LIMIT: u32 = 20;
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// Tenders checked and turned into the engine's, with the card payments they use.
pub(crate) struct Tenders {
    pub(crate) tenders: Vec<Tender>,
    pub(crate) payments: Vec<String>,
}

impl Service {
    // --- Catalog ------------------------------------------------------------------------------

    pub fn product_by_barcode(&self, request: BarcodeRequest) -> ApiResult<ProductView> {
        self.current()?;
        let till = lock(&self.till);
        let code = request.barcode.trim();
        let product = till
            .product_by_barcode(code)?
            .ok_or_else(|| pos_till::TillError::UnknownBarcode(code.to_string()))?;
        Ok(views::product(&product, &till.vat_table()?))
    }

    pub fn product_by_id(&self, request: ProductIdRequest) -> ApiResult<ProductView> {
        self.current()?;
        let till = lock(&self.till);
        let id = request.id.trim();
        let product = till
            .product_by_id(id)?
            .ok_or_else(|| pos_till::TillError::UnknownProduct(id.to_string()))?;
        Ok(views::product(&product, &till.vat_table()?))
    }

    pub fn search_products(&self, request: SearchRequest) -> ApiResult<Vec<ProductView>> {
        self.current()?;
        let till = lock(&self.till);
        let limit = request
            .limit
            .unwrap_or(DEFAULT_SEARCH_LIMIT)
            .clamp(1, MAX_PAGE);
        let vat = till.vat_table()?;
        Ok(till
            .search_products(&request.text, limit as usize)?
            .iter()
            .map(|p| views::product(p, &vat))
            .collect())
    }

    pub fn categories(&self, _: Empty) -> ApiResult<Vec<CategoryView>> {
        self.current()?;
        Ok(lock(&self.till)
            .categories()?
            .into_iter()
            .map(|(name, products)| CategoryView {
                name,
                products: number(products),
            })
            .collect())
    }

    pub fn products_in_category(&self, request: CategoryRequest) -> ApiResult<Vec<ProductView>> {
        self.current()?;
        let till = lock(&self.till);
        let vat = till.vat_table()?;
        let limit = request.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        Ok(till
            .products_in_category(
                &request.category,
                limit as usize,
                request.offset.unwrap_or(0) as usize,
            )?
            .iter()
            .map(|p| views::product(p, &vat))
            .collect())
    }

    /// Every means of payment with whether this shop takes it, its label and its limit.
    pub fn tender_types(&self, _: Empty) -> ApiResult<Vec<TenderTypeView>> {
        self.current()?;
        Ok(lock(&self.till)
            .tender_types()?
            .into_iter()
            .map(|t| TenderTypeView {
                kind: views::tender_kind_view(t.kind),
                accepted: t.accepted,
                label: t.label,
                max_amount: t.max_amount.map(|m| m.to_string()),
            })
            .collect())
    }

    // --- Cart ---------------------------------------------------------------------------------

    pub(crate) fn sale_request(
        &self,
        cart: &Cart,
        operator: &str,
        tenders: Vec<Tender>,
    ) -> ApiResult<SaleRequest> {
        Ok(SaleRequest {
            operator: Some(operator.to_string()),
            lines: cart
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| views::sale_line(i, l))
                .collect::<ApiResult<_>>()?,
            discount: cart
                .discount
                .as_ref()
                .map(|d| views::discount("ticket discount", d))
                .transpose()?,
            tenders,
            customer: cart.customer.clone(),
            training: false,
        })
    }

    /// What the priced cart needs a manager for.
    pub(crate) fn approvals_for(&self, cart: &Cart, ticket: &Ticket) -> Vec<ApprovalAction> {
        let mut needed = Vec::new();
        if cart.lines.iter().any(|l| l.unit_price.is_some()) {
            needed.push(ApprovalAction::PriceOverride);
        }
        let limit = self.options.discount_limit_percent / Decimal::ONE_HUNDRED;
        let above = |off: Money, gross: Money| {
            gross.is_positive() && off.as_decimal() > gross.as_decimal() * limit
        };
        // A head-office promotion is no cashier's discount: it needs no approval, and the
        // cashier's discounts are measured against what is left after it.
        let promoted = |l: &pos_domain::ticket::TicketLine| {
            if l.promotion.is_some() {
                l.line_discount
            } else {
                Money::ZERO
            }
        };
        let base: Money = ticket.lines.iter().map(|l| l.gross - promoted(l)).sum();
        let off: Money = ticket
            .lines
            .iter()
            .map(|l| l.line_discount - promoted(l) + l.ticket_discount_share)
            .sum();
        let line_above = |l: &pos_domain::ticket::TicketLine| {
            l.promotion.is_none() && above(l.line_discount, l.gross)
        };
        if ticket.lines.iter().any(line_above) || above(off, base) {
            needed.push(ApprovalAction::DiscountAboveLimit);
        }
        needed
    }

    pub(crate) fn tenders(&self, inputs: &[TenderInput], kind: PaymentKind) -> ApiResult<Tenders> {
        let mut tenders = Vec::new();
        let mut payments = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let mut amount = money(&format!("tender {}", i + 1), &input.amount)?;
            let mut reference = input.reference.clone().filter(|r| !r.trim().is_empty());
            let mut payment = None;
            if input.kind == TenderKind::Card {
                let payment_id = input.payment_id.as_deref().ok_or_else(|| {
                    ApiError::invalid(
                        "card_without_payment",
                        "a card tender needs its payment on the terminal: start the card payment first",
                    )
                })?;
                let magnitude = amount.abs();
                reference = Some(self.check_card_tender(payment_id, kind, magnitude)?);
                if payments.iter().any(|p| p == payment_id) {
                    return Err(ApiError::invalid(
                        "payment_used_twice",
                        "the same card payment is given twice: remove one tender",
                    ));
                }
                payments.push(payment_id.to_string());
                payment = Some(payment_id.to_string());
            } else if input.payment_id.is_some() {
                return Err(ApiError::invalid(
                    "payment_on_non_card",
                    "only a card tender takes a payment_id",
                ));
            }
            if kind == PaymentKind::Refund && amount.is_positive() {
                amount = Money::ZERO - amount;
            }
            tenders.push(Tender {
                kind: views::tender_kind(input.kind),
                amount,
                reference,
                payment,
            });
        }
        Ok(Tenders { tenders, payments })
    }

    pub fn quote(&self, request: QuoteRequest) -> ApiResult<Quote> {
        let staff = self.current()?;
        let till = lock(&self.till);
        let ticket = till.quote(&self.sale_request(&request.cart, &staff.id, Vec::new())?)?;
        drop(till);
        let settlement = settlement(ticket.total, &views::tenders_entered(&request.tenders)?);
        self.show_cart(&ticket);
        let approvals_needed = self
            .approvals_for(&request.cart, &ticket)
            .into_iter()
            .filter(|a| !self.has_approval(*a, &request.cart.approvals))
            .collect();
        Ok(Quote {
            lines: ticket.lines.iter().map(views::line).collect(),
            vat: ticket.vat.iter().map(views::vat).collect(),
            ticket_discount: ticket.ticket_discount_amount.to_string(),
            total: ticket.total.to_string(),
            tendered: settlement.tendered.to_string(),
            amount_due: settlement.due.to_string(),
            change: settlement.change.to_string(),
            approvals_needed,
        })
    }

    // --- Parked carts ---------------------------------------------------------------------------

    pub fn park_cart(&self, request: ParkRequest) -> ApiResult<ParkedCart> {
        let staff = self.current()?;
        if request.cart.lines.is_empty() {
            return Err(ApiError::invalid(
                "cart_empty",
                "the cart is empty: nothing to park",
            ));
        }
        let mut till = lock(&self.till);
        // A cart that does not price (a product gone from the catalog) is still parked.
        let total = till
            .quote(&self.sale_request(&request.cart, &staff.id, Vec::new())?)
            .map(|t| t.total.to_string())
            .unwrap_or_else(|_| "?".into());
        let cart = serde_json::to_value(&request.cart)
            .map_err(|e| ApiError::failure("cart_unserializable", e.to_string()))?;
        let parked = till.park_cart(
            &staff.id,
            request.label.as_deref().filter(|l| !l.trim().is_empty()),
            request.cart.lines.len() as u64,
            &total,
            &cart,
        )?;
        Ok(parked_view(&parked))
    }

    pub fn parked_carts(&self, _: Empty) -> ApiResult<Vec<ParkedCart>> {
        self.current()?;
        Ok(lock(&self.till)
            .parked_carts()?
            .iter()
            .map(parked_view)
            .collect())
    }

    pub fn resume_cart(&self, request: ParkedCartId) -> ApiResult<Cart> {
        self.current()?;
        let parked = lock(&self.till).take_parked_cart(u64::from(request.id))?;
        serde_json::from_value(parked.cart).map_err(|e| {
            ApiError::failure(
                "parked_cart_unreadable",
                format!("parked cart {}: {e}", request.id),
            )
        })
    }

    // --- Sale -----------------------------------------------------------------------------------

    pub fn sell(&self, request: SellRequest) -> ApiResult<SaleResult> {
        let staff = self.require_cash_role()?;
        let mut till = lock(&self.till);
        let tenders = self.tenders(&request.tenders, PaymentKind::Debit)?;
        let sale = self.sale_request(&request.cart, &staff.id, tenders.tenders)?;
        // Priced once: the approvals are checked against the very ticket that is recorded.
        let priced = till.price_sale(&sale)?;
        for action in self.approvals_for(&request.cart, priced.ticket()) {
            let what = match action {
                ApprovalAction::PriceOverride => "changing a price",
                _ => "a discount this large",
            };
            self.require_approval(&mut till, action, what, &request.cart.approvals)?;
        }
        let recorded = till.record_sale(priced)?;
        self.mark_used(&tenders.payments, recorded.number);
        let receipt = till.receipt(Some(&staff.id), recorded.number, false)?;
        drop(till);
        Ok(self.after_commit(&recorded, &receipt))
    }

    /// What follows a recorded ticket: ask the sync loop to send it to head office, print its
    /// receipt, open the drawer when cash moved.
    pub(crate) fn after_commit(
        &self,
        recorded: &RecordedTicket,
        receipt: &pos_till::receipt::Receipt,
    ) -> SaleResult {
        self.request_sync();
        let cash = recorded
            .ticket
            .tenders
            .iter()
            .any(|t| t.kind == pos_domain::tender::TenderKind::Cash);
        let printer = lock(&self.devices).printer.clone();
        // Only the original's QR code carries the proof of purchase (see `receipt_proof`).
        let qr = self.receipt_key.printed_qr(&receipt.qr);
        let printed = match devices::receipt_bytes(&receipt.text, Some(&qr), cash) {
            Ok(bytes) => devices::print(printer.as_ref(), &bytes),
            Err(e) => DeviceResult {
                ok: false,
                message: e.message,
            },
        };
        // The kick travels with the receipt; without a printed receipt, kick on its own.
        let drawer = cash.then(|| {
            if printed.ok {
                DeviceResult {
                    ok: true,
                    message: "drawer opened".into(),
                }
            } else {
                devices::open_drawer(printer.as_ref())
            }
        });
        let paid: pos_domain::Money = recorded.ticket.tenders.iter().map(|t| t.amount).sum();
        self.show_on_display(crate::display::Screen::paid(
            &paid.to_string(),
            &recorded.ticket.change.to_string(),
        ));
        SaleResult {
            ticket: views::ticket(recorded),
            change: recorded.ticket.change.to_string(),
            receipt: views::receipt(receipt),
            printed,
            drawer,
        }
    }

    pub fn receipt(&self, request: TicketNumber) -> ApiResult<ReceiptView> {
        self.current()?;
        let till = lock(&self.till);
        Ok(views::receipt(
            &till.receipt_preview(u64::from(request.number))?,
        ))
    }

    pub fn reprint(&self, request: TicketNumber) -> ApiResult<ReprintResult> {
        let staff = self.current()?;
        let receipt = lock(&self.till).receipt(Some(&staff.id), u64::from(request.number), true)?;
        let printer = lock(&self.devices).printer.clone();
        // A duplicate's QR code is the reference alone: a reprint is no proof of purchase.
        let printed = match devices::receipt_bytes(&receipt.text, Some(&receipt.qr), false) {
            Ok(bytes) => devices::print(printer.as_ref(), &bytes),
            Err(e) => DeviceResult {
                ok: false,
                message: e.message,
            },
        };
        Ok(ReprintResult {
            receipt: views::receipt(&receipt),
            printed,
        })
    }

    // --- Returns --------------------------------------------------------------------------------

    pub fn find_ticket(&self, request: FindTicketRequest) -> ApiResult<FoundTicket> {
        self.current()?;
        let till = lock(&self.till);
        let (number, by_receipt) = match (&request.qr, request.number) {
            (Some(qr), _) => match self.receipt_key.check(qr) {
                Scanned::Original(reference) => (ticket_from_reference(&till, reference)?, true),
                // The screen's reference or a duplicate finds the ticket, as its number would.
                Scanned::ReferenceOnly(reference) => {
                    (ticket_from_reference(&till, reference)?, false)
                }
                Scanned::Forged => return Err(not_a_receipt()),
            },
            (None, Some(number)) => (u64::from(number), false),
            (None, None) => {
                return Err(ApiError::invalid(
                    "ticket_reference_missing",
                    "scan the receipt's QR code or type the ticket number",
                ));
            }
        };
        let ticket = till.ticket(Chain::Ticket, number)?;
        if by_receipt {
            lock(&self.found_by_receipt).insert(number);
        }
        use pos_domain::ticket::TicketKind as K;
        if !matches!(ticket.ticket.kind, K::Sale | K::Exchange) {
            return Err(ApiError::invalid(
                "not_a_sale",
                format!("ticket {number} is itself a return: find the original sale's ticket"),
            ));
        }
        let returns = till.returns_of(number)?;
        let returnable = ticket
            .ticket
            .lines
            .iter()
            .map(|line| {
                let returned: u32 = returns
                    .iter()
                    .flat_map(|r| &r.ticket.lines)
                    .filter(|l| l.original_line == Some(line.line))
                    .map(|l| l.quantity.count())
                    .sum();
                // On an exchange, the lines it took back were refunded there: none is left.
                let sold = if line.is_returned() {
                    0
                } else {
                    line.quantity.count()
                };
                Returnable {
                    line: line.line,
                    returned,
                    remaining: sold.saturating_sub(returned),
                }
            })
            .collect();
        Ok(FoundTicket {
            ticket: views::ticket(&ticket),
            returnable,
            returns: returns.iter().map(number_of).collect(),
            by_receipt,
        })
    }

    /// Whether the original of a return was found by its receipt in this session.
    pub(crate) fn with_receipt(&self, by_receipt: bool, original: u32) -> bool {
        by_receipt && lock(&self.found_by_receipt).contains(&u64::from(original))
    }

    fn engine_return(&self, request: &ReturnRequest, operator: &str) -> EngineReturn {
        EngineReturn {
            operator: Some(operator.to_string()),
            original: u64::from(request.original),
            lines: request
                .lines
                .iter()
                .map(|l| ReturnLine {
                    line: l.line,
                    quantity: l.quantity,
                    serials: l.serials.clone(),
                })
                .collect(),
            cancel: request.cancel,
            tenders: None,
        }
    }

    /// The refund tenders for a return (or exchange) of `computed.total` (negative) to
    /// `refund_to`, with the card refund `payment_id` when it goes to the card.
    pub(crate) fn refund_tenders(
        &self,
        refund_to: RefundTo,
        payment_id: Option<&String>,
        computed: &Ticket,
    ) -> ApiResult<Option<Vec<Tender>>> {
        let single = |kind| Ok(Some(vec![refund_tender(kind, computed.total)]));
        use pos_domain::tender::TenderKind as K;
        match refund_to {
            RefundTo::Original => {
                if computed.tenders.iter().any(|t| t.kind == K::Card) {
                    Err(ApiError::invalid(
                        "refund_needs_card",
                        "this refund goes back to the card: start a card refund on the terminal, then return with refund_to card",
                    ))
                } else {
                    Ok(None)
                }
            }
            RefundTo::Cash => single(K::Cash),
            RefundTo::StoreCredit => single(K::StoreCredit),
            RefundTo::Card => {
                let payment_id = payment_id.cloned().ok_or_else(|| {
                    ApiError::invalid(
                        "card_without_payment",
                        "a refund to the card needs its refund on the terminal: start it first (card_payment_start with kind refund)",
                    )
                })?;
                let tenders = self.tenders(
                    &[TenderInput {
                        kind: TenderKind::Card,
                        amount: computed.total.abs().to_string(),
                        reference: None,
                        payment_id: Some(payment_id),
                    }],
                    PaymentKind::Refund,
                )?;
                Ok(Some(tenders.tenders))
            }
        }
    }

    pub fn return_quote(&self, request: ReturnRequest) -> ApiResult<ReturnQuote> {
        let staff = self.current()?;
        let till = lock(&self.till);
        let computed = till.quote_return(&self.engine_return(&request, &staff.id))?;
        let mut approvals_needed = Vec::new();
        let approvals: Vec<String> = request.approval.iter().cloned().collect();
        if !self.with_receipt(request.by_receipt, request.original)
            && !self.has_approval(ApprovalAction::RefundWithoutReceipt, &approvals)
        {
            approvals_needed.push(ApprovalAction::RefundWithoutReceipt);
        }
        let tenders = refund_preview(request.refund_to, &computed);
        Ok(views::return_quote(&computed, &tenders, approvals_needed))
    }

    pub fn return_items(&self, request: ReturnRequest) -> ApiResult<SaleResult> {
        let staff = self.require_cash_role()?;
        let mut till = lock(&self.till);
        if !self.with_receipt(request.by_receipt, request.original) {
            let approvals: Vec<String> = request.approval.iter().cloned().collect();
            self.require_approval(
                &mut till,
                ApprovalAction::RefundWithoutReceipt,
                "a refund without the receipt",
                &approvals,
            )?;
        }
        let mut engine = self.engine_return(&request, &staff.id);
        let computed = till.quote_return(&engine)?;
        engine.tenders =
            self.refund_tenders(request.refund_to, request.payment_id.as_ref(), &computed)?;
        let recorded = till.return_items(&engine)?;
        if let Some(id) = &request.payment_id
            && request.refund_to == RefundTo::Card
        {
            self.mark_used(std::slice::from_ref(id), recorded.number);
        }
        let receipt = till.receipt(Some(&staff.id), recorded.number, false)?;
        drop(till);
        Ok(self.after_commit(&recorded, &receipt))
    }
}

fn number_of(ticket: &RecordedTicket) -> u32 {
    number(ticket.number)
}

fn parked_view(parked: &pos_till::parked::Parked) -> ParkedCart {
    ParkedCart {
        id: number(parked.id),
        label: parked.label.clone(),
        operator: parked.operator.clone(),
        parked_at: parked.parked_at.clone(),
        lines: number(parked.lines),
        total: parked.total.clone(),
    }
}

fn not_a_receipt() -> ApiError {
    ApiError::invalid(
        "qr_not_a_receipt",
        "this code is not one of this till's receipts: type the ticket number instead",
    )
}

/// The ticket number a receipt's reference names (`POS1:TILL:NUMBER:HASH16`), checked against
/// this till and the ticket's hash.
fn ticket_from_reference(till: &pos_till::Till, reference: &str) -> ApiResult<u64> {
    let refused = not_a_receipt;
    let parts: Vec<&str> = reference.trim().split(':').collect();
    let [prefix, till_id, number, hash] = parts.as_slice() else {
        return Err(refused());
    };
    if *prefix != "POS1" || *till_id != till.identity().till_id {
        return Err(refused());
    }
    let number: u64 = number.parse().map_err(|_| refused())?;
    let ticket = till.ticket(Chain::Ticket, number)?;
    if !ticket.hash.starts_with(hash) || hash.len() < 8 {
        return Err(refused());
    }
    Ok(number)
}

/// The refund of `total` (negative) in one tender of `kind`.
pub(crate) fn refund_tender(kind: pos_domain::tender::TenderKind, total: Money) -> Tender {
    Tender {
        kind,
        amount: total,
        reference: None,
        payment: None,
    }
}

/// The refund tenders a quote shows for `refund_to` (a card refund not started yet shows as
/// the card): what [`Service::refund_tenders`] records once the refund is on its way.
pub(crate) fn refund_preview(refund_to: RefundTo, computed: &Ticket) -> Vec<Tender> {
    use pos_domain::tender::TenderKind as K;
    let kind = match refund_to {
        RefundTo::Original => return computed.tenders.clone(),
        RefundTo::Cash => K::Cash,
        RefundTo::StoreCredit => K::StoreCredit,
        RefundTo::Card => K::Card,
    };
    vec![refund_tender(kind, computed.total)]
}
