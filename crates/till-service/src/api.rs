//! The cashier app's API types: what each command takes and answers.
//!
//! These types are the protocol between the app's screens and the till: the TypeScript the UI
//! compiles against is generated from them (see [`crate::bindings`]), so a change here is a
//! change of the UI's contract. Amounts cross as decimal strings (`"12.50"`), never as floats;
//! ticket numbers as JSON numbers. Optional inputs may be left out.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use crate::shop_floor_api::*;
pub use crate::stock_api::*;

/// A request without parameters: `{}` (or `null`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct Empty {}

// ---------------------------------------------------------------------------------------------
// Session and approvals

/// A staff member's role at the till.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Cashier,
    /// The shop manager (not a head-office user: head office's users never log in at a till).
    Manager,
    /// Stock work: products, web orders to prepare; never cash or sales.
    Stock,
}

/// A staff member as the login screen lists them (never their PIN).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StaffMember {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// `login`: a staff PIN, and optionally who is logging in (faster with many staff).
///
/// Guessing is limited per staff member (when `staff_id` names one) and per till (without):
/// from the third wrong PIN the next try waits (`pin_wait`), the sixth locks PIN entry out
/// (`pin_locked`) for that staff member, or for PINs typed without choosing a name, until a
/// manager lifts it (`unlock_pins`) or head office re-sends the staff. Each series is
/// journaled (`login_failed` events).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct LoginRequest {
    pub pin: String,
    #[serde(default)]
    #[ts(optional)]
    pub staff_id: Option<String>,
}

/// Who is logged in at the till.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct Session {
    pub staff: StaffMember,
    /// UTC, RFC 3339.
    pub since: String,
}

/// `session`: the current session, if anyone is logged in.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CurrentSession {
    pub session: Option<Session>,
}

/// What a cashier may not do without a manager's PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalAction {
    /// A line sold at a price other than the catalog's.
    PriceOverride,
    /// A discount taking off more than the shop's limit (see `TillInfo.discount_limit_percent`).
    DiscountAboveLimit,
    /// A return (or exchange) of a ticket found by its number rather than by scanning its
    /// receipt.
    RefundWithoutReceipt,
    /// Opening the drawer outside a cash sale.
    DrawerOpenWithoutSale,
    /// Lifting a lockout after too many wrong PINs (`unlock_pins`).
    UnlockPins,
    /// A return head office could not check: another till's receipt while offline, or no
    /// receipt at all (`return_anywhere`).
    ReturnUnchecked,
    /// A pay-out above the shop's limit (see `cash_office_rules`).
    PayOutAboveLimit,
}

/// `approve`: a manager types their PIN to allow one action. Wrong PINs count as at login
/// (see `login`).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ApprovalRequest {
    pub pin: String,
    pub action: ApprovalAction,
    /// The manager chosen before typing; without, the PIN is tried against every manager.
    #[serde(default)]
    #[ts(optional)]
    pub staff_id: Option<String>,
}

/// `unlock_pins`: lifts the lockout after too many wrong PINs of one staff member, or every
/// lockout of this till when `staff_id` is left out. A manager, or a cashier with a manager's
/// approval for `unlock_pins`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct UnlockPinsRequest {
    #[serde(default)]
    #[ts(optional)]
    pub staff_id: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub approval: Option<String>,
}

/// The lockouts lifted: `till` (PINs typed without choosing a name) or `staff:ID`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct UnlockedPins {
    pub lifted: Vec<String>,
}

/// A manager's approval: pass `approval_id` with the command it allows. Used once; it expires
/// after five minutes or at logout.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct Approval {
    pub approval_id: String,
    pub action: ApprovalAction,
    pub manager: StaffMember,
}

// ---------------------------------------------------------------------------------------------
// Catalog

/// Whether a serial number (IMEI) must be captured per unit sold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SerialKind {
    None,
    Imei,
}

/// How a product is counted: units, or grams (price per kilogram).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SoldBy {
    Unit,
    Weight,
}

/// A catalog product.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ProductView {
    pub id: String,
    pub label: String,
    pub category: String,
    pub barcodes: Vec<String>,
    /// Shelf price including VAT (per unit, or per kilogram when sold by weight).
    pub price: String,
    /// VAT rate in percent for this till's territory, e.g. `"20"`.
    pub vat_rate: String,
    pub sold_by: SoldBy,
    pub serial: SerialKind,
}

