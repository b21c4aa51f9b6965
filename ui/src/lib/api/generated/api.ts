// Generated from crates/till-service/src/api.rs by ts-rs: do not edit by hand.
// Regenerate: UPDATE_BINDINGS=1 cargo test -p pos-till-service --lib bindings

export type ApiError = { 
/**
 * Stable code, e.g. `unknown_barcode`, `approval_required`, `not_logged_in`.
 */
code: string, 
/**
 * For the cashier: what happened and what to do next.
 */
message: string, 
/**
 * With `approval_required`: the action a manager must approve (`approve`), then retry
 * with the approval id.
 */
approval: ApprovalAction | null, 
/**
 * True when the request was refused (bad input, wrong state); false when the till or a
 * device failed.
 */
input_error: boolean, };

export type Approval = { approval_id: string, action: ApprovalAction, manager: StaffMember, };

export type ApprovalAction = "price_override" | "discount_above_limit" | "refund_without_receipt" | "drawer_open_without_sale" | "unlock_pins" | "return_unchecked" | "pay_out_above_limit";

export type ApprovalRequest = { pin: string, action: ApprovalAction, 
/**
 * The manager chosen before typing; without, the PIN is tried against every manager.
 */
staff_id?: string, };

export type BalanceSource = "head_office" | "this_till" | "unknown";

export type BarcodeRequest = { barcode: string, };

export type CardPayment = { payment_id: string, 
/**
 * The reference sent to the terminal (printed on its receipt).
 */
reference: string, kind: PaymentKind, amount: string, state: PaymentState, 
/**
 * What was charged when approved (less than `amount` when partially approved).
 */
charged: string | null, masked_pan: string | null, authorisation: string | null, 
/**
 * What to tell the cashier: what happened and what to do next.
 */
message: string, 
/**
 * The ticket it was recorded on, once used.
 */
ticket: number | null, };

export type CardPaymentRequest = { amount: string, 
/**
 * Default `debit`; `refund` for a return refunded to the card.
 */
kind?: PaymentKind, 
/**
 * The card payments already on the sale being paid (a split between cards): a debit is
 * refused while any other charge no ticket holds, or any unknown payment, exists.
 */
alongside?: Array<string>, };

export type Cart = { lines: Array<CartLine>, 
/**
 * A discount on the whole ticket.
 */
discount?: DiscountInput, 
/**
 * The customer's id (from `customer_search` or `customer_create`); the ticket names
 * them by this id only.
 */
customer?: string, 
/**
 * Approval ids (from `approve`) for what this cart needs (see `Quote.approvals_needed`).
 */
approvals?: Array<string>, };

export type CartLine = { product_id?: string, barcode?: string, 
/**
 * Units (default 1).
 */
quantity?: number, 
/**
 * Grams, for products sold by weight.
 */
grams?: number, 
/**
 * A price replacing the catalog's (including VAT): needs a `price_override` approval.
 */
unit_price?: string, discount?: DiscountInput, 
/**
 * The seller credited with the line (commission).
 */
seller?: string, 
/**
 * One IMEI per unit for handsets.
 */
serials?: Array<string>, };

export type CashMovementKind = "opening_float" | "pay_in" | "pay_out" | "bank_deposit" | "count";

export type CashMovementRequest = { kind: CashMovementKind, amount: string, reason?: string, 
/**
 * A manager's approval (`pay_out_above_limit`) for a pay-out above the shop's limit.
 */
approval?: string, };

export type CashMovementView = { kind: CashMovementKind, amount: string, expected: string | null, 
/**
 * Counted minus expected: negative when cash is missing.
 */
difference: string | null, reason: string | null, 
/**
 * The drawer kick (pay-in, pay-out, float, deposit open the drawer).
 */
drawer: DeviceResult | null, };

export type CashOfficeRulesView = { 
/**
 * A pay-out above this needs a manager.
 */
payout_limit: string, 
/**
 * The local hour the shop closes (the app asks for the Z from then on).
 */
closing_hour: number | null, };

