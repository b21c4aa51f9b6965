//! Why a sale, return or closure is refused. Every variant has a stable machine code (for the
//! UI and scripts) and a message that tells the cashier what to do next.

use crate::codes::CodeError;
use crate::limits::LimitError;
use crate::money::Money;
use crate::stored_value::StoredValueError;
use crate::tender::TenderKind;

/// A ticket the rules refuse. Nothing is recorded when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaleError {
    /// An amount, count or text beyond its limit (see [`crate::limits`]).
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// A credit note or gift card that cannot move as asked (see [`crate::stored_value`]).
    #[error(transparent)]
    StoredValue(#[from] StoredValueError),
    #[error("the ticket has no line: add at least one item")]
    Empty,
    #[error("a return without a receipt needs a reason: say why the customer brings it back")]
    ReasonRequired,
    #[error("line {line}: quantity must be more than zero")]
    ZeroQuantity { line: u32 },
    #[error("line {line}: `{product}` is sold {expected}: give the quantity {expected}")]
    WrongUnit {
        line: u32,
        product: String,
        expected: &'static str,
    },
    #[error(
        "line {line}: `{product}` needs one IMEI per unit ({expected} expected, {given} given): \
         scan the IMEI on each box"
    )]
    SerialCount {
        line: u32,
        product: String,
        expected: u32,
        given: u32,
    },
    #[error("line {line}: `{product}` takes no serial number: remove it")]
    UnexpectedSerial { line: u32, product: String },
    #[error("IMEI {serial} appears twice on the ticket: each handset has its own IMEI")]
    DuplicateSerial { serial: String },
    #[error("line {line}: {source}")]
    BadSerial { line: u32, source: CodeError },
    #[error("line {line}: a discount of {discount} exceeds the line amount {amount}")]
    DiscountTooLarge {
        line: u32,
        discount: Money,
        amount: Money,
    },
    #[error("a discount must be positive, and a percentage at most 100 (got {given})")]
    BadDiscount { given: String },
    #[error("line {line}: the unit price must not be negative")]
    NegativePrice { line: u32 },
    #[error("a {kind:?} tender of {amount} is not a payment: tender amounts must be positive")]
    TenderNotPositive { kind: TenderKind, amount: Money },
    #[error("a refund in {kind:?} of {amount} must be negative")]
    RefundTenderNotNegative { kind: TenderKind, amount: Money },
    #[error("tenders of {tendered} fall short of the total {total}: take {missing} more")]
    TendersShort {
        total: Money,
        tendered: Money,
        missing: Money,
    },
    #[error(
        "change of {change} cannot be given: change is given only in cash and only {cash} \
         was tendered in cash; lower the card, gift card or voucher amount"
    )]
    ChangeWithoutCash { change: Money, cash: Money },
    #[error("refund tenders add up to {tendered} but the refund is {total}: make them equal")]
    RefundMismatch { total: Money, tendered: Money },
    #[error("this shop does not take {label}: ask for another means of payment")]
    TenderNotAccepted { kind: TenderKind, label: String },
    #[error(
        "this shop takes at most {max} in {label} per ticket ({amount} given): take the rest \
         by another means of payment"
    )]
    TenderAboveLimit {
        kind: TenderKind,
        label: String,
        amount: Money,
        max: Money,
    },
    #[error(
        "ticket {ticket} is a {kind}: only a sale or an exchange can be returned, exchanged or \
         cancelled; find the ticket the goods were sold on"
    )]
    NotASale { ticket: u64, kind: &'static str },
    #[error("ticket {ticket} has no line {line}: check the line numbers on the receipt")]
    UnknownOriginalLine { ticket: u64, line: u32 },
    #[error(
        "line {line} of ticket {ticket}: {asked} asked back but only {remaining} left to return \
         ({sold} sold, {returned} already returned)"
    )]
    ReturnExceeds {
        ticket: u64,
        line: u32,
        sold: u32,
        returned: u32,
        asked: u32,
        remaining: u32,
    },
    #[error("IMEI {serial} was not sold on ticket {ticket}, line {line}, or was already returned")]
    SerialNotReturnable {
        ticket: u64,
        line: u32,
        serial: String,
    },
    #[error("ticket {ticket} has nothing left to cancel: every line was already returned")]
    NothingLeft { ticket: u64 },
    #[error(
        "line {line} of the original is listed twice: give each line once with the total quantity"
    )]
    RepeatedReturnLine { line: u32 },
    #[error(
        "line {line} of ticket {ticket} was itself given back on that exchange: return the \
         lines it sold, or find the original sale"
    )]
    LineWasAReturn { ticket: u64, line: u32 },
    #[error("an exchange takes back at least one line and sells at least one item: {missing}")]
    ExchangeIncomplete { missing: &'static str },
    #[error("line {line}: {quantity} is more than a till can sell on one line (at most {max})")]
    QuantityTooLarge { line: u32, quantity: i64, max: u32 },
    #[error(
        "line {line} of web order {order} was not handed over: only collected lines can come back"
    )]
    WebOrderLineNotCollected { order: String, line: u32 },
    #[error(
        "line {line} of web order {order}: {asked} asked back but only {remaining} left to return \
         ({collected} collected, {returned} already returned)"
    )]
    ReturnExceedsCollected {
        order: String,
        line: u32,
        collected: u32,
        returned: u32,
        asked: u32,
        remaining: u32,
    },
    #[error(
        "web order {order} is {state}: only goods handed over can be returned; hand it over or \
         refuse it first"
    )]
    WebOrderNotCollected { order: String, state: &'static str },
    #[error(
        "web order {order} was paid in the shop: return it from its sale ticket (scan the receipt \
         or find the ticket)"
    )]
    WebOrderPaidInShop { order: String },
    #[error(
        "a web order cannot be refunded by {kind:?} at the till: refund to cash, store credit or \
         the card"
    )]
    WebRefundTender { kind: TenderKind },
    #[error(
        "the original ticket was not paid by {kind:?}: refund in cash, to a credit note, or back \
         to what paid it"
    )]
    RefundNotAsPaid { kind: TenderKind },
    #[error(
        "a refund of {asked} by {kind:?} exceeds the {left} the original ticket paid that way and \
         not yet refunded: refund the rest in cash or to a credit note"
    )]
    RefundAbovePaid {
        kind: TenderKind,
        asked: Money,
        left: Money,
    },
    #[error("`{product}` is not on ticket {ticket}: check the receipt, or return it without it")]
    ItemNotOnOriginal { ticket: u64, product: String },
}