/// `product_by_barcode`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct BarcodeRequest {
    pub barcode: String,
}

/// `product_by_id`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ProductIdRequest {
    pub id: String,
}

/// `search_products`: words typed so far, matched as prefixes, ignoring case and accents.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct SearchRequest {
    pub text: String,
    /// At most this many products (default 20, at most 200).
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// A category of the catalog and how many products it holds.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CategoryView {
    pub name: String,
    pub products: u32,
}

/// `products_in_category`, by label order, a page at a time.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CategoryRequest {
    pub category: String,
    /// Default 50, at most 200.
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<u32>,
    #[serde(default)]
    #[ts(optional)]
    pub offset: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// Cart and quote

/// A discount as entered: `{ "percent": "10" }` or `{ "amount": "5.00" }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DiscountInput {
    Percent(String),
    Amount(String),
}

/// One line of the cart: a product by id or barcode, and how many.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct CartLine {
    #[serde(default)]
    #[ts(optional)]
    pub product_id: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub barcode: Option<String>,
    /// Units (default 1).
    #[serde(default)]
    #[ts(optional)]
    pub quantity: Option<u32>,
    /// Grams, for products sold by weight.
    #[serde(default)]
    #[ts(optional)]
    pub grams: Option<u32>,
    /// A price replacing the catalog's (including VAT): needs a `price_override` approval.
    #[serde(default)]
    #[ts(optional)]
    pub unit_price: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub discount: Option<DiscountInput>,
    /// The seller credited with the line (commission).
    #[serde(default)]
    #[ts(optional)]
    pub seller: Option<String>,
    /// One IMEI per unit for handsets.
    #[serde(default)]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub serials: Vec<String>,
}

/// A cart as the sale screen holds it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    /// A discount on the whole ticket.
    #[serde(default)]
    #[ts(optional)]
    pub discount: Option<DiscountInput>,
    /// The customer's id (from `customer_search` or `customer_create`); the ticket names
    /// them by this id only.
    #[serde(default)]
    #[ts(optional)]
    pub customer: Option<String>,
    /// Approval ids (from `approve`) for what this cart needs (see `Quote.approvals_needed`).
    #[serde(default)]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub approvals: Vec<String>,
}

/// A quantity as shown: units or grams, and its text (`"2"`, `"0.350 kg"`).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct QuantityView {
    pub unit: QuantityUnit,
    pub value: u32,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum QuantityUnit {
    Units,
    Grams,
}

/// A priced line, as the engine computed it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct LineView {
    /// 1-based line number (what a return refers to).
    pub line: u32,
    pub product_id: String,
    pub label: String,
    pub category: String,
    pub quantity: QuantityView,
    pub unit_price: String,
    /// Unit price times quantity.
    pub gross: String,
    /// Taken off by the line's discount.
    pub line_discount: String,
    /// The head-office promotion the line's discount comes from (its label), if it does.
    pub promotion: Option<String>,
    /// This line's share of the ticket discount.
    pub ticket_discount_share: String,
    /// What the customer pays for the line, VAT included.
    pub total: String,
    pub vat_rate: String,
    pub seller: Option<String>,
    pub serials: Vec<String>,
    /// On a return: the line of the original ticket.
    pub original_line: Option<u32>,
}

/// One VAT rate's share.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct VatView {
    pub rate: String,
    pub excluding_vat: String,
    pub vat: String,
    pub including_vat: String,
}

/// A means of payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TenderKind {
    Cash,
    Card,
    GiftCard,
    Voucher,
    Cheque,
    StoreCredit,
}

/// How this shop takes a means of payment, as head office set it (the payment screen offers
/// only those `accepted`).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct TenderTypeView {
    pub kind: TenderKind,
    pub accepted: bool,
    /// The name head office gave it (`Titre-restaurant`), when not the usual one.
    pub label: Option<String>,
    /// The most one ticket may take in it.
    pub max_amount: Option<String>,
}

/// A tender as entered at payment. A card tender names the approved `payment_id` from
/// `card_payment_start`; gift card, voucher and cheque take their number as `reference`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct TenderInput {
    pub kind: TenderKind,
    pub amount: String,
    #[serde(default)]
    #[ts(optional)]
    pub reference: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub payment_id: Option<String>,
}

/// `quote`: the cart, and the tenders entered so far (to show what is left to pay).
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct QuoteRequest {
    pub cart: Cart,
    #[serde(default)]
    #[ts(as = "Option<Vec<TenderInput>>", optional)]
    pub tenders: Vec<TenderInput>,
}