export type CashierReportRequest = { cashier?: string, };

export type CashierReportView = { cashier: string, totals: TotalsView, };

export type CategoryRequest = { category: string, 
/**
 * Default 50, at most 200.
 */
limit?: number, offset?: number, };

export type CategoryView = { name: string, products: number, };

export type CloseRequest = { level: ClosureLevel, print?: boolean, };

export type CloseShiftRequest = { counted: string, print?: boolean, };

export type ClosureDueReason = "day_changed" | "past_closing_hour";

export type ClosureDueView = { open_days: Array<string>, reason: ClosureDueReason | null, };

export type ClosureLevel = "day" | "month" | "year";

export type ClosureView = { number: number, level: ClosureLevel, period: string, at: string, totals: TotalsView, 
/**
 * The periods of the closures recorded before it by the same request: the Z of each day
 * left open when a day closure is made late, the Zs a month closure made first.
 */
also_closed: Array<string>, text: string, printed: DeviceResult | null, };

export type CreditNoteView = { number: string, grouped: string, amount: string, expires: string | null, 
/**
 * What the slip's QR code carries (scan it at the payment screen).
 */
scan: string, 
/**
 * The slip's text as printed.
 */
text: string, };

export type CurrentSession = { session: Session | null, };

export type CustomerId = { id: string, };

export type CustomerInput = { name: string, phone?: string, email?: string, };

export type CustomerSearchRequest = { text: string, 
/**
 * At most this many customers (default 20, at most 200).
 */
limit?: number, };

export type CustomerUpdateRequest = { id: string, name: string, phone?: string, email?: string, };

export type CustomerView = { id: string, name: string, 
/**
 * E.164 (`+33612345678`).
 */
phone: string | null, 
/**
 * The phone number as written in France (`06 12 34 56 78`), or internationally
 * (`+44 20 7946 0958`) for a foreign one.
 */
phone_display: string | null, email: string | null, };

export type DeviceResult = { ok: boolean, message: string, };

export type DeviceView = { 
/**
 * The device URI (`tcp://10.0.0.9:9100`, `serial:///dev/ttyACM0`...), or `none`.
 */
uri: string, ready: boolean, message: string, };

export type DevicesSettings = { printer?: string, terminal?: string, 
/**
 * The customer display's URI (`none` to go without).
 */
display?: string, 
/**
 * The serial scanner's URI (`none` to go without).
 */
scanner?: string, };

export type DevicesView = { printer: DeviceView, terminal: DeviceView, 
/**
 * The customer display.
 */
display: DeviceView, 
/**
 * The serial scanner (a keyboard-wedge one needs no setting).
 */
scanner: DeviceView, };

export type DiscountInput = { "percent": string } | { "amount": string };

export type DrawerRequest = { approval?: string, };

export type Empty = Record<string, never>;

export type EnrollRequest = { server: string, code: string, ca_pem?: string, };

export type ExchangeQuote = { 
/**
 * Returned lines first (negative amounts, `original_line` set), then the new lines.
 */
lines: Array<LineView>, 
/**
 * Per rate: the refunded VAT plus the VAT of the new lines.
 */
vat: Array<VatView>, 
/**
 * What the returned lines are refunded (negative).
 */
returned_total: string, 
/**
 * What the new lines cost.
 */
sold_total: string, 
/**
 * The difference: positive, the customer pays it; negative, it goes back to them.
 */
total: string, 
/**
 * Sum of the tenders given (a positive difference).
 */
tendered: string, 
/**
 * What is still to pay (zero once the tenders cover a positive difference).
 */
amount_due: string, 
/**
 * Cash to give back with these tenders.
 */
change: string, 
/**
 * Where a negative difference goes with `refund_to` (empty otherwise).
 */
refund: Array<TenderView>, 
/**
 * Approvals needed before `exchange` accepts it (and not yet given).
 */
approvals_needed: Array<ApprovalAction>, };