impl SaleError {
    /// A stable code the UI and scripts can match on.
    pub fn code(&self) -> &'static str {
        match self {
            SaleError::Limit(e) => e.code(),
            SaleError::StoredValue(e) => e.code(),
            SaleError::Empty => "ticket_empty",
            SaleError::ReasonRequired => "reason_required",
            SaleError::ZeroQuantity { .. } => "quantity_not_positive",
            SaleError::WrongUnit { .. } => "quantity_wrong_unit",
            SaleError::SerialCount { .. } => "serial_missing",
            SaleError::UnexpectedSerial { .. } => "serial_unexpected",
            SaleError::DuplicateSerial { .. } => "serial_duplicate",
            SaleError::BadSerial { .. } => "serial_invalid",
            SaleError::DiscountTooLarge { .. } => "discount_too_large",
            SaleError::BadDiscount { .. } => "discount_invalid",
            SaleError::NegativePrice { .. } => "price_negative",
            SaleError::TenderNotPositive { .. } => "tender_not_positive",
            SaleError::RefundTenderNotNegative { .. } => "refund_tender_not_negative",
            SaleError::TendersShort { .. } => "tenders_short",
            SaleError::ChangeWithoutCash { .. } => "change_without_cash",
            SaleError::RefundMismatch { .. } => "refund_mismatch",
            SaleError::TenderNotAccepted { .. } => "tender_not_accepted",
            SaleError::TenderAboveLimit { .. } => "tender_above_limit",
            SaleError::NotASale { .. } => "original_not_a_sale",
            SaleError::UnknownOriginalLine { .. } => "original_line_unknown",
            SaleError::ReturnExceeds { .. } => "return_exceeds_sale",
            SaleError::SerialNotReturnable { .. } => "serial_not_returnable",
            SaleError::NothingLeft { .. } => "nothing_left_to_return",
            SaleError::RepeatedReturnLine { .. } => "return_line_repeated",
            SaleError::QuantityTooLarge { .. } => "quantity_too_large",
            SaleError::LineWasAReturn { .. } => "original_line_was_returned",
            SaleError::ExchangeIncomplete { .. } => "exchange_incomplete",
            SaleError::WebOrderLineNotCollected { .. } => "web_order_line_not_collected",
            SaleError::ReturnExceedsCollected { .. } => "return_exceeds_collected",
            SaleError::WebOrderNotCollected { .. } => "web_order_not_collected",
            SaleError::WebOrderPaidInShop { .. } => "web_order_paid_in_shop",
            SaleError::WebRefundTender { .. } => "web_refund_tender_not_allowed",
            SaleError::RefundNotAsPaid { .. } => "refund_not_as_paid",
            SaleError::RefundAbovePaid { .. } => "refund_above_paid",
            SaleError::ItemNotOnOriginal { .. } => "item_not_on_original",
        }
    }
}
