//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers' and types'
//! annotations (utoipa), served at `GET /openapi.json` and committed as
//! `sync-server/openapi.json` (a test fails when the two differ; regenerate with
//! `cargo run -q -p sync-server -- openapi > sync-server/openapi.json`).
//!
//! The wire types of [`pos_domain::wire`] and [`pos_domain::web_order`] belong to the domain
//! crate, shared with the tills; their schemas are described here by the `*Doc` types, named as
//! the domain types, and a test checks that their fields (and enum values) are those the domain
//! types serialize.

use serde::Serialize;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, Object, Schema, SchemaFormat};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::{api, archives_api, customers_api, orders_api};

/// `{code, message}`: every error answer ([`pos_domain::wire::ApiError`]).
#[derive(Serialize, ToSchema)]
#[schema(as = ApiError)]
pub struct ApiErrorDoc {
    /// Stable code (`unauthenticated`, `forbidden`, `json_invalid`, ...).
    pub code: String,
    /// What happened and what to do next.
    pub message: String,
}

/// [`pos_domain::wire::Capabilities`].
#[derive(Serialize, ToSchema)]
#[schema(as = Capabilities)]
pub struct CapabilitiesDoc {
    /// The server's newest protocol version, `MAJOR.MINOR`.
    #[schema(example = "1.0")]
    pub protocol: String,
    pub supported_majors: Vec<u32>,
    pub max_records_per_upload: u32,
    pub max_body_bytes: u64,
    pub features: Vec<String>,
}

/// [`pos_domain::wire::EnrollRequest`].
#[derive(Serialize, ToSchema)]
#[schema(as = EnrollRequest)]
pub struct EnrollRequestDoc {
    /// `MAJOR.MINOR`: this server takes major 1 (another is 400 `protocol_unsupported`).
    #[schema(example = "1.0", pattern = r"^1\.[0-9]{1,9}$")]
    pub protocol: String,
    /// The one-time enrollment code printed at head office.
    pub code: String,
    /// The till's P-256 public key, hex SEC1 (uncompressed: `04`, then x and y); a string of
    /// that form which is not a point of the curve is 422 `public_key_invalid`.
    #[schema(pattern = r"^04[0-9a-fA-F]{128}$")]
    pub public_key: String,
    pub software: String,
}

/// [`pos_domain::wire::EnrollResponse`].
#[derive(Serialize, ToSchema)]
#[schema(as = EnrollResponse)]
pub struct EnrollResponseDoc {
    pub till_id: String,
    pub shop_id: String,
    /// Bearer token for every later request (the server keeps only its hash).
    pub token: String,
    pub capabilities: CapabilitiesDoc,
}

/// [`pos_domain::wire::WireRecord`]: one signed record.
#[derive(Serialize, ToSchema)]
#[schema(as = WireRecord)]
pub struct WireRecordDoc {
    pub seq: u64,
    /// The record exactly as stored and signed at the till.
    pub stored: String,
}

/// [`pos_domain::wire::ChainBatch`].
#[derive(Serialize, ToSchema)]
#[schema(as = ChainBatch)]
pub struct ChainBatchDoc {
    /// The chain the records belong to.
    #[schema(value_type = ChainDoc)]
    pub chain: String,
    pub records: Vec<WireRecordDoc>,
}

/// [`pos_domain::record::Chain`]: a till's chains.
#[derive(Serialize, ToSchema)]
#[schema(as = Chain)]
#[serde(rename_all = "snake_case")]
pub enum ChainDoc {
    Ticket,
    Training,
    Closure,
    Duplicate,
    Cash,
    Event,
    Archive,
    WebOrder,
    StoredValue,
    Stock,
}

/// [`pos_domain::wire::UploadRequest`]. Records whose signature, link or sequence is wrong are
/// not refused by status: their chain's acknowledgement says `rejected`, `gap` or `fork`.
#[derive(Serialize, ToSchema)]
#[schema(as = UploadRequest)]
pub struct UploadRequestDoc {
    /// `MAJOR.MINOR`: this server takes major 1 (another is 400 `protocol_unsupported`).
    #[schema(example = "1.0", pattern = r"^1\.[0-9]{1,9}$")]
    pub protocol: String,
    /// At most `max_records_per_upload` records in all (413 beyond, see capabilities).
    pub chains: Vec<ChainBatchDoc>,
    /// The till's clock when it sent the upload (RFC 3339).
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
}

/// [`pos_domain::wire::ChainAck`]: the outcome fields depend on `status`.
#[derive(Serialize, ToSchema)]
#[schema(as = ChainAck)]
pub struct ChainAckDoc {
    pub chain: String,
    /// Every record from 1 to here is held: the till may mark them synced.
    pub held: u64,
    pub stored: u64,
    pub duplicates: u64,
    /// `ok`, `gap` (resend from `expected`), `fork` or `rejected` (at `seq`, with `reason`).
    pub status: String,
    pub expected: Option<u64>,
    pub seq: Option<u64>,
    pub reason: Option<String>,
}

/// [`pos_domain::wire::UploadResponse`].
#[derive(Serialize, ToSchema)]
#[schema(as = UploadResponse)]
pub struct UploadResponseDoc {
    pub chains: Vec<ChainAckDoc>,
}

/// A till as `GET /api/v1/shops/{shop_id}/tills` lists it.
#[derive(Serialize, ToSchema)]
#[schema(as = ShopTill)]
pub struct ShopTillDoc {
    pub id: String,
    pub name: String,
    pub enrolled: bool,
}