/// The cart priced by the engine, without recording anything.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct Quote {
    pub lines: Vec<LineView>,
    pub vat: Vec<VatView>,
    pub ticket_discount: String,
    /// Total including VAT.
    pub total: String,
    /// Sum of the tenders given.
    pub tendered: String,
    /// What is still to pay (zero once the tenders cover the total).
    pub amount_due: String,
    /// Cash to give back if the sale were recorded with these tenders.
    pub change: String,
    /// Approvals the cart needs before `sell` accepts it (and not yet given in `cart.approvals`).
    pub approvals_needed: Vec<ApprovalAction>,
}

// ---------------------------------------------------------------------------------------------
// Customers

/// A customer as the sale screen shows them.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CustomerView {
    pub id: String,
    pub name: String,
    /// E.164 (`+33612345678`).
    pub phone: Option<String>,
    /// The phone number as written in France (`06 12 34 56 78`), or internationally
    /// (`+44 20 7946 0958`) for a foreign one.
    pub phone_display: Option<String>,
    pub email: Option<String>,
}

/// `customer_search`: what was typed (the start of a name, e-mail address or phone number).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CustomerSearchRequest {
    pub text: String,
    /// At most this many customers (default 20, at most 200).
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// `customer_create`: a name and a phone number or an e-mail address (or both).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CustomerInput {
    pub name: String,
    #[serde(default)]
    #[ts(optional)]
    pub phone: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub email: Option<String>,
}

/// `customer_update`: a customer's id and all their contact details as they now are.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CustomerUpdateRequest {
    pub id: String,
    pub name: String,
    #[serde(default)]
    #[ts(optional)]
    pub phone: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub email: Option<String>,
}

/// `customer_get`: a customer's id.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CustomerId {
    pub id: String,
}

// ---------------------------------------------------------------------------------------------
// Parked carts

/// `park_cart`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ParkRequest {
    pub cart: Cart,
    /// A note to find it again ("customer in the red coat").
    #[serde(default)]
    #[ts(optional)]
    pub label: Option<String>,
}

/// A parked cart as listed.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ParkedCart {
    pub id: u32,
    pub label: Option<String>,
    pub operator: String,
    /// UTC, RFC 3339.
    pub parked_at: String,
    pub lines: u32,
    /// The total when parked (prices are quoted again on resume).
    pub total: String,
}

/// `resume_cart`, `delete_parked_cart`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ParkedCartId {
    pub id: u32,
}

// ---------------------------------------------------------------------------------------------
// Card payments

/// Where a card payment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// The terminal has the request: the customer is paying.
    Pending,
    /// Charged: use it as a card tender (`payment_id`).
    Approved,
    /// Charged for less than asked (Caisse-AP): collect the rest another way.
    PartiallyApproved,
    /// Refused by the terminal: nothing was charged.
    Declined,
    /// The terminal never took the request: nothing was charged; safe to try again.
    NotSent,
    /// The terminal took the request but gave no usable answer: check its own receipt, then
    /// `card_payment_resolve`.
    Unknown,
    /// Cancelled on the terminal after approval (the customer was not charged in the end).
    Cancelled,
    /// Recorded on a ticket.
    Used,
}

/// The direction of a card transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    Debit,
    Refund,
}

/// `card_payment_start`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CardPaymentRequest {
    pub amount: String,
    /// Default `debit`; `refund` for a return refunded to the card.
    #[serde(default)]
    #[ts(optional)]
    pub kind: Option<PaymentKind>,
    /// The card payments already on the sale being paid (a split between cards): a debit is
    /// refused while any other charge no ticket holds, or any unknown payment, exists.
    #[serde(default)]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub alongside: Vec<String>,
}

/// A card payment and its live status.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CardPayment {
    pub payment_id: String,
    /// The reference sent to the terminal (printed on its receipt).
    pub reference: String,
    pub kind: PaymentKind,
    pub amount: String,
    pub state: PaymentState,
    /// What was charged when approved (less than `amount` when partially approved).
    pub charged: Option<String>,
    pub masked_pan: Option<String>,
    pub authorisation: Option<String>,
    /// What to tell the cashier: what happened and what to do next.
    pub message: String,
    /// The ticket it was recorded on, once used.
    pub ticket: Option<u32>,
}