export type ExchangeRequest = { original: number, 
/**
 * The lines of the original coming back.
 */
returned: Array<ReturnLineInput>, 
/**
 * The new items, their approvals and the customer. No ticket discount: discount lines.
 */
cart: Cart, 
/**
 * When the difference is positive: what the customer pays, as in `sell` (card tenders
 * with their approved `debit` payment). For `exchange_quote`, what was entered so far.
 */
tenders?: Array<TenderInput>, 
/**
 * When the difference is negative: where the refund goes, as in a return.
 */
refund_to: RefundTo, 
/**
 * The approved refund on the card, when the difference is refunded to the card.
 */
payment_id?: string, 
/**
 * As in a return: whether the original was found by scanning its receipt.
 */
by_receipt?: boolean, 
/**
 * A `refund_without_receipt` approval, when the original was not found by its receipt.
 */
approval?: string, };

export type FindTicketRequest = { number?: number, qr?: string, };

export type FoundTicket = { ticket: TicketView, returnable: Array<Returnable>, 
/**
 * Returns already made of this ticket.
 */
returns: Array<number>, 
/**
 * True when found by the original receipt's QR code, proof of purchase (no approval
 * needed to refund); false for a number or a reference without proof.
 */
by_receipt: boolean, };

export type GiftCardSaleRequest = { number: string, amount: string, top_up?: boolean, tenders: Array<TenderInput>, };

export type HandoverRequest = { order: string, pickup_code: string, lines?: Array<PickedLineInput>, tenders?: Array<TenderInput>, };

export type HandoverResult = { order: WebOrderView, sale: SaleResult | null, };

export type InstrumentKind = "credit_note" | "gift_card";

export type InstrumentRequest = { number: string, };

export type InstrumentView = { 
/**
 * Canonical number: what a tender's `reference` names.
 */
number: string, 
/**
 * Grouped for reading.
 */
grouped: string, kind: InstrumentKind, 
/**
 * The tender kind that spends it.
 */
tender: TenderKind, source: BalanceSource, balance: string, 
/**
 * The last day it may be spent (YYYY-MM-DD).
 */
expires: string | null, 
/**
 * Expired or cancelled.
 */
closed: boolean, 
/**
 * The most this till may take from it now without head office.
 */
offline_limit: string, };

export type LineView = { 
/**
 * 1-based line number (what a return refers to).
 */
line: number, product_id: string, label: string, category: string, quantity: QuantityView, unit_price: string, 
/**
 * Unit price times quantity.
 */
gross: string, 
/**
 * Taken off by the line's discount.
 */
line_discount: string, 
/**
 * The head-office promotion the line's discount comes from (its label), if it does.
 */
promotion: string | null, 
/**
 * This line's share of the ticket discount.
 */
ticket_discount_share: string, 
/**
 * What the customer pays for the line, VAT included.
 */
total: string, vat_rate: string, seller: string | null, serials: Array<string>, 
/**
 * On a return: the line of the original ticket.
 */
original_line: number | null, };

export type LoginRequest = { pin: string, staff_id?: string, };

export type NoticeLineView = { product_id: string, 
/**
 * `units` or `grams`.
 */
unit: string, quantity: number, 
/**
 * The IMEIs of the handsets sent, if any.
 */
serials: Array<string>, };

export type OpenCountView = { count_id: string, by: StockCountBy, value: string | null, blind: boolean, 
/**
 * UTC, RFC 3339.
 */
started_at: string, };

export type OpenShiftRequest = { float: string, };

export type ParkRequest = { cart: Cart, 
/**
 * A note to find it again ("customer in the red coat").
 */
label?: string, };

export type ParkedCart = { id: number, label: string | null, operator: string, 
/**
 * UTC, RFC 3339.
 */
parked_at: string, lines: number, 
/**
 * The total when parked (prices are quoted again on resume).
 */
total: string, };