/// [`pos_domain::wire::Change`]: one entry of the changes feed at its newest version.
#[derive(Serialize, ToSchema)]
#[schema(as = Change)]
pub struct ChangeDoc {
    /// The global version of this change; versions only grow.
    pub version: u64,
    /// `product`, `price`, `staff`, `web_order`, `setting`, `customer`, `vat_rate`, `tender`
    /// or `promotion` ([`pos_domain::wire::kinds`]); a till skips kinds it does not know.
    pub kind: String,
    /// Which entry of its kind (a product id, a staff id, an order id).
    pub key: String,
    /// The entry as it now is (a product, a shop price, a staff member, a `WebOrder`, a
    /// setting, a `Customer`); `null` when it was removed.
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

/// [`pos_domain::customer::Customer`]: a customer as tills make them and the changes feed
/// sends them (kind `customer`).
#[derive(Serialize, ToSchema)]
#[schema(as = Customer)]
pub struct CustomerDoc {
    /// A random (version 4) UUID made by the till that created the customer, hyphenated, in
    /// lower case.
    #[schema(pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    pub id: String,
    /// Trimmed, single spaces, at most 120 characters.
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    /// E.164 (`+33612345678`); at least one of `phone` and `email` is given.
    pub phone: Option<String>,
    /// Its domain in lower case, at most 254 characters.
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// UTC, RFC 3339 with microseconds (`2026-03-30T10:00:00.000000Z`).
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")]
    pub created_at: String,
    /// When the details last changed: between two versions, the later wins. Same form.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")]
    pub updated_at: String,
}

/// [`pos_domain::wire::CustomersUpload`].
#[derive(Serialize, ToSchema)]
#[schema(as = CustomersUpload)]
pub struct CustomersUploadDoc {
    /// At most 1000 (413 beyond).
    #[schema(max_items = 1000)]
    pub customers: Vec<CustomerDoc>,
}

/// [`pos_domain::wire::CustomersUploadResponse`].
#[derive(Serialize, ToSchema)]
#[schema(as = CustomersUploadResponse)]
pub struct CustomersUploadResponseDoc {
    /// Customers new or later than head office's copy, now stored.
    pub stored: u64,
    /// Customers head office held at the same or a later change (kept as they were).
    pub unchanged: u64,
}

/// [`pos_domain::wire::ChangesPage`].
#[derive(Serialize, ToSchema)]
#[schema(as = ChangesPage)]
pub struct ChangesPageDoc {
    /// Changes with a version above `since`, oldest first, at most `limit`.
    pub changes: Vec<ChangeDoc>,
    /// The `since` of the next request, to store with this page once applied.
    pub next: u64,
    /// The newest version of the till's feed when the page was read: the till is up to date
    /// once `next` reaches it.
    pub latest: u64,
}

/// [`pos_domain::web_order::PaymentState`].
#[derive(Serialize, ToSchema)]
#[schema(as = PaymentState)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStateDoc {
    /// Paid on the web shop: the till hands over without taking money.
    PaidOnline,
    /// Paid at the till at pickup.
    PayInShop,
}

/// [`pos_domain::web_order::OrderState`].
#[derive(Serialize, ToSchema)]
#[schema(as = OrderState)]
#[serde(rename_all = "snake_case")]
pub enum OrderStateDoc {
    Placed,
    Prepared,
    Ready,
    Collected,
    PartiallyCollected,
    Refused,
    Cancelled,
}

/// [`pos_domain::web_order::NewOrderLine`].
#[derive(Serialize, ToSchema)]
#[schema(as = NewOrderLine)]
#[serde(deny_unknown_fields)]
pub struct NewOrderLineDoc {
    /// Not blank, at most 100 characters.
    #[schema(pattern = r"\S", max_length = 100)]
    pub product_id: String,
    /// Not blank, at most 200 characters.
    #[schema(pattern = r"\S", max_length = 200)]
    pub label: String,
    #[schema(minimum = 1, maximum = 10000)]
    pub quantity: u32,
    /// Including VAT, as agreed online; a decimal string in euros, not negative, at most
    /// 9999999.99 (and the line's amount and the order's total too).
    #[schema(example = "12.50", pattern = r"^[0-9]{1,7}(\.[0-9]{1,2})?$")]
    pub unit_price: String,
    /// The VAT code charged online: `standard`, `intermediate`, `reduced`, `super_reduced` or
    /// `exempt`; a return in a shop refunds that VAT. Absent, the till uses its catalog's code.
    #[schema(example = "standard")]
    pub vat_code: Option<String>,
}

/// [`pos_domain::web_order::NewWebOrder`]: unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[schema(as = NewWebOrder)]
#[serde(deny_unknown_fields)]
pub struct NewWebOrderDoc {
    /// The pickup shop's id (at most 100 characters); an unknown shop is 422.
    #[schema(max_length = 100)]
    pub shop: String,
    /// 1 to 250.
    #[schema(min_items = 1, max_items = 250)]
    pub lines: Vec<NewOrderLineDoc>,
    pub payment: PaymentStateDoc,
    /// At most 100 characters.
    #[schema(max_length = 100)]
    pub customer: Option<String>,
    /// The web shop's own reference, at most 100 characters.
    #[schema(max_length = 100)]
    pub reference: Option<String>,
}

/// [`pos_domain::web_order::OrderLine`].
#[derive(Serialize, ToSchema)]
#[schema(as = OrderLine)]
pub struct OrderLineDoc {
    /// 1, 2... in the order.
    pub line: u32,
    pub product_id: String,
    pub label: String,
    pub quantity: u32,
    #[schema(example = "12.50")]
    pub unit_price: String,
    /// The VAT code charged online, when the web shop gave it.
    #[schema(example = "standard")]
    pub vat_code: Option<String>,
}

/// [`pos_domain::web_order::PickedLine`]: units of one order line.
#[derive(Serialize, ToSchema)]
#[schema(as = PickedLine)]
pub struct PickedLineDoc {
    /// The line's number in the order.
    pub line: u32,
    pub quantity: u32,
}

