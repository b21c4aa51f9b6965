//! Stock operations a shop records at its till: goods received (against an advance shipping
//! notice or without one), goods sent to another shop and received there, and stock counts.
//! Each is the payload of a record of the non-fiscal [`crate::record::Chain::Stock`] chain,
//! signed and uploaded exactly once like every record; no ticket, total or closure reads them.
//!
//! Quantities are whole units, or grams for goods sold by weight ([`StockUnit`]), never
//! negative: a difference is the gap between two stated quantities (expected and received),
//! so a reader can always explain it. The effect of an operation on a shop's stock is
//! [`StockOperation::effects`], the one rule head office applies.
//!
//! A count is started (a [`CountStart`], which fixes the moment) and finished (a
//! [`CountResult`] naming that moment): head office adjusts each counted product against its
//! stock *at the start*, so sales made while the count goes on are not lost.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::Imei;
use crate::limits::{self, LimitError, MAX_ID_CHARS, MAX_LABEL_CHARS, MAX_QUANTITY};
use crate::record::timestamp;

/// The unit a product's stock is counted in.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StockUnit {
    #[default]
    Units,
    /// Goods sold by weight.
    Grams,
}

impl StockUnit {
    pub fn name(self) -> &'static str {
        match self {
            StockUnit::Units => "units",
            StockUnit::Grams => "grams",
        }
    }
}

/// A line received (a delivery, or a transfer arriving): what was expected, what arrived and
/// how much of it is damaged (received, but not sellable).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLine {
    pub product_id: String,
    #[serde(default)]
    pub unit: StockUnit,
    /// What the notice (or the sending shop) said; 0 for goods nobody announced.
    pub expected: u32,
    pub received: u32,
    #[serde(default)]
    pub damaged: u32,
    /// The IMEIs of the handsets received in good condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serials: Vec<Imei>,
}

impl ReceivedLine {
    /// Announced but not arrived.
    pub fn missing(&self) -> u32 {
        self.expected.saturating_sub(self.received)
    }

    /// Arrived but not announced.
    pub fn extra(&self) -> u32 {
        self.received.saturating_sub(self.expected)
    }

    /// What goes on the shelf: received in good condition.
    pub fn sellable(&self) -> u32 {
        self.received - self.damaged
    }

    /// Whether this line differs from what was announced (reported to logistics).
    pub fn has_difference(&self) -> bool {
        self.missing() > 0 || self.extra() > 0 || self.damaged > 0
    }
}

/// A line sent to another shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentLine {
    pub product_id: String,
    #[serde(default)]
    pub unit: StockUnit,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serials: Vec<Imei>,
}

/// What a count covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "value")]
pub enum CountScope {
    /// Every product of the shop.
    Full,
    /// The products of one catalog category.
    Category(String),
    /// What stands on one shelf (a label the shop gives its shelves).
    Shelf(String),
}

/// A line counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountedLine {
    pub product_id: String,
    #[serde(default)]
    pub unit: StockUnit,
    pub counted: u32,
}

/// Goods received at the shop from logistics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoodsReceipt {
    /// Made at the till, unique in the chain (`<till>-R<n>`).
    pub receipt_id: String,
    /// The advance shipping notice received against, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<String>,
    pub lines: Vec<ReceivedLine>,
}

/// Goods sent to another shop of the chain; in transit until that shop receives them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferOut {
    /// Made at the sending till (`<till>-T<n>`); the receiving shop names it.
    pub transfer_id: String,
    pub to_shop: String,
    pub lines: Vec<SentLine>,
}

/// A transfer from another shop received here, with the differences on arrival.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferIn {
    pub transfer_id: String,
    pub from_shop: String,
    /// `expected` is what the sending shop sent.
    pub lines: Vec<ReceivedLine>,
}

/// An advance shipping notice: what logistics sent to one shop. Head office takes it in (its
/// HTTP API or a CSV file in its drop folder) and sends it to that shop's tills through the
/// changes feed ([`crate::wire::kinds::SHIPPING_NOTICE`], keyed by `id`); a till receives a
/// delivery against it ([`GoodsReceipt::asn`] names it), each line's `quantity` becoming the
/// [`ReceivedLine::expected`] the differences are measured from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingNotice {
    /// The notice's number at logistics, unique in the chain.
    pub id: String,
    /// The shop the goods go to.
    pub shop_id: String,
    pub lines: Vec<NoticeLine>,
}