export type ParkedCartId = { id: number, };

export type PaymentId = { payment_id: string, };

export type PaymentKind = "debit" | "refund";

export type PaymentState = "pending" | "approved" | "partially_approved" | "declined" | "not_sent" | "unknown" | "cancelled" | "used";

export type PickedLineInput = { line: number, quantity: number, };

export type PickupCodeRequest = { code: string, };

export type PrintOption = { print?: boolean, };

export type ProductIdRequest = { id: string, };

export type ProductStockView = { product_id: string, here: ShopStockView, 
/**
 * Most available first.
 */
nearby: Array<ShopStockView>, 
/**
 * When head office answered (UTC, RFC 3339).
 */
answered_at: string, 
/**
 * Seconds since this till received that answer: 0 when head office answered just now.
 */
age_seconds: number, };

export type ProductView = { id: string, label: string, category: string, barcodes: Array<string>, 
/**
 * Shelf price including VAT (per unit, or per kilogram when sold by weight).
 */
price: string, 
/**
 * VAT rate in percent for this till's territory, e.g. `"20"`.
 */
vat_rate: string, sold_by: SoldBy, serial: SerialKind, };

export type QuantityUnit = "units" | "grams";

export type QuantityView = { unit: QuantityUnit, value: number, text: string, };

export type Quote = { lines: Array<LineView>, vat: Array<VatView>, ticket_discount: string, 
/**
 * Total including VAT.
 */
total: string, 
/**
 * Sum of the tenders given.
 */
tendered: string, 
/**
 * What is still to pay (zero once the tenders cover the total).
 */
amount_due: string, 
/**
 * Cash to give back if the sale were recorded with these tenders.
 */
change: string, 
/**
 * Approvals the cart needs before `sell` accepts it (and not yet given in `cart.approvals`).
 */
approvals_needed: Array<ApprovalAction>, };

export type QuoteRequest = { cart: Cart, tenders?: Array<TenderInput>, };

export type ReceiptView = { ticket: number, 
/**
 * The reprint number when this is a duplicate.
 */
duplicate: number | null, 
/**
 * The ticket's public reference (`POS1:TILL:NUMBER:HASH16`, printed in clear too). The
 * original's QR code adds a proof of purchase that no answer carries.
 */
reference: string, text: string, };

export type RefundTo = "original" | "cash" | "store_credit" | "card";

export type RefuseRequest = { order: string, reason: string, };

export type ReprintResult = { receipt: ReceiptView, printed: DeviceResult, };

export type ResolvePaymentRequest = { payment_id: string, approved: boolean, 
/**
 * The authorisation number on the terminal's receipt, when approved.
 */
authorisation?: string, };

export type ReturnAnywhereRequest = { receipt?: string, lines?: Array<ReturnLineInput>, items?: Array<CartLine>, 
/**
 * `original` (as the original was paid: only when head office found it), `cash`,
 * `store_credit` (the default without a receipt), or `card` (back to the card that paid
 * the original, through a refund on the terminal with its own `payment_id`).
 */
refund_to: RefundTo, 
/**
 * The approved refund on the card, when `refund_to` is `card`.
 */
payment_id?: string, 
/**
 * Why, for a return without receipt (required then).
 */
reason?: string, approval?: string, };

export type ReturnLineInput = { line: number, quantity: number, 
/**
 * For handsets: the IMEIs coming back (default: those not yet returned).
 */
serials?: Array<string>, };

export type ReturnQuote = { lines: Array<LineView>, vat: Array<VatView>, 
/**
 * Negative: what goes back to the customer.
 */
total: string, tenders: Array<TenderView>, approvals_needed: Array<ApprovalAction>, };