/// [`pos_domain::web_order::WebOrder`]: the order as head office holds it.
#[derive(Serialize, ToSchema)]
#[schema(as = WebOrder)]
pub struct WebOrderDoc {
    #[schema(example = "WO-7K2M9QX4RT")]
    pub id: String,
    /// The pickup shop.
    pub shop: String,
    pub lines: Vec<OrderLineDoc>,
    pub payment: PaymentStateDoc,
    /// Total including VAT of every line.
    #[schema(example = "25.00")]
    pub total: String,
    /// What the customer shows at the counter (as a QR code or typed).
    pub pickup_code: String,
    pub customer: Option<String>,
    pub reference: Option<String>,
    pub state: OrderStateDoc,
    /// RFC 3339 UTC.
    pub placed_at: String,
    /// What was handed over, per line (absent before the handover).
    #[schema(required = false)]
    pub collected: Vec<PickedLineDoc>,
    /// What came back in shops, per line, from the return tickets naming the order (absent
    /// when nothing came back). The state stays what the handover made it.
    #[schema(required = false)]
    pub returned: Vec<PickedLineDoc>,
}

/// A credit note's or gift card's number ([`pos_domain::stored_value::InstrumentNumber`]):
/// `AV` (credit note) or `CC` (gift card), then 18 random digits and 2 check digits; spaces,
/// dashes and lower case are accepted. A number of that form whose check digits are wrong is
/// 422 `instrument_number_invalid`, a rule no JSON Schema states.
#[derive(Serialize, ToSchema)]
#[schema(as = InstrumentNumber, example = "AV123456789012345678 42", pattern = r"^([Aa][Vv]|[Cc][Cc])[0-9 -]{20,40}$")]
pub struct InstrumentNumberDoc(pub String);

/// [`pos_domain::wire::InstrumentLookup`].
#[derive(Serialize, ToSchema)]
#[schema(as = InstrumentLookup)]
pub struct InstrumentLookupDoc {
    /// `MAJOR.MINOR`: this server takes major 1 (another is 400 `protocol_unsupported`).
    #[schema(example = "1.0", pattern = r"^1\.[0-9]{1,9}$")]
    pub protocol: String,
    pub number: InstrumentNumberDoc,
}

/// [`pos_domain::stored_value::InstrumentState`] and whether head office knows the instrument
/// ([`pos_domain::wire::InstrumentAnswer`]).
#[derive(Serialize, ToSchema)]
#[schema(as = InstrumentAnswer)]
pub struct InstrumentAnswerDoc {
    pub known: bool,
    /// In canonical form: no spaces, upper case.
    pub number: String,
    /// From every till's synced movements.
    #[schema(example = "25.00")]
    pub balance: String,
    /// The last day it may be spent (`YYYY-MM-DD`), when it expires.
    #[schema(format = Date, required = false)]
    pub expires: Option<String>,
    /// Expired or cancelled: nothing more may be spent or loaded.
    pub closed: bool,
    /// Movements made offline and not yet reconciled, which the balance may not reflect yet.
    pub pending_offline: bool,
}

/// [`pos_domain::wire::RedemptionHold`]: the hold ends when the redemption record naming it
/// arrives, or after `seconds` (1 to 600; more is taken as 600).
#[derive(Serialize, ToSchema)]
#[schema(as = RedemptionHold)]
pub struct RedemptionHoldDoc {
    /// `MAJOR.MINOR`: this server takes major 1 (another is 400 `protocol_unsupported`).
    #[schema(example = "1.0", pattern = r"^1\.[0-9]{1,9}$")]
    pub protocol: String,
    /// The till's id for the hold, repeated in the redemption it records: a resend of the same
    /// hold is the same hold.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub hold: String,
    pub number: InstrumentNumberDoc,
    /// Above zero, at most 9,999,999.99 (0 is 422).
    #[schema(example = "12.50", pattern = r"^[0-9]{1,7}(\.[0-9]{1,2})?$")]
    pub amount: String,
    pub seconds: u32,
}

/// [`pos_domain::wire::RedemptionHoldAnswer`].
#[derive(Serialize, ToSchema)]
#[schema(as = RedemptionHoldAnswer)]
pub struct RedemptionHoldAnswerDoc {
    pub hold: String,
    pub granted: bool,
    pub number: String,
    /// The balance besides every hold granted.
    #[schema(example = "25.00")]
    pub balance: String,
    #[schema(format = Date, required = false)]
    pub expires: Option<String>,
    pub closed: bool,
    /// When refused: `instrument_balance_insufficient` or `instrument_not_usable`.
    #[schema(required = false)]
    pub refused: Option<String>,
}

/// [`pos_domain::wire::TicketLookup`]: another till's ticket, by the receipt's QR reference
/// or by its till and number.
#[derive(Serialize, ToSchema)]
#[schema(as = TicketLookup)]
pub struct TicketLookupDoc {
    /// `MAJOR.MINOR`: this server takes major 1 (another is 400 `protocol_unsupported`).
    #[schema(example = "1.0", pattern = r"^1\.[0-9]{1,9}$")]
    pub protocol: String,
    /// The till that recorded the ticket.
    pub till: String,
    /// Its number on that till.
    pub ticket: u64,
    /// The first 16 hex digits of the ticket record's hash, from the receipt's QR code (proof
    /// the customer holds the receipt); one that does not match is 404, as an unknown ticket.
    #[schema(required = false)]
    pub hash_prefix: Option<String>,
}