/// A line of a shipping notice: what logistics sent of one product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeLine {
    pub product_id: String,
    #[serde(default)]
    pub unit: StockUnit,
    pub quantity: u32,
    /// The IMEIs of the handsets sent, one per unit, or none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serials: Vec<Imei>,
}

impl ShippingNotice {
    /// Checks every bound and rule (head office before storing it, a till again when reading
    /// it from the feed).
    pub fn check(&self) -> Result<(), StockError> {
        check_id("the shipping notice", &self.id)?;
        check_id("the shop", &self.shop_id)?;
        check_line_count(self.lines.len())?;
        check_products(self.lines.iter().map(|l| (l.product_id.as_str(), l.unit)))?;
        for (index, l) in self.lines.iter().enumerate() {
            check_quantity(index + 1, "quantity", l.quantity)?;
            check_serials(index + 1, &l.serials, l.quantity)?;
        }
        Ok(())
    }
}

/// A count begins: its moment is this record's time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountStart {
    pub count_id: String,
    pub scope: CountScope,
    /// The counter does not see the expected quantities.
    pub blind: bool,
}

/// A count finished: what was counted, against the stock at `started_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountResult {
    pub count_id: String,
    pub scope: CountScope,
    /// The time of the count's [`CountStart`] record.
    #[serde(with = "timestamp")]
    pub started_at: DateTime<Utc>,
    pub lines: Vec<CountedLine>,
}

/// The payload of a stock-chain record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "operation")]
pub enum StockOperation {
    GoodsReceipt(GoodsReceipt),
    TransferOut(TransferOut),
    TransferIn(TransferIn),
    CountStarted(CountStart),
    CountFinished(CountResult),
}

/// What an operation does to one product's stock at one shop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Goods onto (positive) or off (negative) the shop's shelves, and in transit towards it.
    Move {
        shop: ShopRef,
        product_id: String,
        unit: StockUnit,
        kind: MovementKind,
        on_hand: i64,
        in_transit: i64,
    },
    /// Set the product's stock to `counted` as it stood at `started_at` (head office computes
    /// the adjustment against its movements).
    Count {
        product_id: String,
        unit: StockUnit,
        counted: u32,
        started_at: DateTime<Utc>,
    },
}

/// Which shop an effect is at: the till's own, or another (the destination of a transfer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShopRef {
    Own,
    Other(String),
}

/// The kinds of stock movement, each with a stable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    Sale,
    Return,
    Exchange,
    GoodsReceipt,
    TransferOut,
    /// Goods sent towards a shop (in transit there until received).
    TransferSent,
    TransferIn,
    CountAdjustment,
    Reservation,
    ReservationReleased,
    ReservationConsumed,
}

impl MovementKind {
    pub fn name(self) -> &'static str {
        match self {
            MovementKind::Sale => "sale",
            MovementKind::Return => "return",
            MovementKind::Exchange => "exchange",
            MovementKind::GoodsReceipt => "goods_receipt",
            MovementKind::TransferOut => "transfer_out",
            MovementKind::TransferSent => "transfer_sent",
            MovementKind::TransferIn => "transfer_in",
            MovementKind::CountAdjustment => "count_adjustment",
            MovementKind::Reservation => "reservation",
            MovementKind::ReservationReleased => "reservation_released",
            MovementKind::ReservationConsumed => "reservation_consumed",
        }
    }
}

/// Why a stock operation is refused. Nothing is recorded when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("{0}")]
    Limit(#[from] LimitError),
    #[error("the operation has no lines: scan at least one product")]
    NoLines,
    #[error(
        "line {line}: {damaged} damaged is more than the {received} received: count the \
         damaged goods among those received"
    )]
    DamagedBeyondReceived {
        line: usize,
        damaged: u32,
        received: u32,
    },
    #[error(
        "line {line}: {serials} IMEIs for {quantity} goods: scan one IMEI per handset in good \
         condition, or none"
    )]
    SerialsMismatch {
        line: usize,
        serials: usize,
        quantity: u32,
    },
    #[error("line {line}: product `{product}` appears twice: put its quantities on one line")]
    DuplicateProduct { line: usize, product: String },
    #[error("a transfer goes to another shop: choose a shop other than this one")]
    TransferToSelf,
    #[error("`{0}` is empty: fill it in")]
    Empty(&'static str),
}