/// `card_payment_status`, `card_payment_cancel`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct PaymentId {
    pub payment_id: String,
}

/// `card_payment_resolve`: what the terminal's own receipt says about an unknown payment.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ResolvePaymentRequest {
    pub payment_id: String,
    pub approved: bool,
    /// The authorisation number on the terminal's receipt, when approved.
    #[serde(default)]
    #[ts(optional)]
    pub authorisation: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Sales, receipts, returns

/// `sell`: the cart and its tenders.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct SellRequest {
    pub cart: Cart,
    pub tenders: Vec<TenderInput>,
}

/// A tender as recorded.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct TenderView {
    pub kind: TenderKind,
    pub amount: String,
    pub reference: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Sale,
    Return,
    Cancellation,
    /// Lines of an earlier ticket back and new items out, the difference settled.
    Exchange,
}

/// A recorded ticket.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct TicketView {
    pub number: u32,
    /// UTC, RFC 3339.
    pub at: String,
    pub operator: String,
    pub kind: TicketKind,
    pub original: Option<u32>,
    pub lines: Vec<LineView>,
    pub vat: Vec<VatView>,
    pub ticket_discount: String,
    pub total: String,
    pub tenders: Vec<TenderView>,
    pub change: String,
    pub customer: Option<String>,
    /// The web order this ticket takes payment for, or (a return) gives back.
    pub web_order: Option<String>,
    /// The till of `original` when another till sold it (a return at any till).
    pub original_till: Option<String>,
    /// Gift cards sold on the ticket (paid on top of `total`: no VAT, not revenue).
    pub gift_cards: String,
    /// What the customer pays: `total` plus `gift_cards`.
    pub amount_due: String,
}

/// A receipt's text as printed, for the on-screen preview.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ReceiptView {
    pub ticket: u32,
    /// The reprint number when this is a duplicate.
    pub duplicate: Option<u32>,
    /// The ticket's public reference (`POS1:TILL:NUMBER:HASH16`, printed in clear too). The
    /// original's QR code adds a proof of purchase that no answer carries.
    pub reference: String,
    pub text: String,
}

/// What a device did: `ok`, or why not and what to do.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct DeviceResult {
    pub ok: bool,
    pub message: String,
}

/// A recorded sale or return: the ticket is in the ledger whatever the devices did.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct SaleResult {
    pub ticket: TicketView,
    /// Cash to give back.
    pub change: String,
    pub receipt: ReceiptView,
    pub printed: DeviceResult,
    /// The drawer kick, when cash changed hands.
    pub drawer: Option<DeviceResult>,
    /// The credit notes the ticket issued, printed after the receipt.
    pub credit_notes: Vec<CreditNoteView>,
}

/// `receipt`, `reprint`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct TicketNumber {
    pub number: u32,
}

/// `reprint`: the duplicate is recorded, then printed.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ReprintResult {
    pub receipt: ReceiptView,
    pub printed: DeviceResult,
}

/// `find_ticket`: by number typed, or by the receipt's scanned QR code (the original's proves
/// the purchase; a reference alone, from a duplicate or the screen, finds the ticket only).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct FindTicketRequest {
    #[serde(default)]
    #[ts(optional)]
    pub number: Option<u32>,
    #[serde(default)]
    #[ts(optional)]
    pub qr: Option<String>,
}

/// How much of an original line may still come back.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct Returnable {
    pub line: u32,
    /// Units or grams already returned.
    pub returned: u32,
    /// Units or grams that may still be returned.
    pub remaining: u32,
}

/// A ticket found for a return.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct FoundTicket {
    pub ticket: TicketView,
    pub returnable: Vec<Returnable>,
    /// Returns already made of this ticket.
    pub returns: Vec<u32>,
    /// True when found by the original receipt's QR code, proof of purchase (no approval
    /// needed to refund); false for a number or a reference without proof.
    pub by_receipt: bool,
}

/// One line to give back.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ReturnLineInput {
    pub line: u32,
    pub quantity: u32,
    /// For handsets: the IMEIs coming back (default: those not yet returned).
    #[serde(default)]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub serials: Vec<String>,
}

/// Where the money of a return goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RefundTo {
    /// The original's tender, as the engine chooses it (cash if it was paid partly in cash).
    Original,
    Cash,
    StoreCredit,
    /// The card, through an approved `refund` card payment (`payment_id`).
    Card,
}