/// [`pos_domain::wire::TicketAt`]: a ticket as head office holds it.
#[derive(Serialize, ToSchema)]
#[schema(as = TicketAt)]
pub struct TicketAtDoc {
    pub till: String,
    pub shop: String,
    pub ticket: u64,
    /// When it was recorded (RFC 3339, the record's `at`).
    pub at: String,
    /// The signed ticket's payload ([`pos_domain::ticket::Ticket`]).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// [`pos_domain::ticket::ReturnLine`]: units of one line of the original ticket.
#[derive(Serialize, ToSchema)]
#[schema(as = ReturnLine)]
pub struct ReturnLineDoc {
    /// The line number on the original ticket.
    pub line: u32,
    /// Units (or grams) brought back.
    pub quantity: u32,
    /// For handsets: which IMEIs come back (empty: the ones not yet returned).
    #[schema(required = false)]
    pub serials: Vec<String>,
}

/// [`pos_domain::wire::TicketLookupAnswer`].
#[derive(Serialize, ToSchema)]
#[schema(as = TicketLookupAnswer)]
pub struct TicketLookupAnswerDoc {
    pub original: TicketAtDoc,
    /// Every return and exchange recorded against it anywhere in the chain.
    pub returns: Vec<TicketAtDoc>,
    /// Units reserved by returns in progress at other tills, per original line.
    #[schema(required = false)]
    pub reserved: Vec<ReturnLineDoc>,
}

/// [`pos_domain::wire::ReturnReservation`]: the reservation ends when the return record
/// naming it arrives, or after `seconds` (1 to 600; more is taken as 600).
#[derive(Serialize, ToSchema)]
#[schema(as = ReturnReservation)]
pub struct ReturnReservationDoc {
    /// `MAJOR.MINOR`: this server takes major 1 (another is 400 `protocol_unsupported`).
    #[schema(example = "1.0", pattern = r"^1\.[0-9]{1,9}$")]
    pub protocol: String,
    /// The till's id for it: a resend is the same reservation.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub reservation: String,
    pub original_till: String,
    pub original_ticket: u64,
    /// 1 to 250 lines.
    #[schema(min_items = 1, max_items = 250)]
    pub lines: Vec<ReturnLineDoc>,
    pub seconds: u32,
}

/// [`pos_domain::wire::ReturnReservationAnswer`].
#[derive(Serialize, ToSchema)]
#[schema(as = ReturnReservationAnswer)]
pub struct ReturnReservationAnswerDoc {
    pub reservation: String,
    pub granted: bool,
    /// When refused: which line goes beyond what is left to return.
    #[schema(required = false)]
    pub refused: Option<String>,
}

/// [`pos_hq_core::commissions::Rate`]: one rate of the commission plan.
#[derive(Serialize, ToSchema)]
#[schema(as = CommissionRate)]
pub struct CommissionRateDoc {
    /// `category` (every product of a category) or `product` (one product, which wins over
    /// its category's rate).
    #[schema(pattern = "^(category|product)$")]
    pub target: String,
    /// The category name or the product id, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub key: String,
    /// Percent of the amount after every discount, excluding VAT: 0 to 100 (above is 422), at
    /// most 4 decimals.
    #[schema(
        example = "2.5",
        pattern = r"^(100(\.0{1,4})?|[0-9]{1,2}(\.[0-9]{1,4})?)$"
    )]
    pub percent: String,
}

/// Declares the `bearer` security scheme the protected routes name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A till's token from enrollment, a head-office user's API token (`sync-server admin user token`, it expires), a login session token (12 h, ended by `POST /api/v1/logout`), or a web shop's API key (`sync-server admin webshop add`); each can be revoked",
                    ))
                    .build(),
            ),
        );
    }
}

/// The operations of a path.
fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// The answers every operation of a kind can give, whatever its handler does: they come from
/// the shared extractors of [`crate::api`] (`Caller` and the other bearer checks, `JsonBody`,
/// `QueryParams`), so they are written here once rather than on each route. A route's own
/// description of the same status, when it has one, is kept.
struct SharedAnswers;

impl SharedAnswers {
    /// `(status, when)` of the bearer check.
    const BEARER: [(&str, &str); 1] = [(
        "401",
        "No `Authorization: Bearer TOKEN`, or a token that is unknown, expired or revoked (`unauthenticated`)",
    )];
    /// `(status, when)` of a JSON body's extractor.
    const JSON_BODY: [(&str, &str); 4] = [
        ("400", "The body is not JSON (`json_malformed`)"),
        (
            "413",
            "The body is larger than the server takes (`body_too_large`, see `GET /api/v1/capabilities`)",
        ),
        (
            "415",
            "The body is not sent as `Content-Type: application/json` (`content_type`)",
        ),
        (
            "422",
            "The JSON does not have the documented fields and types, or a value is outside its documented limits (`json_invalid`)",
        ),
    ];
    /// `(status, when)` of the query string's extractor.
    const QUERY: [(&str, &str); 1] = [(
        "400",
        "A query parameter is missing, not of its type or outside its documented limits (`query_invalid`)",
    )];

    fn add(operation: &mut Operation, answers: &[(&str, &str)]) {
        for (status, when) in answers {
            if !operation.responses.responses.contains_key(*status) {
                let response = ResponseBuilder::new()
                    .description(*when)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                "ApiError",
                            ))))
                            .build(),
                    )
                    .build();
                operation
                    .responses
                    .responses
                    .insert(status.to_string(), RefOr::T(response));
            }
        }
    }
}

impl Modify for SharedAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    Self::add(operation, &Self::BEARER);
                }
                let json_body = operation
                    .request_body
                    .as_ref()
                    .is_some_and(|body| body.content.contains_key("application/json"));
                if json_body {
                    Self::add(operation, &Self::JSON_BODY);
                }
                let has_query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|parameter| matches!(parameter.parameter_in, ParameterIn::Query));
                if has_query {
                    Self::add(operation, &Self::QUERY);
                }
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let Some(schema) = parameter.schema.as_mut() {
                        bound_unsigned(schema);
                    }
                }
            }
        }
        if let Some(components) = openapi.components.as_mut() {
            for schema in components.schemas.values_mut() {
                bound_unsigned(schema);
            }
        }
        apply_parameter_rules(openapi);
    }
}

/// `(path, parameter, rule)`: see [`PARAMETER_RULES`].
type ParameterRule = (&'static str, &'static str, fn(&mut Object));