impl StockError {
    /// A stable code the UI and scripts can match on.
    pub fn code(&self) -> &'static str {
        match self {
            StockError::Limit(e) => e.code(),
            StockError::NoLines => "stock_no_lines",
            StockError::DamagedBeyondReceived { .. } => "stock_damaged_beyond_received",
            StockError::SerialsMismatch { .. } => "stock_serials_mismatch",
            StockError::DuplicateProduct { .. } => "stock_duplicate_product",
            StockError::TransferToSelf => "stock_transfer_to_self",
            StockError::Empty(_) => "stock_field_empty",
        }
    }
}

fn check_id(what: &'static str, id: &str) -> Result<(), StockError> {
    if id.trim().is_empty() {
        return Err(StockError::Empty(what));
    }
    Ok(limits::check_text(what, id, MAX_ID_CHARS)?)
}

fn check_line_count(count: usize) -> Result<(), StockError> {
    if count == 0 {
        return Err(StockError::NoLines);
    }
    Ok(limits::check_lines("the stock operation", count)?)
}

fn check_products<'a>(
    products: impl Iterator<Item = (&'a str, StockUnit)>,
) -> Result<(), StockError> {
    let mut seen = std::collections::BTreeSet::new();
    for (index, (product, unit)) in products.enumerate() {
        let line = index + 1;
        check_id("the product", product)?;
        if !seen.insert((product, unit)) {
            return Err(StockError::DuplicateProduct {
                line,
                product: product.to_string(),
            });
        }
    }
    Ok(())
}

fn check_quantity(line: usize, what: &str, quantity: u32) -> Result<(), StockError> {
    Ok(limits::check_quantity(
        format!("line {line}: {what}"),
        u64::from(quantity),
        MAX_QUANTITY,
    )?)
}

fn check_serials(line: usize, serials: &[Imei], quantity: u32) -> Result<(), StockError> {
    if !serials.is_empty() && serials.len() != quantity as usize {
        return Err(StockError::SerialsMismatch {
            line,
            serials: serials.len(),
            quantity,
        });
    }
    Ok(())
}

fn check_received(lines: &[ReceivedLine]) -> Result<(), StockError> {
    check_line_count(lines.len())?;
    check_products(lines.iter().map(|l| (l.product_id.as_str(), l.unit)))?;
    for (index, l) in lines.iter().enumerate() {
        let line = index + 1;
        check_quantity(line, "expected", l.expected)?;
        check_quantity(line, "received", l.received)?;
        if l.damaged > l.received {
            return Err(StockError::DamagedBeyondReceived {
                line,
                damaged: l.damaged,
                received: l.received,
            });
        }
        check_serials(line, &l.serials, l.sellable())?;
    }
    Ok(())
}

impl StockOperation {
    /// Checks every bound and rule before the operation is signed (and again when read).
    pub fn check(&self) -> Result<(), StockError> {
        match self {
            StockOperation::GoodsReceipt(r) => {
                check_id("the receipt id", &r.receipt_id)?;
                if let Some(asn) = &r.asn {
                    check_id("the shipping notice", asn)?;
                }
                check_received(&r.lines)
            }
            StockOperation::TransferOut(t) => {
                check_id("the transfer id", &t.transfer_id)?;
                check_id("the destination shop", &t.to_shop)?;
                check_line_count(t.lines.len())?;
                check_products(t.lines.iter().map(|l| (l.product_id.as_str(), l.unit)))?;
                for (index, l) in t.lines.iter().enumerate() {
                    check_quantity(index + 1, "quantity", l.quantity)?;
                    check_serials(index + 1, &l.serials, l.quantity)?;
                }
                Ok(())
            }
            StockOperation::TransferIn(t) => {
                check_id("the transfer id", &t.transfer_id)?;
                check_id("the sending shop", &t.from_shop)?;
                check_received(&t.lines)
            }
            StockOperation::CountStarted(c) => {
                check_id("the count id", &c.count_id)?;
                check_scope(&c.scope)
            }
            StockOperation::CountFinished(c) => {
                check_id("the count id", &c.count_id)?;
                check_scope(&c.scope)?;
                check_line_count(c.lines.len())?;
                check_products(c.lines.iter().map(|l| (l.product_id.as_str(), l.unit)))?;
                for (index, l) in c.lines.iter().enumerate() {
                    check_quantity(index + 1, "counted", l.counted)?;
                }
                Ok(())
            }
        }
    }

