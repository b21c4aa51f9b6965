//! Engine types turned into the API's views, and API inputs into engine requests. Pure
//! conversions: every amount and total shown comes from the engine's computation.

use std::str::FromStr;

use pos_domain::Money;
use pos_domain::closure::PeriodTotals;
use pos_domain::product::{Product, SerialCapture};
use pos_domain::tender::Tender;
use pos_domain::ticket::{Discount, Quantity, Ticket, TicketLine};
use pos_domain::vat::VatLine;
use pos_till::requests::{RecordedTicket, SaleLineRequest};
use rust_decimal::Decimal;

use crate::api::*;
use crate::error::{ApiError, ApiResult};

pub fn money(field: &str, text: &str) -> ApiResult<Money> {
    Money::from_str(text.trim()).map_err(|_| ApiError::bad_amount(field, text))
}

pub fn discount(field: &str, input: &DiscountInput) -> ApiResult<Discount> {
    Ok(match input {
        DiscountInput::Amount(text) => Discount::Amount(money(field, text)?),
        DiscountInput::Percent(text) => {
            Discount::Percent(Decimal::from_str(text.trim()).map_err(|_| {
                ApiError::invalid(
                    "percent_invalid",
                    format!("{field}: `{text}` is not a percentage: type it like 10 or 12.5"),
                )
            })?)
        }
    })
}

pub fn sale_line(index: usize, line: &CartLine) -> ApiResult<SaleLineRequest> {
    let field = format!("line {}", index + 1);
    Ok(SaleLineRequest {
        barcode: line.barcode.clone(),
        product_id: line.product_id.clone(),
        quantity: line.quantity.map(i64::from),
        grams: line.grams.map(i64::from),
        unit_price: line
            .unit_price
            .as_deref()
            .map(|p| money(&format!("{field} price"), p))
            .transpose()?,
        discount: line
            .discount
            .as_ref()
            .map(|d| discount(&format!("{field} discount"), d))
            .transpose()?,
        seller: line.seller.clone(),
        serials: line.serials.clone(),
    })
}

pub fn tender_kind(kind: TenderKind) -> pos_domain::tender::TenderKind {
    use pos_domain::tender::TenderKind as K;
    match kind {
        TenderKind::Cash => K::Cash,
        TenderKind::Card => K::Card,
        TenderKind::GiftCard => K::GiftCard,
        TenderKind::Voucher => K::Voucher,
        TenderKind::Cheque => K::Cheque,
        TenderKind::StoreCredit => K::StoreCredit,
    }
}

/// The tenders a payment screen has entered so far, read as the domain's tenders for a quote's
/// amount due and change (no payment is checked: nothing is recorded).
pub fn tenders_entered(inputs: &[TenderInput]) -> ApiResult<Vec<Tender>> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Ok(Tender {
                kind: tender_kind(t.kind),
                amount: money(&format!("tender {}", i + 1), &t.amount)?,
                reference: None,
                payment: None,
            })
        })
        .collect()
}

pub fn tender_kind_view(kind: pos_domain::tender::TenderKind) -> TenderKind {
    use pos_domain::tender::TenderKind as K;
    match kind {
        K::Cash => TenderKind::Cash,
        K::Card => TenderKind::Card,
        K::GiftCard => TenderKind::GiftCard,
        K::Voucher => TenderKind::Voucher,
        K::Cheque => TenderKind::Cheque,
        K::StoreCredit => TenderKind::StoreCredit,
    }
}

/// A return as the returns screen shows it before it is recorded.
pub fn return_quote(
    computed: &pos_domain::ticket::Ticket,
    tenders: &[Tender],
    approvals_needed: Vec<crate::api::ApprovalAction>,
) -> crate::api::ReturnQuote {
    crate::api::ReturnQuote {
        lines: computed.lines.iter().map(line).collect(),
        vat: computed.vat.iter().map(vat).collect(),
        total: computed.total.to_string(),
        tenders: tenders.iter().map(tender_view).collect(),
        approvals_needed,
    }
}

pub fn tender_view(tender: &Tender) -> TenderView {
    TenderView {
        kind: tender_kind_view(tender.kind),
        amount: tender.amount.to_string(),
        reference: tender.reference.clone(),
    }
}

/// A product with the VAT rate it sells at today.
pub fn product(p: &Product, vat: &pos_till::shop_rules::VatTable) -> ProductView {
    ProductView {
        id: p.id.clone(),
        label: p.label.clone(),
        category: p.category.clone(),
        barcodes: p.barcodes.iter().map(|b| b.as_str().to_string()).collect(),
        price: p.price.to_string(),
        vat_rate: vat.rate(p.vat_code).to_string(),
        sold_by: match p.sold_by {
            pos_domain::product::SoldBy::Unit => SoldBy::Unit,
            pos_domain::product::SoldBy::Weight => SoldBy::Weight,
        },
        serial: match p.serial {
            SerialCapture::None => SerialKind::None,
            SerialCapture::Imei => SerialKind::Imei,
        },
    }
}