/// What the handlers check of a parameter beyond its Rust type, as `(path, parameter, rule)`:
/// the parameter structs live with their handlers (and the sales query with the store), so
/// the limits they enforce are written into the document here. A test checks each rule still
/// names a parameter of the document.
const PARAMETER_RULES: &[ParameterRule] = &[
    ("/api/v1/feed", "consumer", consumer_name),
    ("/api/v1/feed/consumers/{name}", "name", consumer_name),
    ("/api/v1/hq/sales", "by", sales_dimension),
    ("/api/v1/hq/sales", "from", day),
    ("/api/v1/hq/sales", "to", day),
    ("/api/v1/hq/sales", "compare", |o| {
        o.enum_values = Some(vec!["previous".into()]);
    }),
    ("/api/v1/hq/exports/sales", "by", sales_dimension),
    ("/api/v1/hq/exports/sales", "from", day),
    ("/api/v1/hq/exports/sales", "to", day),
    ("/api/v1/hq/exports/sales", "compare", |o| {
        o.enum_values = Some(vec!["previous".into()]);
    }),
    ("/api/v1/hq/tickets", "day", day),
    ("/api/v1/hq/commissions", "month", month),
    ("/api/v1/hq/commissions/export", "month", month),
    ("/api/v1/hq/commissions/export", "format", file_format),
    ("/api/v1/hq/exports/sales", "format", file_format),
    ("/api/v1/hq/commissions/plan", "target", |o| {
        o.enum_values = Some(vec!["category".into(), "product".into()]);
    }),
    ("/api/v1/web-orders", "Idempotency-Key", |o| {
        o.min_length = Some(1);
        o.max_length = Some(200);
    }),
];

/// A feed consumer's name ([`crate::api`] checks it).
fn consumer_name(schema: &mut Object) {
    schema.pattern = Some("^[A-Za-z0-9._-]{1,64}$".into());
}

/// What the sales are grouped by.
fn sales_dimension(schema: &mut Object) {
    schema.enum_values = Some(
        [
            "shop", "region", "day", "product", "category", "seller", "tender",
        ]
        .map(Into::into)
        .into(),
    );
}

/// A local month, `YYYY-MM`.
fn month(schema: &mut Object) {
    schema.pattern = Some("^[0-9]{4}-(0[1-9]|1[0-2])$".into());
}

/// A download's format.
fn file_format(schema: &mut Object) {
    schema.enum_values = Some(vec!["csv".into(), "xlsx".into()]);
}

/// A local day, `YYYY-MM-DD`.
fn day(schema: &mut Object) {
    schema.format = Some(SchemaFormat::KnownFormat(KnownFormat::Date));
}

fn apply_parameter_rules(openapi: &mut utoipa::openapi::OpenApi) {
    for (path, name, rule) in PARAMETER_RULES {
        let Some(item) = openapi.paths.paths.get_mut(*path) else {
            continue;
        };
        for operation in operations(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                if parameter.name == *name
                    && let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut()
                {
                    rule(object);
                }
            }
        }
    }
}

