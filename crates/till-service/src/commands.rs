//! The command table: every command's name, request and response type, in one place. From it
//! come the dispatcher ([`Service::call`]), the list of names, and the TypeScript `Commands`
//! map the UI's `Backend` is typed with, so the three can never disagree.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use ts_rs::TS;

use crate::api::*;
use crate::error::{ApiError, ApiResult};
use crate::service::Service;

/// A command: its name and the TypeScript names of its request and response types.
#[derive(Clone, Copy, Debug)]
pub struct CommandInfo {
    pub name: &'static str,
    pub request: fn() -> String,
    pub response: fn() -> String,
}

macro_rules! commands {
    ($( $name:ident ( $request:ty ) -> $response:ty ; )*) => {
        impl Service {
            /// Runs command `command` with its JSON request and answers its JSON response: the
            /// one entry point both transports (Tauri and loopback HTTP) call.
            pub fn call(&self, command: &str, request: Value) -> ApiResult<Value> {
                match command {
                    $( stringify!($name) => {
                        let request: $request = parse(command, request)?;
                        let response: $response = self.$name(request)?;
                        to_json(&response)
                    } )*
                    _ => Err(ApiError::unknown_command(command)),
                }
            }
        }

        /// Every command, in the order of the table.
        pub const COMMANDS: &[CommandInfo] = &[$(
            CommandInfo {
                name: stringify!($name),
                request: <$request as TS>::name,
                response: <$response as TS>::name,
            },
        )*];

        /// Every type the commands use, declared in TypeScript (dependencies included).
        pub(crate) fn declarations() -> Vec<(String, String)> {
            let mut out = Vec::new();
            $(
                crate::bindings::collect::<$request>(&mut out);
                crate::bindings::collect::<$response>(&mut out);
            )*
            crate::bindings::collect::<ApiError>(&mut out);
            out
        }
    };
}