export type ReturnRequest = { original: number, lines: Array<ReturnLineInput>, 
/**
 * Give back everything still returnable (then leave `lines` empty).
 */
cancel?: boolean, refund_to: RefundTo, 
/**
 * The approved refund on the card, when `refund_to` is `card`.
 */
payment_id?: string, 
/**
 * Whether the original was found by scanning its receipt (`find_ticket` with `qr`, in this
 * session). Without the receipt, a cashier needs a `refund_without_receipt` approval.
 */
by_receipt?: boolean, approval?: string, };

export type Returnable = { line: number, 
/**
 * Units or grams already returned.
 */
returned: number, 
/**
 * Units or grams that may still be returned.
 */
remaining: number, };

export type Role = "cashier" | "manager" | "stock";

export type SaleResult = { ticket: TicketView, 
/**
 * Cash to give back.
 */
change: string, receipt: ReceiptView, printed: DeviceResult, 
/**
 * The drawer kick, when cash changed hands.
 */
drawer: DeviceResult | null, 
/**
 * The credit notes the ticket issued, printed after the receipt.
 */
credit_notes: Array<CreditNoteView>, };

export type ScannedCode = { seq: number, code: string, };

export type ScannedCodes = { codes: Array<ScannedCode>, latest: number, scanner: DeviceView, };

export type ScannedCodesRequest = { after?: number, wait_ms?: number, };

export type SearchRequest = { text: string, 
/**
 * At most this many products (default 20, at most 200).
 */
limit?: number, };

export type SellRequest = { cart: Cart, tenders: Array<TenderInput>, };

export type SerialKind = "none" | "imei";

export type Session = { staff: StaffMember, 
/**
 * UTC, RFC 3339.
 */
since: string, };

export type ShiftReportRequest = { shift?: number, cashier?: string, print?: boolean, };

export type ShiftView = { shift: number, cashier: string, opened_at: string, closed_at: string | null, float: string, totals: TotalsView, expected_cash: string | null, counted: string | null, difference: string | null, text: string, printed: DeviceResult | null, };

export type ShippingNoticeView = { id: string, lines: Array<NoticeLineView>, };

export type ShopStockView = { shop_id: string, shop_name: string, 
/**
 * `units` or `grams`.
 */
unit: string, on_hand: number, 
/**
 * Sent by another shop, not received yet.
 */
in_transit: number, 
/**
 * Held for click & collect orders.
 */
reserved: number, 
/**
 * What may be promised.
 */
available: number, };

export type SoldBy = "unit" | "weight";

export type StaffMember = { id: string, name: string, role: Role, };

export type StatusBar = { session: Session | null, sync: SyncStatus, devices: DevicesView, parked_carts: number, };

export type StockArrivalRequest = { transfer_id: string, from_shop: string, lines: Array<StockReceivedLine>, };

export type StockCountBy = "full" | "category" | "shelf";

export type StockCountFinishRequest = { count_id: string, lines: Array<StockCountedLine>, };

export type StockCountStartRequest = { by: StockCountBy, value?: string, blind: boolean, };

export type StockCountedLine = { product_id: string, counted: number, };

export type StockLineView = { product_id: string, 
/**
 * `units` or `grams`.
 */
unit: string, 
/**
 * Announced, sent or counted.
 */
expected: number, 
/**
 * Arrived, sent or counted.
 */
quantity: number, damaged: number, missing: number, extra: number, serials: Array<string>, };

export type StockOnHandRequest = { products: Array<string>, };

export type StockOnHandView = { live: boolean, 
/**
 * Why head office did not answer, when it did not.
 */
unreachable: string | null, products: Array<ProductStockView>, 
/**
 * The products asked about that head office never answered for at this till.
 */
unknown: Array<string>, };

export type StockOperationView = { seq: number, 
/**
 * UTC, RFC 3339.
 */
at: string, operator: string, 
/**
 * `goods_receipt`, `transfer_out`, `transfer_in`, `count_started`, `count_finished`.
 */
kind: string, 
/**
 * The receipt's, transfer's or count's id.
 */
id: string, asn: string | null, 
/**
 * The shop goods went to or came from.
 */
other_shop: string | null, lines: Array<StockLineView>, 
/**
 * Whether any line differs from what was announced or sent.
 */
differences: boolean, };