/// `return_quote` and `return_items`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ReturnRequest {
    pub original: u32,
    pub lines: Vec<ReturnLineInput>,
    /// Give back everything still returnable (then leave `lines` empty).
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub cancel: bool,
    pub refund_to: RefundTo,
    /// The approved refund on the card, when `refund_to` is `card`.
    #[serde(default)]
    #[ts(optional)]
    pub payment_id: Option<String>,
    /// Whether the original was found by scanning its receipt (`find_ticket` with `qr`, in this
    /// session). Without the receipt, a cashier needs a `refund_without_receipt` approval.
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub by_receipt: bool,
    #[serde(default)]
    #[ts(optional)]
    pub approval: Option<String>,
}

/// `return_quote`: the return as it would be recorded.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ReturnQuote {
    pub lines: Vec<LineView>,
    pub vat: Vec<VatView>,
    /// Negative: what goes back to the customer.
    pub total: String,
    pub tenders: Vec<TenderView>,
    pub approvals_needed: Vec<ApprovalAction>,
}

/// `exchange_quote` and `exchange`: lines of a ticket coming back (as in a return) and the new
/// items taken instead (a cart, as in a sale), on one ticket whose total is the difference.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ExchangeRequest {
    pub original: u32,
    /// The lines of the original coming back.
    pub returned: Vec<ReturnLineInput>,
    /// The new items, their approvals and the customer. No ticket discount: discount lines.
    pub cart: Cart,
    /// When the difference is positive: what the customer pays, as in `sell` (card tenders
    /// with their approved `debit` payment). For `exchange_quote`, what was entered so far.
    #[serde(default)]
    #[ts(as = "Option<Vec<TenderInput>>", optional)]
    pub tenders: Vec<TenderInput>,
    /// When the difference is negative: where the refund goes, as in a return.
    pub refund_to: RefundTo,
    /// The approved refund on the card, when the difference is refunded to the card.
    #[serde(default)]
    #[ts(optional)]
    pub payment_id: Option<String>,
    /// As in a return: whether the original was found by scanning its receipt.
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub by_receipt: bool,
    /// A `refund_without_receipt` approval, when the original was not found by its receipt.
    #[serde(default)]
    #[ts(optional)]
    pub approval: Option<String>,
}

/// `exchange_quote`: the exchange as it would be recorded.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ExchangeQuote {
    /// Returned lines first (negative amounts, `original_line` set), then the new lines.
    pub lines: Vec<LineView>,
    /// Per rate: the refunded VAT plus the VAT of the new lines.
    pub vat: Vec<VatView>,
    /// What the returned lines are refunded (negative).
    pub returned_total: String,
    /// What the new lines cost.
    pub sold_total: String,
    /// The difference: positive, the customer pays it; negative, it goes back to them.
    pub total: String,
    /// Sum of the tenders given (a positive difference).
    pub tendered: String,
    /// What is still to pay (zero once the tenders cover a positive difference).
    pub amount_due: String,
    /// Cash to give back with these tenders.
    pub change: String,
    /// Where a negative difference goes with `refund_to` (empty otherwise).
    pub refund: Vec<TenderView>,
    /// Approvals needed before `exchange` accepts it (and not yet given).
    pub approvals_needed: Vec<ApprovalAction>,
}

// ---------------------------------------------------------------------------------------------
// Cash

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CashMovementKind {
    OpeningFloat,
    PayIn,
    PayOut,
    BankDeposit,
    /// A blind count: the cashier enters what they counted without seeing what is expected.
    Count,
}

/// `cash_movement`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CashMovementRequest {
    pub kind: CashMovementKind,
    pub amount: String,
    #[serde(default)]
    #[ts(optional)]
    pub reason: Option<String>,
    /// A manager's approval (`pay_out_above_limit`) for a pay-out above the shop's limit.
    #[serde(default)]
    #[ts(optional)]
    pub approval: Option<String>,
}

/// A recorded cash movement; for a count, what was expected and the difference.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CashMovementView {
    pub kind: CashMovementKind,
    pub amount: String,
    pub expected: Option<String>,
    /// Counted minus expected: negative when cash is missing.
    pub difference: Option<String>,
    pub reason: Option<String>,
    /// The drawer kick (pay-in, pay-out, float, deposit open the drawer).
    pub drawer: Option<DeviceResult>,
}

// ---------------------------------------------------------------------------------------------
// Reports and closures

/// Money per tender over a period.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct TenderTotalView {
    pub kind: TenderKind,
    pub amount: String,
    pub count: u32,
}