/// Gives an unsigned integer (a `u32` or `u64`, told apart by the `non_strict_integers` feature
/// of utoipa) the format `uint32` or `uint64` and the maximum its Rust type takes: the server accepts every value up to it,
/// so a client (or a fuzzer) must not read the format as a signed one's range.
fn bound_unsigned(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(object) => {
            let unsigned = match object.format {
                Some(SchemaFormat::KnownFormat(KnownFormat::UInt32)) => {
                    Some(("uint32", u32::MAX as usize))
                }
                Some(SchemaFormat::KnownFormat(KnownFormat::UInt64)) => {
                    Some(("uint64", u64::MAX as usize))
                }
                _ => None,
            };
            if let Some((format, maximum)) = unsigned {
                // utoipa spells these formats `u-int32`; the usual name is `uint32`.
                object.format = Some(SchemaFormat::Custom(format.into()));
                object.maximum.get_or_insert(utoipa::Number::UInt(maximum));
            }
            for property in object.properties.values_mut() {
                bound_unsigned(property);
            }
        }
        Schema::Array(array) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &mut array.items {
                bound_unsigned(items);
            }
        }
        Schema::OneOf(one_of) => one_of.items.iter_mut().for_each(bound_unsigned),
        Schema::AllOf(all_of) => all_of.items.iter_mut().for_each(bound_unsigned),
        Schema::AnyOf(any_of) => any_of.items.iter_mut().for_each(bound_unsigned),
        _ => {}
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Point-of-sale head-office sync server",
        description = "Till enrollment, ledger upload and the changes feed, the tills' archives (kept at least six years, never deleted), web orders (click & collect), head-office reports, the outbox feed and webhook administration. Errors are `{code, message}`.",
        license(name = "Apache-2.0 OR MIT"),
    ),
    paths(
        api::openapi_json,
        crate::ops::healthz,
        crate::ops::readyz,
        api::get_capabilities,
        api::enroll,
        api::login,
        api::logout,
        api::revoke_till,
        api::revoke_user,
        api::revoke_webshop,
        api::upload,
        api::shop_tills,
        crate::sales_api::hq_sales,
        crate::tickets_api::day_tickets,
        crate::tickets_api::ticket,
        api::hq_fleet,
        api::hq_alarms,
        api::export_fec,
        api::hq_webhooks,
        api::hq_add_webhook,
        api::hq_remove_webhook,
        api::hq_rotate_webhook_secret,
        api::hq_dead_letters,
        api::hq_retry_dead_letters,
        api::feed,
        api::consumers,
        api::acknowledge,
        orders_api::changes,
        orders_api::place_order,
        orders_api::get_order,
        orders_api::cancel_order,
        orders_api::hq_orders,
        customers_api::upload_customers,
        crate::live::hq_live,
        crate::web_session::web_login,
        crate::web_session::current_session,
        crate::web_session::web_logout,
        archives_api::upload_archive,
        archives_api::list_archives,
        archives_api::download_archive,
        archives_api::verify_archives,
        crate::stored_value_api::lookup,
        crate::stored_value_api::hold,
        crate::stored_value_api::history,
        crate::returns_api::lookup,
        crate::returns_api::reserve,
        crate::commissions_api::month,
        crate::commissions_api::export,
        crate::commissions_api::plan,
        crate::commissions_api::set_plan_rate,
        crate::commissions_api::remove_plan_rate,
        crate::exports_api::sales,
        crate::exports_api::entities,
        crate::exports_api::hledger,
        crate::admin::http::audit,
        crate::admin::http::import_catalog,
        crate::admin::http::get_product,
        crate::admin::http::put_product,
        crate::admin::http::delete_product,
        crate::admin::http::shop_prices,
        crate::admin::http::set_price,
        crate::admin::http::remove_price,
        crate::admin::http::list_promotions,
        crate::admin::http::set_promotion,
        crate::admin::http::remove_promotion,
        crate::admin::http::set_vat,
        crate::admin::http::set_tender,
        crate::admin::http::list_entities,
        crate::admin::http::create_entity,
        crate::admin::http::list_regions,
        crate::admin::http::create_region,
        crate::admin::http::list_shops,
        crate::admin::http::create_shop,
        crate::admin::http::set_shop_region,
        crate::admin::http::list_tills,
        crate::admin::http::create_till,
        crate::admin::http::till_code,
        crate::admin::http::revoke_till,
        crate::admin::http::list_staff,
        crate::admin::http::put_staff,
        crate::admin::http::reset_pin,
        crate::admin::http::remove_staff,
        crate::admin::http::list_users,
        crate::admin::http::create_user,
        crate::admin::http::revoke_user,
        crate::admin::http::set_user_role,
        crate::admin::http::disable_user,
        crate::admin::http::enable_user,
        crate::stock_api::available,
        crate::stock_api::available_matrix,
        crate::till_stock_api::till_stock,
        crate::logistics_api::post_notice,
        crate::logistics_api::list_notices,
        crate::logistics_api::get_notice,
        crate::logistics_api::withdraw_notice,
        crate::logistics_api::replenishment,
        crate::admin::replenishment::list_minmax,
        crate::admin::replenishment::put_minmax,
    ),
    components(schemas(crate::store::Role, crate::logistics_api::ProposalFormat)),
    modifiers(&BearerAuth, &SharedAnswers),
    tags(
        (name = "tills", description = "Enrollment, upload of the tills' signed ledgers, and the changes feed they download"),
        (name = "web orders", description = "Orders a web shop places for pickup in a shop (click & collect)"),
        (name = "head office", description = "Login and logout, consolidated reports, fleet, alarms, exports, revocation of credentials"),
        (name = "stored value", description = "Credit notes and gift cards: balances and online redemption holds for tills, history for head office"),
        (name = "returns", description = "Returns at any till: another till's ticket with every return made against it, and return reservations"),
        (name = "administration", description = "Admins only: catalog, prices, promotions, VAT rates, tender types, shops and regions, tills and enrollment codes, shop staff, head-office users; every change journaled (`GET /api/v1/admin/audit`)"),
        (name = "stock", description = "What each shop may promise of each product, for the web shop and head office; a till's own shop and the shops nearby, for the till"),
        (name = "logistics", description = "The logistics spoke: advance shipping notices in, sent to their shop's tills, and the differences shops received against them (admins and the logistics role)"),
        (name = "feeds", description = "The outbox as a pull feed, and webhook delivery"),
        (name = "meta", description = "This document, and the probes of operations (alive, ready); Prometheus metrics are served on the address of `serve --metrics-listen` only"),
    )
)]
struct ApiDoc;