export type StockOperationsRequest = { limit?: number, };

export type StockReceiveRequest = { asn?: string, lines: Array<StockReceivedLine>, };

export type StockReceivedLine = { product_id: string, expected?: number, received: number, damaged?: number, serials?: Array<string>, };

export type StockSentLine = { product_id: string, quantity: number, serials?: Array<string>, };

export type StockTransferRequest = { to_shop: string, lines: Array<StockSentLine>, };

export type SyncStatus = { enrolled: boolean, server: string | null, 
/**
 * Records and customer changes head office does not hold yet.
 */
waiting: number, 
/**
 * UTC, RFC 3339, of the last sync that reached head office.
 */
last_sync_at: string | null, 
/**
 * Whether the last attempt reached head office (`null` before any attempt).
 */
online: boolean | null, last_error: string | null, };

export type TenderInput = { kind: TenderKind, amount: string, reference?: string, payment_id?: string, };

export type TenderKind = "cash" | "card" | "gift_card" | "voucher" | "cheque" | "store_credit";

export type TenderTotalView = { kind: TenderKind, amount: string, count: number, };

export type TenderTypeView = { kind: TenderKind, accepted: boolean, 
/**
 * The name head office gave it (`Titre-restaurant`), when not the usual one.
 */
label: string | null, 
/**
 * The most one ticket may take in it.
 */
max_amount: string | null, };

export type TenderView = { kind: TenderKind, amount: string, reference: string | null, };

export type TicketKind = "sale" | "return" | "cancellation" | "exchange";

export type TicketNumber = { number: number, };

export type TicketView = { number: number, 
/**
 * UTC, RFC 3339.
 */
at: string, operator: string, kind: TicketKind, original: number | null, lines: Array<LineView>, vat: Array<VatView>, ticket_discount: string, total: string, tenders: Array<TenderView>, change: string, customer: string | null, 
/**
 * The web order this ticket takes payment for, or (a return) gives back.
 */
web_order: string | null, 
/**
 * The till of `original` when another till sold it (a return at any till).
 */
original_till: string | null, 
/**
 * Gift cards sold on the ticket (paid on top of `total`: no VAT, not revenue).
 */
gift_cards: string, 
/**
 * What the customer pays: `total` plus `gift_cards`.
 */
amount_due: string, };

export type TillInfo = { shop_name: string, till_name: string, till_id: string, shop_address: string, siret: string, vat_number: string, software: string, 
/**
 * Discounts above this share of a line's (or the ticket's) gross need a manager.
 */
discount_limit_percent: string, };

export type TotalsView = { first_ticket: number | null, last_ticket: number | null, tickets: number, sales: number, 
/**
 * Returns and cancellations.
 */
returns: number, exchanges: number, 
/**
 * What was sold, exchanges' new lines included.
 */
sales_amount: string, 
/**
 * What was refunded (negative), exchanges' returned lines included.
 */
returns_amount: string, vat: Array<VatView>, tenders: Array<TenderTotalView>, total: string, absolute_total: string, grand_total: string, perpetual_absolute_total: string, };

export type UnlockPinsRequest = { staff_id?: string, approval?: string, };

export type UnlockedPins = { lifted: Array<string>, };

export type VatView = { rate: string, excluding_vat: string, vat: string, including_vat: string, };

export type WebOrderFindRequest = { text: string, };

export type WebOrderId = { id: string, };

export type WebOrderLineView = { 
/**
 * 1, 2... in the order.
 */
line: number, product_id: string, label: string, quantity: number, unit_price: string, total: string, };

export type WebOrderPayment = "paid_online" | "pay_in_shop";

export type WebOrderPickRequest = { order: string, lines?: Array<PickedLineInput>, tenders?: Array<TenderInput>, };