/// Totals over a period.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct TotalsView {
    pub first_ticket: Option<u32>,
    pub last_ticket: Option<u32>,
    pub tickets: u32,
    pub sales: u32,
    /// Returns and cancellations.
    pub returns: u32,
    pub exchanges: u32,
    /// What was sold, exchanges' new lines included.
    pub sales_amount: String,
    /// What was refunded (negative), exchanges' returned lines included.
    pub returns_amount: String,
    pub vat: Vec<VatView>,
    pub tenders: Vec<TenderTotalView>,
    pub total: String,
    pub absolute_total: String,
    pub grand_total: String,
    pub perpetual_absolute_total: String,
}

/// `report_x`, `close`: print the report too?
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct PrintOption {
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub print: bool,
}

/// The X report of the open day. `expected_cash` is `null` for a cashier until their blind
/// count is recorded.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct XReportView {
    pub at: String,
    pub totals: TotalsView,
    pub expected_cash: Option<String>,
    pub text: String,
    pub printed: Option<DeviceResult>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClosureLevel {
    Day,
    Month,
    Year,
}

/// `close`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CloseRequest {
    pub level: ClosureLevel,
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub print: bool,
}

/// A recorded closure. `text` is the print of every closure recorded with it, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ClosureView {
    pub number: u32,
    pub level: ClosureLevel,
    pub period: String,
    pub at: String,
    pub totals: TotalsView,
    /// The periods of the closures recorded before it by the same request: the Z of each day
    /// left open when a day closure is made late, the Zs a month closure made first.
    pub also_closed: Vec<String>,
    pub text: String,
    pub printed: Option<DeviceResult>,
}

// ---------------------------------------------------------------------------------------------
// Devices, sync, identity

/// A device as configured, and its last known state.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct DeviceView {
    /// The device URI (`tcp://10.0.0.9:9100`, `serial:///dev/ttyACM0`...), or `none`.
    pub uri: String,
    pub ready: bool,
    pub message: String,
}

/// The till's devices.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct DevicesView {
    pub printer: DeviceView,
    pub terminal: DeviceView,
    /// The customer display.
    pub display: DeviceView,
    /// The serial scanner (a keyboard-wedge one needs no setting).
    pub scanner: DeviceView,
}

/// `set_devices`: new device URIs (`none` to go without); left out, unchanged.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct DevicesSettings {
    #[serde(default)]
    #[ts(optional)]
    pub printer: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub terminal: Option<String>,
    /// The customer display's URI (`none` to go without).
    #[serde(default)]
    #[ts(optional)]
    pub display: Option<String>,
    /// The serial scanner's URI (`none` to go without).
    #[serde(default)]
    #[ts(optional)]
    pub scanner: Option<String>,
}

/// `open_drawer`: a cashier needs a `drawer_open_without_sale` approval.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct DrawerRequest {
    #[serde(default)]
    #[ts(optional)]
    pub approval: Option<String>,
}

/// Where the till stands with head office.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct SyncStatus {
    pub enrolled: bool,
    pub server: Option<String>,
    /// Records and customer changes head office does not hold yet.
    pub waiting: u32,
    /// UTC, RFC 3339, of the last sync that reached head office.
    pub last_sync_at: Option<String>,
    /// Whether the last attempt reached head office (`null` before any attempt).
    pub online: Option<bool>,
    pub last_error: Option<String>,
}

/// `enroll`: head office's address and the one-time code it gave for this till, and the
/// certificate authority (or certificate) to trust for it besides the system's, in PEM, when
/// head office's certificate comes from a private authority.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct EnrollRequest {
    pub server: String,
    pub code: String,
    #[serde(default)]
    #[ts(optional)]
    pub ca_pem: Option<String>,
}

/// Shop and till identity.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct TillInfo {
    pub shop_name: String,
    pub till_name: String,
    pub till_id: String,
    pub shop_address: String,
    pub siret: String,
    pub vat_number: String,
    pub software: String,
    /// Discounts above this share of a line's (or the ticket's) gross need a manager.
    pub discount_limit_percent: String,
}

/// `status`: what the status bar shows.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StatusBar {
    pub session: Option<Session>,
    pub sync: SyncStatus,
    pub devices: DevicesView,
    pub parked_carts: u32,
}

// ---------------------------------------------------------------------------------------------
// Click & collect

