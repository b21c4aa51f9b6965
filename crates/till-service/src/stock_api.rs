//! The API types of the stock screen (re-exported by [`crate::api`]): a product's stock here
//! and nearby, the shop's shipping notices, a delivery received, a transfer sent or received, a count started and finished,
//! the stock operations recorded.
//! Same conventions as [`crate::api`]: quantities are whole units (grams for goods sold by
//! weight) as JSON numbers.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A line received: what was expected (0 when nothing was announced), what arrived, how much
/// of it is damaged, and one IMEI per handset received in good condition.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockReceivedLine {
    pub product_id: String,
    #[serde(default)]
    #[ts(optional)]
    pub expected: Option<u32>,
    pub received: u32,
    #[serde(default)]
    #[ts(optional)]
    pub damaged: Option<u32>,
    #[serde(default)]
    #[ts(optional)]
    pub serials: Option<Vec<String>>,
}

/// `stock_receive`: a delivery, against its advance shipping notice (`asn`: a notice of
/// `stock_notices`, whose quantities are the expected ones; lines it lists and not given here
/// are missing) or without one.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockReceiveRequest {
    #[serde(default)]
    #[ts(optional)]
    pub asn: Option<String>,
    pub lines: Vec<StockReceivedLine>,
}

/// A line sent to another shop.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockSentLine {
    pub product_id: String,
    pub quantity: u32,
    #[serde(default)]
    #[ts(optional)]
    pub serials: Option<Vec<String>>,
}

/// `stock_transfer_send`: goods sent to another shop of the chain.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockTransferRequest {
    pub to_shop: String,
    pub lines: Vec<StockSentLine>,
}

/// `stock_transfer_receive`: a transfer from another shop received here (`expected`: what it
/// sent).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockArrivalRequest {
    pub transfer_id: String,
    pub from_shop: String,
    pub lines: Vec<StockReceivedLine>,
}

/// What a count covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StockCountBy {
    Full,
    Category,
    Shelf,
}

/// `stock_count_start`: a count, full or of one category or shelf (`value`), blind or not.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockCountStartRequest {
    pub by: StockCountBy,
    #[serde(default)]
    #[ts(optional)]
    pub value: Option<String>,
    #[serde(default)]
    pub blind: bool,
}

/// A line counted.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockCountedLine {
    pub product_id: String,
    pub counted: u32,
}

/// `stock_count_finish`: what was counted in count `count_id`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockCountFinishRequest {
    pub count_id: String,
    pub lines: Vec<StockCountedLine>,
}

/// `stock_operations`: the latest operations, newest first (`limit`: 20 by default).
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct StockOperationsRequest {
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// A line of a stock operation, with its differences (0 when none).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockLineView {
    pub product_id: String,
    /// `units` or `grams`.
    pub unit: String,
    /// Announced, sent or counted.
    pub expected: u32,
    /// Arrived, sent or counted.
    pub quantity: u32,
    pub damaged: u32,
    pub missing: u32,
    pub extra: u32,
    pub serials: Vec<String>,
}

/// A stock operation recorded at this till (a record of its `stock` chain).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockOperationView {
    pub seq: u32,
    /// UTC, RFC 3339.
    pub at: String,
    pub operator: String,
    /// `goods_receipt`, `transfer_out`, `transfer_in`, `count_started`, `count_finished`.
    pub kind: String,
    /// The receipt's, transfer's or count's id.
    pub id: String,
    pub asn: Option<String>,
    /// The shop goods went to or came from.
    pub other_shop: Option<String>,
    pub lines: Vec<StockLineView>,
    /// Whether any line differs from what was announced or sent.
    pub differences: bool,
}

/// A count started and not finished.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct OpenCountView {
    pub count_id: String,
    pub by: StockCountBy,
    pub value: Option<String>,
    pub blind: bool,
    /// UTC, RFC 3339.
    pub started_at: String,
}

/// A line of a shipping notice: what logistics sent of one product.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct NoticeLineView {
    pub product_id: String,
    /// `units` or `grams`.
    pub unit: String,
    pub quantity: u32,
    /// The IMEIs of the handsets sent, if any.
    pub serials: Vec<String>,
}

/// `stock_notices`: an advance shipping notice of this shop not yet received.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ShippingNoticeView {
    pub id: String,
    pub lines: Vec<NoticeLineView>,
}

/// `stock_on_hand`: the products to ask head office about (1 to 100).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockOnHandRequest {
    pub products: Vec<String>,
}

/// A product's figures at one shop (whole units, or grams for goods sold by weight).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ShopStockView {
    pub shop_id: String,
    pub shop_name: String,
    /// `units` or `grams`.
    pub unit: String,
    pub on_hand: i32,
    /// Sent by another shop, not received yet.
    pub in_transit: i32,
    /// Held for click & collect orders.
    pub reserved: i32,
    /// What may be promised.
    pub available: i32,
}

/// One product's stock here and at the other shops of the region.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ProductStockView {
    pub product_id: String,
    pub here: ShopStockView,
    /// Most available first.
    pub nearby: Vec<ShopStockView>,
    /// When head office answered (UTC, RFC 3339).
    pub answered_at: String,
    /// Seconds since this till received that answer: 0 when head office answered just now.
    pub age_seconds: u32,
}

/// The answer of `stock_on_hand`: head office's figures now (`live`), or the last ones this
/// till kept, each with its age, when head office does not answer.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StockOnHandView {
    pub live: bool,
    /// Why head office did not answer, when it did not.
    pub unreachable: Option<String>,
    pub products: Vec<ProductStockView>,
    /// The products asked about that head office never answered for at this till.
    pub unknown: Vec<String>,
}