export type WebOrderQuote = { 
/**
 * What the lines taken cost at pickup: zero for an order paid online.
 */
total: string, 
/**
 * Sum of the tenders given.
 */
tendered: string, 
/**
 * What is still to pay (zero once the tenders cover the total).
 */
amount_due: string, 
/**
 * Cash to give back if the order were handed over with these tenders.
 */
change: string, 
/**
 * Fewer units than ordered: a partial pickup.
 */
partial: boolean, };

export type WebOrderReturnLineView = { 
/**
 * The line's number in the order.
 */
line: number, product_id: string, label: string, 
/**
 * Units handed over.
 */
collected: number, 
/**
 * Units already returned at this till.
 */
returned: number, 
/**
 * The price paid online, VAT included.
 */
unit_price: string, vat_rate: string, };

export type WebOrderReturnRequest = { order: string, 
/**
 * Order line numbers and units.
 */
lines: Array<ReturnLineInput>, refund_to: RefundTo, payment_id?: string, 
/**
 * The order was found by its pickup code (`web_order_return_find`, in this session).
 * Otherwise a `refund_without_receipt` approval is needed.
 */
by_pickup_code?: boolean, approval?: string, };

export type WebOrderReturnable = { order: WebOrderView, 
/**
 * The lines handed over.
 */
lines: Array<WebOrderReturnLineView>, 
/**
 * Found by its pickup code (which only the customer holds: the till never shows it) in
 * this session: the proof of purchase, so the return needs no `refund_without_receipt`
 * approval (pass `by_pickup_code`).
 */
by_pickup_code: boolean, };

export type WebOrderState = "placed" | "prepared" | "ready" | "collected" | "partially_collected" | "refused" | "cancelled";

export type WebOrderView = { id: string, 
/**
 * The web shop's reference (what the customer quotes).
 */
reference: string | null, customer: string | null, payment: WebOrderPayment, state: WebOrderState, total: string, 
/**
 * UTC, RFC 3339.
 */
placed_at: string, lines: Array<WebOrderLineView>, };

export type WebOrdersRequest = { state?: WebOrderState, };

export type XReportView = { at: string, totals: TotalsView, expected_cash: string | null, text: string, printed: DeviceResult | null, };