/// Where a web order stands, as this till shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum WebOrderState {
    /// To prepare.
    Placed,
    /// Picked, not yet announced to the customer.
    Prepared,
    /// Waiting for the customer.
    Ready,
    Collected,
    PartiallyCollected,
    /// The customer refused it at the counter.
    Refused,
    /// Cancelled online: put the goods back.
    Cancelled,
}

/// Whether the customer paid online or pays at pickup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum WebOrderPayment {
    PaidOnline,
    PayInShop,
}

/// A line of a web order, at the price agreed online.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct WebOrderLineView {
    /// 1, 2... in the order.
    pub line: u32,
    pub product_id: String,
    pub label: String,
    pub quantity: u32,
    pub unit_price: String,
    pub total: String,
}

/// A web order for pickup in this shop. Its pickup code is not shown: the customer gives it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct WebOrderView {
    pub id: String,
    /// The web shop's reference (what the customer quotes).
    pub reference: Option<String>,
    pub customer: Option<String>,
    pub payment: WebOrderPayment,
    pub state: WebOrderState,
    pub total: String,
    /// UTC, RFC 3339.
    pub placed_at: String,
    pub lines: Vec<WebOrderLineView>,
}

/// `web_order_return_find`: the web order a customer brings back, by its web shop reference
/// (`WEB-1001`), its id, or its pickup code (scanned from the customer's QR code, or typed).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct WebOrderFindRequest {
    pub text: String,
}

/// What a web order paid online can give back at this till.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct WebOrderReturnable {
    pub order: WebOrderView,
    /// The lines handed over.
    pub lines: Vec<WebOrderReturnLineView>,
    /// Found by its pickup code (which only the customer holds: the till never shows it) in
    /// this session: the proof of purchase, so the return needs no `refund_without_receipt`
    /// approval (pass `by_pickup_code`).
    pub by_pickup_code: bool,
}

/// A line handed over: what the customer took and paid online, and what came back here.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct WebOrderReturnLineView {
    /// The line's number in the order.
    pub line: u32,
    pub product_id: String,
    pub label: String,
    /// Units handed over.
    pub collected: u32,
    /// Units already returned at this till.
    pub returned: u32,
    /// The price paid online, VAT included.
    pub unit_price: String,
    pub vat_rate: String,
}

/// `web_order_return_quote` and `web_order_return`: lines of a web order paid online coming
/// back. The till cannot refund the web payment: `refund_to` is `cash`, `store_credit` or
/// `card` (a refund on the terminal, `payment_id`).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct WebOrderReturnRequest {
    pub order: String,
    /// Order line numbers and units.
    pub lines: Vec<ReturnLineInput>,
    pub refund_to: RefundTo,
    #[serde(default)]
    #[ts(optional)]
    pub payment_id: Option<String>,
    /// The order was found by its pickup code (`web_order_return_find`, in this session).
    /// Otherwise a `refund_without_receipt` approval is needed.
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub by_pickup_code: bool,
    #[serde(default)]
    #[ts(optional)]
    pub approval: Option<String>,
}

/// `web_orders`: the shop's web orders, all or in one state, oldest first.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct WebOrdersRequest {
    #[serde(default)]
    #[ts(optional)]
    pub state: Option<WebOrderState>,
}

/// `web_order`, `web_order_prepared`, `web_order_ready`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct WebOrderId {
    pub id: String,
}

/// `web_order_by_code`: the pickup code the customer shows (typed or scanned).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct PickupCodeRequest {
    pub code: String,
}

/// A line handed over: its number in the order and how many units the customer takes.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct PickedLineInput {
    pub line: u32,
    pub quantity: u32,
}

/// `web_order_quote`: what the customer pays for the lines they take (all when left out), and
/// the tenders entered so far at payment (to show what is left to pay and the change).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct WebOrderPickRequest {
    pub order: String,
    #[serde(default)]
    #[ts(optional)]
    pub lines: Option<Vec<PickedLineInput>>,
    #[serde(default)]
    #[ts(as = "Option<Vec<TenderInput>>", optional)]
    pub tenders: Vec<TenderInput>,
}

/// `web_order_quote`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct WebOrderQuote {
    /// What the lines taken cost at pickup: zero for an order paid online.
    pub total: String,
    /// Sum of the tenders given.
    pub tendered: String,
    /// What is still to pay (zero once the tenders cover the total).
    pub amount_due: String,
    /// Cash to give back if the order were handed over with these tenders.
    pub change: String,
    /// Fewer units than ordered: a partial pickup.
    pub partial: bool,
}

