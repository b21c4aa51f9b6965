//! What callers send to the engine (the CLI's JSON on stdin, the app's commands) and what it
//! answers. These are the engine API's wire types: amounts are strings, never floats.

use pos_domain::Money;
use pos_domain::closure::{Closure, PeriodTotals};
use pos_domain::record::{Chain, SignedRecord};
use pos_domain::tender::Tender;
use pos_domain::ticket::{Discount, ReturnLine, Ticket};
use serde::{Deserialize, Serialize};

/// One line of a sale as entered: a product by barcode or id, and how many.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleLineRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// Units, for products sold by unit (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    /// Grams, for weighed products.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grams: Option<i64>,
    /// A price overriding the shelf price (including VAT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serials: Vec<String>,
}

/// A sale as entered.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleRequest {
    /// The staff member at the till.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    pub lines: Vec<SaleLineRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    pub tenders: Vec<Tender>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Training mode ("mode école"): recorded in its own chain, never in the totals.
    #[serde(default)]
    pub training: bool,
}

/// A return of lines of an earlier ticket, or (with `cancel`) of everything left on it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The original ticket number.
    pub original: u64,
    #[serde(default)]
    pub lines: Vec<ReturnLine>,
    /// Cancel the whole ticket (everything not yet returned).
    #[serde(default)]
    pub cancel: bool,
    /// Refund tenders (negative amounts). When omitted, the refund goes back in cash if the
    /// original was paid partly in cash, otherwise to the original's first tender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenders: Option<Vec<Tender>>,
}

/// An exchange: lines of an earlier ticket brought back and new items taken, on one ticket.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The original ticket number (a sale, or an earlier exchange's new items).
    pub original: u64,
    /// The lines of the original coming back.
    pub returned: Vec<ReturnLine>,
    /// The items taken instead, entered as in a sale.
    pub lines: Vec<SaleLineRequest>,
    /// The customer, when not the original's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// When the difference is positive: what the customer pays (required). When negative: the
    /// refund (negative amounts); omitted, it goes back as the original was paid. When zero:
    /// nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenders: Option<Vec<Tender>>,
}

/// A ticket as recorded in the ledger.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedTicket {
    pub chain: Chain,
    pub number: u64,
    /// UTC time of recording, RFC 3339.
    pub at: String,
    pub operator: String,
    #[serde(flatten)]
    pub ticket: Ticket,
    pub signature: String,
    pub hash: String,
}

impl RecordedTicket {
    pub(crate) fn from_record(signed: &SignedRecord) -> Result<RecordedTicket, serde_json::Error> {
        Ok(RecordedTicket {
            chain: signed.record.chain,
            number: signed.record.seq,
            at: pos_domain::record::timestamp::format(&signed.record.at),
            operator: signed.record.operator.clone(),
            ticket: serde_json::from_value(signed.record.payload.clone())?,
            signature: signed.signature.to_string(),
            hash: signed.hash(),
        })
    }
}

/// A closure as recorded in the ledger.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedClosure {
    pub number: u64,
    pub at: String,
    #[serde(flatten)]
    pub closure: Closure,
    pub signature: String,
}

/// An X report: the totals of the current (not yet closed) day, not recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct XReport {
    pub at: String,
    /// Ticket numbers after the last day closure.
    pub since_closure: Option<u64>,
    pub totals: PeriodTotals,
    /// Cash the drawer should hold: float and movements plus net cash taken.
    pub expected_cash: Money,
}

/// Why the app should ask for the day closure now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosureDueReason {
    /// A day before today (in the shop's time zone) has tickets and no Z.
    DayChanged,
    /// It is past the shop's closing hour and today has tickets with no Z.
    PastClosingHour,
}

/// The days with tickets and no Z, oldest first, and whether the Z is due now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosureDue {
    pub open_days: Vec<String>,
    pub reason: Option<ClosureDueReason>,
}