    /// What the operation does to stock, recorded by a till of shop `own`: the one rule
    /// head office applies. A transfer out takes goods off this shop's shelves and puts them in
    /// transit towards the destination; a transfer in ends the whole sent quantity's transit
    /// and puts what arrived in good condition on the shelves (the rest is the loss).
    pub fn effects(&self, own: &str) -> Vec<Effect> {
        let mv = |shop: ShopRef, product: &str, unit, kind, on_hand: i64, in_transit: i64| {
            Effect::Move {
                shop,
                product_id: product.to_string(),
                unit,
                kind,
                on_hand,
                in_transit,
            }
        };
        match self {
            StockOperation::GoodsReceipt(r) => r
                .lines
                .iter()
                .map(|l| {
                    let sellable = i64::from(l.sellable());
                    mv(
                        ShopRef::Own,
                        &l.product_id,
                        l.unit,
                        MovementKind::GoodsReceipt,
                        sellable,
                        0,
                    )
                })
                .collect(),
            StockOperation::TransferOut(t) => {
                let to = if t.to_shop == own {
                    ShopRef::Own
                } else {
                    ShopRef::Other(t.to_shop.clone())
                };
                t.lines
                    .iter()
                    .flat_map(|l| {
                        let q = i64::from(l.quantity);
                        [
                            mv(
                                ShopRef::Own,
                                &l.product_id,
                                l.unit,
                                MovementKind::TransferOut,
                                -q,
                                0,
                            ),
                            mv(
                                to.clone(),
                                &l.product_id,
                                l.unit,
                                MovementKind::TransferSent,
                                0,
                                q,
                            ),
                        ]
                    })
                    .collect()
            }
            StockOperation::TransferIn(t) => t
                .lines
                .iter()
                .map(|l| {
                    mv(
                        ShopRef::Own,
                        &l.product_id,
                        l.unit,
                        MovementKind::TransferIn,
                        i64::from(l.sellable()),
                        -i64::from(l.expected),
                    )
                })
                .collect(),
            StockOperation::CountStarted(_) => Vec::new(),
            StockOperation::CountFinished(c) => c
                .lines
                .iter()
                .map(|l| Effect::Count {
                    product_id: l.product_id.clone(),
                    unit: l.unit,
                    counted: l.counted,
                    started_at: c.started_at,
                })
                .collect(),
        }
    }