commands! {
    // Session and approvals.
    staff_list(Empty) -> Vec<StaffMember>;
    login(LoginRequest) -> Session;
    logout(Empty) -> Empty;
    session(Empty) -> CurrentSession;
    approve(ApprovalRequest) -> Approval;
    unlock_pins(UnlockPinsRequest) -> UnlockedPins;
    // Catalog.
    product_by_barcode(BarcodeRequest) -> ProductView;
    product_by_id(ProductIdRequest) -> ProductView;
    search_products(SearchRequest) -> Vec<ProductView>;
    categories(Empty) -> Vec<CategoryView>;
    products_in_category(CategoryRequest) -> Vec<ProductView>;
    // Customers.
    customer_search(CustomerSearchRequest) -> Vec<CustomerView>;
    customer_get(CustomerId) -> CustomerView;
    customer_create(CustomerInput) -> CustomerView;
    customer_update(CustomerUpdateRequest) -> CustomerView;
    // Cart.
    quote(QuoteRequest) -> Quote;
    park_cart(ParkRequest) -> ParkedCart;
    parked_carts(Empty) -> Vec<ParkedCart>;
    resume_cart(ParkedCartId) -> Cart;
    // Means of payment this shop takes, and card payments.
    tender_types(Empty) -> Vec<TenderTypeView>;
    card_payment_start(CardPaymentRequest) -> CardPayment;
    card_payment_status(PaymentId) -> CardPayment;
    card_payment_cancel(PaymentId) -> CardPayment;
    card_payment_resolve(ResolvePaymentRequest) -> CardPayment;
    card_payments_unresolved(Empty) -> Vec<CardPayment>;
    card_payments_charged(Empty) -> Vec<CardPayment>;
    // Sales and receipts.
    sell(SellRequest) -> SaleResult;
    receipt(TicketNumber) -> ReceiptView;
    reprint(TicketNumber) -> ReprintResult;
    // Returns.
    find_ticket(FindTicketRequest) -> FoundTicket;
    return_quote(ReturnRequest) -> ReturnQuote;
    return_items(ReturnRequest) -> SaleResult;
    exchange_quote(ExchangeRequest) -> ExchangeQuote;
    exchange(ExchangeRequest) -> SaleResult;
    // Credit notes, gift cards, returns at any till.
    instrument_lookup(InstrumentRequest) -> InstrumentView;
    gift_card_sell(GiftCardSaleRequest) -> SaleResult;
    return_anywhere_quote(ReturnAnywhereRequest) -> ReturnQuote;
    return_anywhere(ReturnAnywhereRequest) -> SaleResult;
    // Cash, reports, closures.
    cash_movement(CashMovementRequest) -> CashMovementView;
    report_x(PrintOption) -> XReportView;
    close(CloseRequest) -> ClosureView;
    closure_due(Empty) -> ClosureDueView;
    cash_office_rules(Empty) -> CashOfficeRulesView;
    open_shift(OpenShiftRequest) -> ShiftView;
    close_shift(CloseShiftRequest) -> ShiftView;
    shift_report(ShiftReportRequest) -> ShiftView;
    cashier_report(CashierReportRequest) -> CashierReportView;
    // Devices.
    devices(Empty) -> DevicesView;
    set_devices(DevicesSettings) -> DevicesView;
    test_print(Empty) -> DeviceResult;
    test_display(Empty) -> DeviceResult;
    scanned_codes(ScannedCodesRequest) -> ScannedCodes;
    open_drawer(DrawerRequest) -> DeviceResult;
    test_payment(Empty) -> CardPayment;
    // Click & collect.
    web_orders(WebOrdersRequest) -> Vec<WebOrderView>;
    web_order(WebOrderId) -> WebOrderView;
    web_order_by_code(PickupCodeRequest) -> WebOrderView;
    web_order_prepared(WebOrderId) -> WebOrderView;
    web_order_ready(WebOrderId) -> WebOrderView;
    web_order_quote(WebOrderPickRequest) -> WebOrderQuote;
    web_order_handover(HandoverRequest) -> HandoverResult;
    web_order_refuse(RefuseRequest) -> WebOrderView;
    // Returns of web orders paid online.
    web_order_return_find(WebOrderFindRequest) -> WebOrderReturnable;
    web_order_return_quote(WebOrderReturnRequest) -> ReturnQuote;
    web_order_return(WebOrderReturnRequest) -> SaleResult;
    // Stock: deliveries, transfers, counts.
    stock_notices(Empty) -> Vec<ShippingNoticeView>;
    stock_on_hand(StockOnHandRequest) -> StockOnHandView;
    stock_receive(StockReceiveRequest) -> StockOperationView;
    stock_transfer_send(StockTransferRequest) -> StockOperationView;
    stock_transfer_receive(StockArrivalRequest) -> StockOperationView;
    stock_count_start(StockCountStartRequest) -> StockOperationView;
    stock_count_finish(StockCountFinishRequest) -> StockOperationView;
    stock_open_counts(Empty) -> Vec<OpenCountView>;
    stock_operations(StockOperationsRequest) -> Vec<StockOperationView>;
    // Sync, identity, status bar.
    sync_status(Empty) -> SyncStatus;
    sync_now(Empty) -> SyncStatus;
    enroll(EnrollRequest) -> SyncStatus;
    till_info(Empty) -> TillInfo;
    status(Empty) -> StatusBar;
}

fn parse<T: DeserializeOwned>(command: &str, request: Value) -> ApiResult<T> {
    // A command without parameters may be called with no body at all.
    let request = if request.is_null() {
        Value::Object(Default::default())
    } else {
        request
    };
    serde_json::from_value(request).map_err(|e| {
        ApiError::invalid(
            "request_invalid",
            format!("`{command}`: the request does not match its type ({e}): see crates/till-service/API.md"),
        )
    })
}

fn to_json<T: Serialize>(response: &T) -> ApiResult<Value> {
    serde_json::to_value(response)
        .map_err(|e| ApiError::failure("response_unserializable", e.to_string()))
}