/// `web_order_handover`: hands the order over once its pickup code is checked. An order to pay
/// in the shop takes `tenders` for the lines taken, like a sale.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct HandoverRequest {
    pub order: String,
    pub pickup_code: String,
    #[serde(default)]
    #[ts(optional)]
    pub lines: Option<Vec<PickedLineInput>>,
    #[serde(default)]
    #[ts(as = "Option<Vec<TenderInput>>", optional)]
    pub tenders: Vec<TenderInput>,
}

/// `web_order_handover`: the order as it now stands, and the sale ticket when payment was taken.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct HandoverResult {
    pub order: WebOrderView,
    pub sale: Option<SaleResult>,
}

/// `web_order_refuse`: the customer refused the whole order at the counter.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct RefuseRequest {
    pub order: String,
    pub reason: String,
}

// ---------------------------------------------------------------------------------------------
// Customer money across the chain: credit notes, gift cards, returns at any till

/// What an instrument is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentKind {
    /// An avoir, issued by a refund to store credit; paid with as `store_credit`.
    CreditNote,
    /// A carte cadeau; paid with as `gift_card`.
    GiftCard,
}

/// `instrument_lookup`: a credit note's or gift card's number, as scanned or typed.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct InstrumentRequest {
    pub number: String,
}

/// Where a balance comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BalanceSource {
    /// Head office answered: spending is checked against it.
    HeadOffice,
    /// Head office did not answer; this till issued or sold it, so it knows the balance.
    ThisTill,
    /// Head office did not answer and this till does not know it: it may be spent up to
    /// `offline_limit`, within the till's daily offline limit.
    Unknown,
}

/// A credit note or gift card as the payment screen shows it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct InstrumentView {
    /// Canonical number: what a tender's `reference` names.
    pub number: String,
    /// Grouped for reading.
    pub grouped: String,
    pub kind: InstrumentKind,
    /// The tender kind that spends it.
    pub tender: TenderKind,
    pub source: BalanceSource,
    pub balance: String,
    /// The last day it may be spent (YYYY-MM-DD).
    pub expires: Option<String>,
    /// Expired or cancelled.
    pub closed: bool,
    /// The most this till may take from it now without head office.
    pub offline_limit: String,
}

/// `gift_card_sell`: a gift card (its number as scanned) loaded with `amount`, or topped up,
/// paid with `tenders` like a sale. Not revenue: no VAT, not in the sales totals.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct GiftCardSaleRequest {
    pub number: String,
    pub amount: String,
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub top_up: bool,
    pub tenders: Vec<TenderInput>,
}

/// A credit note issued by a ticket, as its slip prints it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CreditNoteView {
    pub number: String,
    pub grouped: String,
    pub amount: String,
    pub expires: Option<String>,
    /// What the slip's QR code carries (scan it at the payment screen).
    pub scan: String,
    /// The slip's text as printed.
    pub text: String,
}

/// `return_anywhere_quote`, `return_anywhere`: an item bought at another till (its receipt's
/// QR reference, or `TILL:NUMBER`), or with no receipt at all (`receipt` absent). When head
/// office finds the ticket, `lines` name its lines, or the `items` scanned are matched to them;
/// otherwise `items` are the goods brought back, priced from the catalog, and a manager
/// approves (`return_unchecked`).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ReturnAnywhereRequest {
    #[serde(default)]
    #[ts(optional)]
    pub receipt: Option<String>,
    #[serde(default)]
    #[ts(as = "Option<Vec<ReturnLineInput>>", optional)]
    pub lines: Vec<ReturnLineInput>,
    #[serde(default)]
    #[ts(as = "Option<Vec<CartLine>>", optional)]
    pub items: Vec<CartLine>,
    /// `original` (as the original was paid: only when head office found it), `cash`,
    /// `store_credit` (the default without a receipt), or `card` (back to the card that paid
    /// the original, through a refund on the terminal with its own `payment_id`).
    pub refund_to: RefundTo,
    /// The approved refund on the card, when `refund_to` is `card`.
    #[serde(default)]
    #[ts(optional)]
    pub payment_id: Option<String>,
    /// Why, for a return without receipt (required then).
    #[serde(default)]
    #[ts(optional)]
    pub reason: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub approval: Option<String>,
}