    /// The IMEIs that arrive in good condition at the till's shop.
    pub fn serials_in(&self) -> Vec<&Imei> {
        match self {
            StockOperation::GoodsReceipt(GoodsReceipt { lines, .. })
            | StockOperation::TransferIn(TransferIn { lines, .. }) => {
                lines.iter().flat_map(|l| &l.serials).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The IMEIs that leave the till's shop.
    pub fn serials_out(&self) -> Vec<&Imei> {
        match self {
            StockOperation::TransferOut(t) => t.lines.iter().flat_map(|l| &l.serials).collect(),
            _ => Vec::new(),
        }
    }

    /// The operation's own id (receipt, transfer or count).
    pub fn id(&self) -> &str {
        match self {
            StockOperation::GoodsReceipt(r) => &r.receipt_id,
            StockOperation::TransferOut(t) => &t.transfer_id,
            StockOperation::TransferIn(t) => &t.transfer_id,
            StockOperation::CountStarted(c) => &c.count_id,
            StockOperation::CountFinished(c) => &c.count_id,
        }
    }

    /// A stable name of the operation's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            StockOperation::GoodsReceipt(_) => "goods_receipt",
            StockOperation::TransferOut(_) => "transfer_out",
            StockOperation::TransferIn(_) => "transfer_in",
            StockOperation::CountStarted(_) => "count_started",
            StockOperation::CountFinished(_) => "count_finished",
        }
    }
}

fn check_scope(scope: &CountScope) -> Result<(), StockError> {
    match scope {
        CountScope::Full => Ok(()),
        CountScope::Category(name) | CountScope::Shelf(name) => {
            if name.trim().is_empty() {
                return Err(StockError::Empty("the category or shelf"));
            }
            Ok(limits::check_text(
                "the category or shelf",
                name,
                MAX_LABEL_CHARS,
            )?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imei(payload: &str) -> Imei {
        let digits: Vec<u32> = payload.chars().map(|c| c.to_digit(10).unwrap()).collect();
        format!("{payload}{}", Imei::luhn_digit(&digits))
            .parse()
            .unwrap()
    }

    fn received(product: &str, expected: u32, received: u32, damaged: u32) -> ReceivedLine {
        ReceivedLine {
            product_id: product.into(),
            unit: StockUnit::Units,
            expected,
            received,
            damaged,
            serials: Vec::new(),
        }
    }

    #[test]
    fn a_receipt_puts_what_arrived_in_good_condition_on_the_shelves() {
        let op = StockOperation::GoodsReceipt(GoodsReceipt {
            receipt_id: "T1-R1".into(),
            asn: Some("ASN-1".into()),
            lines: vec![received("A", 10, 8, 1), received("B", 0, 2, 0)],
        });
        op.check().unwrap();
        let Effect::Move { on_hand, kind, .. } = &op.effects("S1")[0] else {
            panic!("a receipt moves goods");
        };
        assert_eq!(
            (*on_hand, *kind),
            (7, MovementKind::GoodsReceipt),
            "8 received, 1 damaged: 7 sellable"
        );
        let StockOperation::GoodsReceipt(r) = &op else {
            unreachable!()
        };
        assert_eq!(
            (r.lines[0].missing(), r.lines[1].extra()),
            (2, 2),
            "missing and extra are the gaps to the notice"
        );
    }

    #[test]
    fn a_transfer_is_in_transit_at_its_destination_until_received() {
        let out = StockOperation::TransferOut(TransferOut {
            transfer_id: "T1-T1".into(),
            to_shop: "S2".into(),
            lines: vec![SentLine {
                product_id: "A".into(),
                unit: StockUnit::Units,
                quantity: 5,
                serials: Vec::new(),
            }],
        });
        let arrive = StockOperation::TransferIn(TransferIn {
            transfer_id: "T1-T1".into(),
            from_shop: "S1".into(),
            lines: vec![received("A", 5, 4, 0)],
        });
        let transit: i64 = out
            .effects("S1")
            .into_iter()
            .chain(arrive.effects("S2"))
            .map(|e| match e {
                Effect::Move { in_transit, .. } => in_transit,
                Effect::Count { .. } => 0,
            })
            .sum();
        assert_eq!(
            transit, 0,
            "a received transfer leaves nothing in transit, even with a loss"
        );
        assert!(
            matches!(&out.effects("S1")[1], Effect::Move { shop: ShopRef::Other(s), .. } if s == "S2")
        );
    }

    #[test]
    fn bad_operations_are_refused_with_a_code() {
        let mut line = received("A", 1, 1, 2);
        let op = StockOperation::GoodsReceipt(GoodsReceipt {
            receipt_id: "R".into(),
            asn: None,
            lines: vec![line.clone()],
        });
        assert_eq!(
            op.check().unwrap_err().code(),
            "stock_damaged_beyond_received"
        );
        line.damaged = 0;
        line.serials = vec![imei("35000000000001"), imei("35000000000002")];
        let op = StockOperation::GoodsReceipt(GoodsReceipt {
            receipt_id: "R".into(),
            asn: None,
            lines: vec![line],
        });
        assert_eq!(op.check().unwrap_err().code(), "stock_serials_mismatch");
        let op = StockOperation::CountFinished(CountResult {
            count_id: "C".into(),
            scope: CountScope::Full,
            started_at: Utc::now(),
            lines: Vec::new(),
        });
        assert_eq!(op.check().unwrap_err().code(), "stock_no_lines");
    }

    #[test]
    fn the_payload_is_tagged_by_operation() {
        let op = StockOperation::CountStarted(CountStart {
            count_id: "C1".into(),
            scope: CountScope::Category("phones".into()),
            blind: true,
        });
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(
            json,
            r#"{"operation":"count_started","count_id":"C1","scope":{"by":"category","value":"phones"},"blind":true}"#
        );
        assert_eq!(serde_json::from_str::<StockOperation>(&json).unwrap(), op);
    }
}