/// The OpenAPI document, with the crate's version.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// The document as the committed `sync-server/openapi.json` holds it (pretty, newline-ended).
pub fn pretty_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use pos_domain::Money;
    use pos_domain::record::Chain;
    use pos_domain::web_order::{
        NewOrderLine, NewWebOrder, OrderLine, OrderState, PaymentState, WebOrder,
    };
    use pos_domain::wire::*;
    use serde_json::Value;

    use super::*;

    /// The property names of a schema in the document.
    fn properties(name: &str) -> BTreeSet<String> {
        let doc = serde_json::to_value(document()).unwrap();
        doc["components"]["schemas"][name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("schema {name} is in the document"))
            .keys()
            .cloned()
            .collect()
    }

    /// The values of an enum schema in the document.
    fn enum_values(name: &str) -> BTreeSet<String> {
        let doc = serde_json::to_value(document()).unwrap();
        doc["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("schema {name} is an enum in the document"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// What each value serializes to, for enums serialized as strings.
    fn strings<T: Serialize>(values: impl IntoIterator<Item = T>) -> BTreeSet<String> {
        values
            .into_iter()
            .map(|v| match serde_json::to_value(v).unwrap() {
                Value::String(text) => text,
                other => panic!("not a string: {other}"),
            })
            .collect()
    }

    fn keys(value: impl Serialize) -> BTreeSet<String> {
        match serde_json::to_value(value).unwrap() {
            Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    /// Every `$ref` in the document, in the order met.
    fn references(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target.clone());
                }
                map.values().for_each(|v| references(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| references(v, found)),
            _ => {}
        }
    }

    /// A schema referred to but not in `components` is skipped by clients and fuzzers alike.
    #[test]
    fn every_reference_names_a_schema_of_the_document() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut found = Vec::new();
        references(&doc, &mut found);
        assert!(!found.is_empty());
        let missing: BTreeSet<&String> = found
            .iter()
            .filter(|target| {
                let name = target.strip_prefix("#/components/schemas/");
                name.is_none_or(|name| doc["components"]["schemas"].get(name).is_none())
            })
            .collect();
        assert!(missing.is_empty(), "references to nothing: {missing:?}");
    }

    #[test]
    fn the_wire_schemas_have_the_fields_the_wire_types_serialize() {
        let capabilities = Capabilities {
            protocol: ProtocolVersion::CURRENT,
            supported_majors: vec![1],
            max_records_per_upload: 1,
            max_body_bytes: 1,
            features: vec![],
        };
        assert_eq!(properties("Capabilities"), keys(&capabilities));
        assert_eq!(
            properties("ApiError"),
            keys(ApiError {
                code: "c".into(),
                message: "m".into()
            })
        );
        assert_eq!(
            properties("EnrollRequest"),
            keys(EnrollRequest {
                protocol: ProtocolVersion::CURRENT,
                code: "c".into(),
                public_key: "k".into(),
                software: "s".into(),
            })
        );
        assert_eq!(
            properties("EnrollResponse"),
            keys(EnrollResponse {
                till_id: "t".into(),
                shop_id: "s".into(),
                token: "x".into(),
                capabilities,
            })
        );
        let record = WireRecord {
            seq: 1,
            stored: "{}".into(),
        };
        assert_eq!(properties("WireRecord"), keys(&record));
        let batch = ChainBatch {
            chain: Chain::Ticket,
            records: vec![record],
        };
        assert_eq!(properties("ChainBatch"), keys(&batch));
        assert_eq!(
            properties("UploadRequest"),
            keys(UploadRequest {
                protocol: ProtocolVersion::CURRENT,
                chains: vec![batch],
                sent_at: Some("2026-01-01T00:00:00Z".into()),
            })
        );
        let mut ack_fields = BTreeSet::new();
        for outcome in [
            ChainOutcome::Ok,
            ChainOutcome::Gap { expected: 2 },
            ChainOutcome::Fork {
                seq: 1,
                reason: "r".into(),
            },
            ChainOutcome::Rejected {
                seq: 1,
                reason: "r".into(),
            },
        ] {
            ack_fields.extend(keys(ChainAck {
                chain: Chain::Ticket,
                held: 1,
                stored: 1,
                duplicates: 0,
                outcome,
            }));
        }
        assert_eq!(properties("ChainAck"), ack_fields);
        assert_eq!(
            properties("UploadResponse"),
            keys(UploadResponse { chains: vec![] })
        );
    }

    #[test]
    fn the_customer_schemas_have_the_fields_the_wire_types_serialize() {
        let customer = pos_domain::customer::Customer {
            id: "i".into(),
            name: "n".into(),
            phone: Some("+33612345678".into()),
            email: Some("e@example.fr".into()),
            created_at: "2026-03-30T10:00:00Z".parse().unwrap(),
            updated_at: "2026-03-30T10:00:00Z".parse().unwrap(),
        };
        assert_eq!(properties("Customer"), keys(&customer));
        assert_eq!(
            properties("CustomersUpload"),
            keys(pos_domain::wire::CustomersUpload {
                customers: vec![customer]
            })
        );
        assert_eq!(
            properties("CustomersUploadResponse"),
            keys(pos_domain::wire::CustomersUploadResponse {
                stored: 1,
                unchanged: 0
            })
        );
    }

    #[test]
    fn the_changes_feed_schemas_have_the_fields_the_wire_types_serialize() {
        let change = Change {
            version: 7,
            kind: kinds::PRODUCT.into(),
            key: "P1".into(),
            data: None,
        };
        assert_eq!(properties("Change"), keys(&change));
        assert_eq!(
            properties("ChangesPage"),
            keys(ChangesPage {
                changes: vec![change],
                next: 7,
                latest: 9,
            })
        );
    }

    #[test]
    fn the_web_order_schemas_have_the_fields_the_domain_types_serialize() {
        let new_line = NewOrderLine {
            product_id: "P1".into(),
            label: "Mug".into(),
            quantity: 2,
            unit_price: Money::from_cents(1250),
            vat_code: Some(pos_domain::vat::VatCode::Standard),
        };
        assert_eq!(properties("NewOrderLine"), keys(&new_line));
        // Optional fields are left out when empty: filled, every field shows.
        assert_eq!(
            properties("NewWebOrder"),
            keys(NewWebOrder {
                shop: "S1".into(),
                lines: vec![new_line],
                payment: PaymentState::PaidOnline,
                customer: Some("c".into()),
                reference: Some("r".into()),
            })
        );
        let line = OrderLine {
            line: 1,
            product_id: "P1".into(),
            label: "Mug".into(),
            quantity: 2,
            unit_price: Money::from_cents(1250),
            vat_code: Some(pos_domain::vat::VatCode::Standard),
        };
        assert_eq!(properties("OrderLine"), keys(&line));
        assert_eq!(
            properties("WebOrder"),
            keys(WebOrder {
                id: "WO-1".into(),
                shop: "S1".into(),
                lines: vec![line],
                payment: PaymentState::PayInShop,
                total: Money::from_cents(2500),
                pickup_code: "K".into(),
                customer: Some("c".into()),
                reference: Some("r".into()),
                state: OrderState::Placed,
                placed_at: "2026-01-01T00:00:00Z".into(),
                collected: vec![pos_domain::web_order::PickedLine {
                    line: 1,
                    quantity: 2,
                }],
                returned: vec![pos_domain::web_order::PickedLine {
                    line: 1,
                    quantity: 1,
                }],
            })
        );
        assert_eq!(enum_values("OrderState"), strings(OrderState::ALL));
        assert_eq!(
            enum_values("PaymentState"),
            strings([PaymentState::PaidOnline, PaymentState::PayInShop])
        );
    }

    #[test]
    fn the_changes_page_limits_described_are_the_servers() {
        let doc = serde_json::to_value(document()).unwrap();
        let parameters = doc["paths"]["/api/v1/tills/{till_id}/changes"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let limit = parameters
            .iter()
            .find(|p| p["name"] == "limit")
            .expect("the changes route documents `limit`");
        let description = limit["description"].as_str().unwrap();
        for value in [
            crate::distribution::DEFAULT_PAGE,
            crate::distribution::MAX_PAGE,
        ] {
            assert!(
                description.contains(&value.to_string()),
                "`{description}` names {value}"
            );
        }
    }

    /// `(method, path)` of each `.route(...)` in the function `function` of `source`.
    fn routes_in(source: &str, function: &str) -> BTreeSet<(String, String)> {
        let body = &source[source.find(function).unwrap()..];
        let body = &body[..body.find("\n}\n").unwrap()];
        let mut routes = BTreeSet::new();
        for route in body.split(".route(").skip(1) {
            let route = &route[..route.find(".route(").unwrap_or(route.len())];
            // The route's one string literal is its path; the method routers follow it.
            let path = route.split('"').nth(1).unwrap();
            let handlers = &route[route.rfind('"').unwrap()..];
            let mut methods = 0;
            for method in ["get", "post", "put", "patch", "delete"] {
                let called = handlers
                    .match_indices(&format!("{method}("))
                    .any(|(at, _)| {
                        !handlers[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    });
                if called {
                    routes.insert((method.to_string(), path.to_string()));
                    methods += 1;
                }
            }
            assert!(methods > 0, "the method of route `{path}` is read");
        }
        assert!(!routes.is_empty(), "{function} has routes");
        routes
    }

    /// Every operation of the document, as `(label, operation)`.
    fn operations_of(doc: &Value) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                out.push((format!("{method} {path}"), operation.clone()));
            }
        }
        out
    }

    #[test]
    fn every_operation_documents_the_answers_of_its_extractors() {
        let doc = serde_json::to_value(document()).unwrap();
        for (label, operation) in operations_of(&doc) {
            let responses = &operation["responses"];
            let mut expected = Vec::new();
            if operation["security"].is_array() {
                expected.push("401");
            }
            if operation["requestBody"]["content"]["application/json"].is_object() {
                expected.extend(["400", "413", "415", "422"]);
            }
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if parameters.iter().any(|p| p["in"] == "query") {
                expected.push("400");
            }
            for status in expected {
                assert!(
                    responses[status].is_object(),
                    "{label} can answer {status} (its extractors do): the document says so"
                );
            }
        }
    }

    #[test]
    fn unsigned_parameters_are_documented_with_their_whole_range() {
        let doc = serde_json::to_value(document()).unwrap();
        let limit = doc["paths"]["/api/v1/feed"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap()["schema"]
            .clone();
        assert_eq!(limit["format"], "uint32", "{limit}");
        assert_eq!(
            limit["maximum"],
            u64::from(u32::MAX),
            "a u32 takes every value to 4294967295, not a signed int32's range: {limit}"
        );
        let since = doc["paths"]["/api/v1/tills/{till_id}/changes"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "since")
            .unwrap()["schema"]
            .clone();
        assert_eq!(since["format"], "uint64", "{since}");
        assert_eq!(since["maximum"], u64::MAX, "{since}");
    }

    #[test]
    fn every_parameter_rule_names_a_documented_parameter() {
        let doc = serde_json::to_value(document()).unwrap();
        for (path, name, _) in PARAMETER_RULES {
            let named = doc["paths"][*path]
                .as_object()
                .unwrap_or_else(|| panic!("{path} is documented"))
                .values()
                .flat_map(|operation| {
                    operation["parameters"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .any(|parameter| parameter["name"] == *name);
            assert!(
                named,
                "the rule for `{name}` of {path} applies to a parameter of the document"
            );
        }
    }

    #[test]
    fn the_chain_schema_lists_every_chain() {
        assert_eq!(enum_values("Chain"), strings(Chain::ALL));
    }

    #[test]
    fn every_route_of_the_router_is_documented() {
        let doc = serde_json::to_value(document()).unwrap();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |method| (method.clone(), path.clone()))
            })
            .collect();
        let api = include_str!("api.rs");
        assert!(
            api.contains(".merge(crate::orders_api::routes())"),
            "the router takes the routes of orders_api"
        );
        let mut routes = routes_in(api, "pub fn router(");
        routes.extend(routes_in(include_str!("orders_api.rs"), "pub fn routes("));
        assert!(
            api.contains(".merge(crate::customers_api::routes())"),
            "the router takes the routes of customers_api"
        );
        routes.extend(routes_in(
            include_str!("customers_api.rs"),
            "pub fn routes(",
        ));
        assert!(
            api.contains(".merge(crate::ops::probe_routes())"),
            "the router takes the probes of ops"
        );
        routes.extend(routes_in(include_str!("ops.rs"), "pub fn probe_routes("));
        for (module, source) in [
            ("live", include_str!("live.rs")),
            ("web_session", include_str!("web_session.rs")),
            ("archives_api", include_str!("archives_api.rs")),
            ("stored_value_api", include_str!("stored_value_api.rs")),
            ("returns_api", include_str!("returns_api.rs")),
            ("commissions_api", include_str!("commissions_api.rs")),
            ("exports_api", include_str!("exports_api.rs")),
            ("admin::http", include_str!("admin/http.rs")),
            ("stock_api", include_str!("stock_api.rs")),
            ("till_stock_api", include_str!("till_stock_api.rs")),
            ("logistics_api", include_str!("logistics_api.rs")),
            (
                "admin::replenishment",
                include_str!("admin/replenishment.rs"),
            ),
        ] {
            assert!(
                api.contains(&format!(".merge(crate::{module}::routes())")),
                "the router takes the routes of {module}"
            );
            routes.extend(routes_in(source, "pub fn routes("));
        }
        assert_eq!(documented, routes, "each route has a #[utoipa::path]");
    }
}