/** Every command: its request and response types. */
export interface Commands {
  staff_list: { request: Empty; response: Array<StaffMember> };
  login: { request: LoginRequest; response: Session };
  logout: { request: Empty; response: Empty };
  session: { request: Empty; response: CurrentSession };
  approve: { request: ApprovalRequest; response: Approval };
  unlock_pins: { request: UnlockPinsRequest; response: UnlockedPins };
  product_by_barcode: { request: BarcodeRequest; response: ProductView };
  product_by_id: { request: ProductIdRequest; response: ProductView };
  search_products: { request: SearchRequest; response: Array<ProductView> };
  categories: { request: Empty; response: Array<CategoryView> };
  products_in_category: { request: CategoryRequest; response: Array<ProductView> };
  customer_search: { request: CustomerSearchRequest; response: Array<CustomerView> };
  customer_get: { request: CustomerId; response: CustomerView };
  customer_create: { request: CustomerInput; response: CustomerView };
  customer_update: { request: CustomerUpdateRequest; response: CustomerView };
  quote: { request: QuoteRequest; response: Quote };
  park_cart: { request: ParkRequest; response: ParkedCart };
  parked_carts: { request: Empty; response: Array<ParkedCart> };
  resume_cart: { request: ParkedCartId; response: Cart };
  tender_types: { request: Empty; response: Array<TenderTypeView> };
  card_payment_start: { request: CardPaymentRequest; response: CardPayment };
  card_payment_status: { request: PaymentId; response: CardPayment };
  card_payment_cancel: { request: PaymentId; response: CardPayment };
  card_payment_resolve: { request: ResolvePaymentRequest; response: CardPayment };
  card_payments_unresolved: { request: Empty; response: Array<CardPayment> };
  card_payments_charged: { request: Empty; response: Array<CardPayment> };
  sell: { request: SellRequest; response: SaleResult };
  receipt: { request: TicketNumber; response: ReceiptView };
  reprint: { request: TicketNumber; response: ReprintResult };
  find_ticket: { request: FindTicketRequest; response: FoundTicket };
  return_quote: { request: ReturnRequest; response: ReturnQuote };
  return_items: { request: ReturnRequest; response: SaleResult };
  exchange_quote: { request: ExchangeRequest; response: ExchangeQuote };
  exchange: { request: ExchangeRequest; response: SaleResult };
  instrument_lookup: { request: InstrumentRequest; response: InstrumentView };
  gift_card_sell: { request: GiftCardSaleRequest; response: SaleResult };
  return_anywhere_quote: { request: ReturnAnywhereRequest; response: ReturnQuote };
  return_anywhere: { request: ReturnAnywhereRequest; response: SaleResult };
  cash_movement: { request: CashMovementRequest; response: CashMovementView };
  report_x: { request: PrintOption; response: XReportView };
  close: { request: CloseRequest; response: ClosureView };
  closure_due: { request: Empty; response: ClosureDueView };
  cash_office_rules: { request: Empty; response: CashOfficeRulesView };
  open_shift: { request: OpenShiftRequest; response: ShiftView };
  close_shift: { request: CloseShiftRequest; response: ShiftView };
  shift_report: { request: ShiftReportRequest; response: ShiftView };
  cashier_report: { request: CashierReportRequest; response: CashierReportView };
  devices: { request: Empty; response: DevicesView };
  set_devices: { request: DevicesSettings; response: DevicesView };
  test_print: { request: Empty; response: DeviceResult };
  test_display: { request: Empty; response: DeviceResult };
  scanned_codes: { request: ScannedCodesRequest; response: ScannedCodes };
  open_drawer: { request: DrawerRequest; response: DeviceResult };
  test_payment: { request: Empty; response: CardPayment };
  web_orders: { request: WebOrdersRequest; response: Array<WebOrderView> };
  web_order: { request: WebOrderId; response: WebOrderView };
  web_order_by_code: { request: PickupCodeRequest; response: WebOrderView };
  web_order_prepared: { request: WebOrderId; response: WebOrderView };
  web_order_ready: { request: WebOrderId; response: WebOrderView };
  web_order_quote: { request: WebOrderPickRequest; response: WebOrderQuote };
  web_order_handover: { request: HandoverRequest; response: HandoverResult };
  web_order_refuse: { request: RefuseRequest; response: WebOrderView };
  web_order_return_find: { request: WebOrderFindRequest; response: WebOrderReturnable };
  web_order_return_quote: { request: WebOrderReturnRequest; response: ReturnQuote };
  web_order_return: { request: WebOrderReturnRequest; response: SaleResult };
  stock_notices: { request: Empty; response: Array<ShippingNoticeView> };
  stock_on_hand: { request: StockOnHandRequest; response: StockOnHandView };
  stock_receive: { request: StockReceiveRequest; response: StockOperationView };
  stock_transfer_send: { request: StockTransferRequest; response: StockOperationView };
  stock_transfer_receive: { request: StockArrivalRequest; response: StockOperationView };
  stock_count_start: { request: StockCountStartRequest; response: StockOperationView };
  stock_count_finish: { request: StockCountFinishRequest; response: StockOperationView };
  stock_open_counts: { request: Empty; response: Array<OpenCountView> };
  stock_operations: { request: StockOperationsRequest; response: Array<StockOperationView> };
  sync_status: { request: Empty; response: SyncStatus };
  sync_now: { request: Empty; response: SyncStatus };
  enroll: { request: EnrollRequest; response: SyncStatus };
  till_info: { request: Empty; response: TillInfo };
  status: { request: Empty; response: StatusBar };
}

/** A command's name. */
export type CommandName = keyof Commands;