pub fn quantity(q: Quantity) -> QuantityView {
    match q {
        Quantity::Units(n) => QuantityView {
            unit: QuantityUnit::Units,
            value: n,
            text: n.to_string(),
        },
        Quantity::Grams(g) => QuantityView {
            unit: QuantityUnit::Grams,
            value: g,
            text: format!("{}.{:03} kg", g / 1000, g % 1000),
        },
    }
}

pub fn line(l: &TicketLine) -> LineView {
    LineView {
        line: l.line,
        product_id: l.product_id.clone(),
        label: l.label.clone(),
        category: l.category.clone(),
        quantity: quantity(l.quantity),
        unit_price: l.unit_price.to_string(),
        gross: l.gross.to_string(),
        line_discount: l.line_discount.to_string(),
        promotion: l.promotion.as_ref().map(|p| p.label.clone()),
        ticket_discount_share: l.ticket_discount_share.to_string(),
        total: l.total.to_string(),
        vat_rate: l.vat_rate.to_string(),
        seller: l.seller.clone(),
        serials: l.serials.iter().map(|s| s.to_string()).collect(),
        original_line: l.original_line,
    }
}

pub fn vat(v: &VatLine) -> VatView {
    VatView {
        rate: v.rate.to_string(),
        excluding_vat: v.excluding_vat.to_string(),
        vat: v.vat.to_string(),
        including_vat: v.including_vat.to_string(),
    }
}

pub fn ticket_kind(kind: pos_domain::ticket::TicketKind) -> TicketKind {
    use pos_domain::ticket::TicketKind as K;
    match kind {
        K::Sale => TicketKind::Sale,
        K::Return => TicketKind::Return,
        K::Cancellation => TicketKind::Cancellation,
        K::Exchange => TicketKind::Exchange,
    }
}

/// A ticket number for the UI (JSON numbers are exact up to 2^53; a till never gets there).
pub fn number(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub fn ticket(recorded: &RecordedTicket) -> TicketView {
    let t: &Ticket = &recorded.ticket;
    TicketView {
        number: number(recorded.number),
        at: recorded.at.clone(),
        operator: recorded.operator.clone(),
        kind: ticket_kind(t.kind),
        original: t.original.map(number),
        lines: t.lines.iter().map(line).collect(),
        vat: t.vat.iter().map(vat).collect(),
        ticket_discount: t.ticket_discount_amount.to_string(),
        total: t.total.to_string(),
        tenders: t.tenders.iter().map(tender_view).collect(),
        change: t.change.to_string(),
        customer: t.customer.clone(),
        web_order: t.web_order.clone(),
        original_till: t.original_till.clone(),
        gift_cards: pos_domain::stored_value::loads_total(&t.stored_value).to_string(),
        amount_due: t.amount_due().to_string(),
    }
}

pub fn receipt(r: &pos_till::receipt::Receipt) -> ReceiptView {
    ReceiptView {
        ticket: number(r.ticket),
        duplicate: r.duplicate,
        reference: r.qr.clone(),
        text: r.text.clone(),
    }
}

pub fn totals(t: &PeriodTotals) -> TotalsView {
    TotalsView {
        first_ticket: t.first_ticket.map(number),
        last_ticket: t.last_ticket.map(number),
        tickets: number(t.tickets),
        sales: number(t.sales),
        returns: number(t.returns),
        exchanges: number(t.exchanges),
        sales_amount: t.sales_amount().to_string(),
        returns_amount: t.returns_amount().to_string(),
        vat: t.vat.iter().map(vat).collect(),
        tenders: t
            .tenders
            .iter()
            .map(|x| TenderTotalView {
                kind: tender_kind_view(x.kind),
                amount: x.amount.to_string(),
                count: number(x.count),
            })
            .collect(),
        total: t.total.to_string(),
        absolute_total: t.absolute_total.to_string(),
        grand_total: t.grand_total.to_string(),
        perpetual_absolute_total: t.perpetual_absolute_total.to_string(),
    }
}

pub fn cash_kind(kind: CashMovementKind) -> pos_domain::journal::CashMovementKind {
    use pos_domain::journal::CashMovementKind as K;
    match kind {
        CashMovementKind::OpeningFloat => K::OpeningFloat,
        CashMovementKind::PayIn => K::PayIn,
        CashMovementKind::PayOut => K::PayOut,
        CashMovementKind::BankDeposit => K::BankDeposit,
        CashMovementKind::Count => K::Count,
    }
}

pub fn closure_level(level: ClosureLevel) -> pos_domain::closure::ClosureLevel {
    use pos_domain::closure::ClosureLevel as L;
    match level {
        ClosureLevel::Day => L::Day,
        ClosureLevel::Month => L::Month,
        ClosureLevel::Year => L::Year,
    }
}

pub fn closure_level_view(level: pos_domain::closure::ClosureLevel) -> ClosureLevel {
    use pos_domain::closure::ClosureLevel as L;
    match level {
        L::Day => ClosureLevel::Day,
        L::Month => ClosureLevel::Month,
        L::Year => ClosureLevel::Year,
    }
}
