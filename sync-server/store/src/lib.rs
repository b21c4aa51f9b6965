//! Head office's storage interface: the [`Store`] trait with its rows and errors, and the one
//! ingest sequence ([`ingest_tx`]) over the storage verbs of [`ingest_tx::IngestTx`]. Each
//! backend is a crate of its own implementing both, with its migrations
//! (`pos-hq-store-sqlite`, `pos-hq-store-postgres`); the same scenario tests run against both.
//!
//! Decisions shared by both backends: timestamps are stored as canonical RFC 3339 UTC text
//! (microseconds, `Z`), which sorts chronologically; days as `YYYY-MM-DD`; amounts as integer
//! cents; records as their stored bytes plus the SHA-256 of those bytes; `records` and `alarms`
//! refuse UPDATE and DELETE by trigger. Stock lines and their append-only movements are read
//! through [`stock::StockStore`], which every [`Store`] is; advance shipping notices through
//! [`logistics::LogisticsStore`].
//!
//! Several server processes over one database: background work is claimed for a lease
//! ([`Claim`], [`Store::claim_webhook_deliveries`]) and singleton jobs are led by one process
//! ([`Store::try_lead`]); SQLite is served by one process ([`Store::begin_serving`]).

pub mod archives;
pub mod arrival;
pub use archives::ArchiveStore;
pub mod commissions;
pub use commissions::CommissionStore;
pub mod audit;
pub mod ingest_tx;
pub mod logistics;
pub use logistics::LogisticsStore;
pub mod migrations;
pub mod returns;
pub mod stock;
pub use stock::StockStore;

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pos_domain::accounting::JournalEntry;
use pos_domain::record::{Chain, PublicKey};
use pos_domain::web_order::WebOrder;
use pos_domain::wire::{ChainBatch, UploadResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Storage errors. `Conflict` and `NotFound` are the caller's to fix; the rest are server faults.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error(
        "the enrollment code is unknown, already used or expired: ask head office for a new one"
    )]
    EnrollmentCodeInvalid,
    #[error(
        "this till is enrolled with another public key: a till with a new ledger (new key) needs a new till id from head office"
    )]
    PublicKeyMismatch,
    #[error("database error: {0}")]
    Database(String),
    #[error("a stored value is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "this Idempotency-Key was already used with another request body: send a new key for a new order, or resend the same body"
    )]
    IdempotencyConflict,
    #[error("{0}")]
    OrderState(String),
    /// An order asks for more than its pickup shop may promise (see [`stock`]).
    #[error("{0}")]
    StockUnavailable(String),
}

pub use pos_hq_core::distribution::NewChange;
pub use pos_hq_core::ingest::TillAuth;

impl From<pos_hq_core::web_orders::UnreadableOrder> for StoreError {
    fn from(e: pos_hq_core::web_orders::UnreadableOrder) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(code, _) = &e
            && code.code == rusqlite::ErrorCode::ConstraintViolation
        {
            return StoreError::Conflict(e.to_string());
        }
        StoreError::Database(e.to_string())
    }
}

#[cfg(feature = "postgres")]
impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error()
            && db.code().code().starts_with("23")
        {
            return StoreError::Conflict(db.message().to_string());
        }
        StoreError::Database(format!("{e:?}"))
    }
}

#[cfg(feature = "postgres")]
impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Database(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A legal entity (the company owning shops; FEC files are per entity and fiscal year).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalEntity {
    pub id: String,
    pub name: String,
    /// 9 digits.
    pub siren: String,
    /// Month (1-12) the fiscal year starts.
    pub fiscal_year_start_month: u32,
}

/// A shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shop {
    pub id: String,
    pub entity_id: String,
    pub name: String,
    /// VAT territory (`metropole`, `corsica`, ...).
    pub territory: String,
    /// IANA time zone.
    pub timezone: String,
    pub address: String,
    /// The region it belongs to, if any (see [`Region`]).
    #[serde(default)]
    pub region_id: Option<String>,
}

/// A region: a group of shops a regional manager oversees. A shop belongs to at most one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub id: String,
    pub name: String,
}

/// The key of the shops without a region in sales by region, and the `region` filter value
/// that selects them. Region ids never take it (see the admin command's id rules).
pub const NO_REGION: &str = "(none)";

/// Which shops a query covers: all, one shop, the shops of one region, or one shop if it is in
/// that region. A region of [`NO_REGION`] means the shops without a region.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShopSelection {
    pub shop: Option<String>,
    pub region: Option<String>,
}

impl ShopSelection {
    /// Every shop.
    pub fn all() -> ShopSelection {
        ShopSelection::default()
    }

    /// One shop.
    pub fn shop(id: &str) -> ShopSelection {
        ShopSelection {
            shop: Some(id.to_string()),
            region: None,
        }
    }

    /// Whether it selects every shop.
    pub fn is_all(&self) -> bool {
        self.shop.is_none() && self.region.is_none()
    }

    /// Whether `shop` (in `region`) is selected.
    pub fn contains(&self, shop: &str, region: Option<&str>) -> bool {
        self.shop.as_deref().is_none_or(|s| s == shop)
            && self
                .region
                .as_deref()
                .is_none_or(|r| r == region.unwrap_or(NO_REGION))
    }

    /// [`ShopSelection::condition`] written for this selection: only the parts that select
    /// something compare `column`, so the planner can use an index on it (an `x IS NULL OR`
    /// form hides the index and made one shop's or one region's sales read every shop's rows);
    /// each placeholder still appears once, as the backends bind every parameter.
    pub fn narrowing(&self, column: &str, shop: &str, region: &str) -> String {
        let by_shop = match self.shop {
            Some(_) => format!("{column} = {shop}"),
            None => format!("{shop} IS NULL"),
        };
        let by_region = match self.region {
            Some(_) => format!(
                "{column} IN (SELECT id FROM shops WHERE coalesce(region_id, '{NO_REGION}') = {region})"
            ),
            None => format!("{region} IS NULL"),
        };
        format!("{by_shop} AND {by_region}")
    }

    /// The SQL condition selecting `column` (a shop id), with `shop` and `region` the
    /// placeholders of [`ShopSelection::shop`] and [`ShopSelection::region`] (typed as text).
    pub fn condition(column: &str, shop: &str, region: &str) -> String {
        format!(
            "({shop} IS NULL OR {column} = {shop}) AND ({region} IS NULL OR {column} IN \
             (SELECT id FROM shops WHERE coalesce(region_id, '{NO_REGION}') = {region}))"
        )
    }
}

/// A page of a list: the items after `after` in the list's order (from the first if `None`),
/// at most `limit` of them. A client asks for the next page with the key of the last item it
/// received, until a page comes back shorter than `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<K> {
    pub after: Option<K>,
    pub limit: u32,
}

/// Items per page when a request does not say.
pub const DEFAULT_PAGE_LIMIT: u32 = 500;
/// Most items per page.
pub const MAX_PAGE_LIMIT: u32 = 5000;

impl<K> Page<K> {
    /// The page a request asks for, its limit brought within 1..=[`MAX_PAGE_LIMIT`].
    pub fn new(after: Option<K>, limit: Option<u32>) -> Page<K> {
        Page {
            after,
            limit: limit.unwrap_or(DEFAULT_PAGE_LIMIT).clamp(1, MAX_PAGE_LIMIT),
        }
    }

    /// The first page of at most [`MAX_PAGE_LIMIT`] items.
    pub fn first() -> Page<K> {
        Page {
            after: None,
            limit: MAX_PAGE_LIMIT,
        }
    }
}

/// A till as head office sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillInfo {
    pub id: String,
    pub shop_id: String,
    pub name: String,
    pub enrolled: bool,
    pub enrollment_expires_at: Option<String>,
    pub public_key: Option<String>,
    pub software: Option<String>,
    pub protocol: Option<String>,
    pub last_contact_at: Option<String>,
    /// When head office revoked its token (`admin till revoke`), if it has not enrolled since.
    #[serde(default)]
    pub revoked_at: Option<String>,
}

/// A till to create, with the hash of its one-time enrollment code.
#[derive(Clone, Debug)]
pub struct NewTill {
    pub id: String,
    pub shop_id: String,
    pub name: String,
    pub code_hash: String,
    pub code_expires_at: DateTime<Utc>,
}

/// Days a head-office user's API token works unless chosen otherwise
/// (`admin user token --days`).
pub const USER_TOKEN_DAYS: i64 = 90;

/// A user's API token as head office shows it: when it was made and when it expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserToken {
    pub created_at: String,
    pub expires_at: String,
}

/// Head-office roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    RegionalManager,
    ShopManager,
    Accountant,
    /// The logistics department's account: posts and withdraws shipping notices, reads stock
    /// levels and replenishment proposals, nothing else (least privilege).
    Logistics,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::RegionalManager => "regional_manager",
            Role::ShopManager => "shop_manager",
            Role::Accountant => "accountant",
            Role::Logistics => "logistics",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        [
            Role::Admin,
            Role::RegionalManager,
            Role::ShopManager,
            Role::Accountant,
            Role::Logistics,
        ]
        .into_iter()
        .find(|r| r.name() == text)
    }
}

/// A head-office user. Shop managers are bound to one shop, regional managers to one region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub shop_id: Option<String>,
    /// The region of a regional manager.
    #[serde(default)]
    pub region_id: Option<String>,
}

/// A head-office user as admins list them: whether an admin disabled them, and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserAccount {
    #[serde(flatten)]
    pub user: User,
    /// When an admin disabled them (RFC 3339 UTC); `null` for an active user.
    #[serde(default)]
    pub disabled_at: Option<String>,
}

/// What a user may do: their role, its scope, and whether they may log in at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAccess {
    pub role: Role,
    /// The shop of a shop manager.
    pub shop_id: Option<String>,
    /// The region of a regional manager.
    pub region_id: Option<String>,
    pub disabled: bool,
}

impl UserAccess {
    /// The access `account` has now.
    pub fn of(account: &UserAccount) -> UserAccess {
        UserAccess {
            role: account.user.role,
            shop_id: account.user.shop_id.clone(),
            region_id: account.user.region_id.clone(),
            disabled: account.disabled_at.is_some(),
        }
    }

    /// Whether going from `self` to `next` must end the user's sessions and API tokens: a
    /// new role or scope (what they may read changes, so a session opened under the old one
    /// must not live on) or being disabled.
    pub fn ends_credentials(&self, next: &UserAccess) -> bool {
        next.disabled
            || (self.role, &self.shop_id, &self.region_id)
                != (next.role, &next.shop_id, &next.region_id)
    }
}

/// A change an admin makes (see `sync_server::admin`), stored with its journal entry in one
/// transaction by [`Store::apply_admin`]. Each does what the [`Store`] verb of the same name
/// does; the count [`Store::apply_admin`] returns is the changes-feed entries changed
/// (`Changes`), the credentials ended (`RevokeUser`, `UserAccess`), else 1.
#[derive(Clone, Debug)]
pub enum AdminChange {
    /// Entries of the changes feed: catalog, prices, promotions, VAT rates, tenders, staff.
    Changes(Vec<NewChange>),
    Entity(LegalEntity),
    Region(Region),
    Shop(Shop),
    ShopRegion {
        shop_id: String,
        region_id: Option<String>,
    },
    Till(NewTill),
    /// A new enrollment code (see [`Store::reissue_code`]).
    TillCode {
        till_id: String,
        code_hash: String,
        expires_at: DateTime<Utc>,
    },
    RevokeTill {
        till_id: String,
    },
    /// A user with a first API token (see [`Store::create_user_with_token`]).
    User {
        user: User,
        token_hash: String,
        token_expires_at: DateTime<Utc>,
    },
    RevokeUser {
        user_id: String,
    },
    /// A user's role, scope and state: a new role or scope, or being disabled, ends every
    /// session and API token of theirs (see [`UserAccess::ends_credentials`]). [`StoreError::NotFound`]
    /// for an unknown user; [`last_admin_refusal`] when no active admin would be left (checked
    /// with the admins locked, so two admins demoting each other at once cannot both succeed).
    UserAccess {
        user_id: String,
        access: UserAccess,
    },
    Webhook(NewWebhook),
    /// A webhook removed with its queue and dead letters (the events stay in the outbox).
    RemoveWebhook {
        webhook_id: String,
    },
    /// A webhook's new signing secret, sealed: deliveries from then on are signed with it.
    WebhookSecret {
        webhook_id: String,
        sealed: String,
    },
    /// Replenishment levels set (a product's earlier ones at the shop replaced); counts the
    /// lines set.
    MinMax(Vec<pos_hq_core::replenishment::MinMax>),
}

/// Why a change of access was refused: it would leave head office without an active admin.
pub fn last_admin_refusal(user_id: &str) -> StoreError {
    StoreError::Conflict(format!(
        "`{user_id}` is the last active admin: make another user admin first, so someone can still administer head office"
    ))
}

/// What an enrollment returns.
#[derive(Clone, Debug)]
pub struct Enrolled {
    pub till_id: String,
    pub shop_id: String,
}

/// An enrollment to apply.
#[derive(Clone, Debug)]
pub struct Enrollment {
    pub code_hash: String,
    pub public_key: PublicKey,
    pub software: String,
    pub protocol: String,
    pub token_hash: String,
}

/// A consolidated sales query.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SalesQuery {
    /// `shop`, `region`, `day`, `product`, `category`, `seller` or `tender`. By region, rows
    /// are keyed by region id, and the shops without a region are under the key `(none)`; a
    /// shop counts in the region it belongs to when the query runs.
    pub by: String,
    /// First local day, inclusive (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Last local day, inclusive.
    pub to: Option<String>,
    /// Only this shop.
    pub shop: Option<String>,
    /// Only the shops of this region (`(none)`: the shops without a region).
    pub region: Option<String>,
    /// `previous`: also give, per row and in total, the figures of the previous period, the
    /// days of equal number just before `from..to` (both needed): for `from=2026-03-08` and
    /// `to=2026-03-14`, the days 2026-03-01 to 2026-03-07; and the difference, this period
    /// minus the previous one. Rows present in only one of the periods count zero in the
    /// other. By day, each day is compared with the day as many days earlier as the period is
    /// long (its counterpart), under the key of the day asked.
    pub compare: Option<String>,
}

impl SalesQuery {
    /// The rollup dimension and the column grouped on, from a fixed list (safe to put in SQL).
    pub fn grouping(&self) -> Option<(&'static str, &'static str)> {
        Some(match self.by.as_str() {
            "shop" => ("total", "shop_id"),
            "region" => ("total", "coalesce(shops.region_id, '(none)')"),
            "day" => ("total", "day"),
            "product" => ("product", "key"),
            "category" => ("category", "key"),
            "seller" => ("seller", "key"),
            "tender" => ("tender", "key"),
            _ => return None,
        })
    }

    /// The shops the query covers.
    pub fn selection(&self) -> ShopSelection {
        ShopSelection {
            shop: self.shop.clone(),
            region: self.region.clone(),
        }
    }

    /// What the sales query reads: the rollups, joined to the shops when grouped by region.
    pub fn source(&self) -> &'static str {
        if self.by == "region" {
            "sales_rollup LEFT JOIN shops ON shops.id = sales_rollup.shop_id"
        } else {
            "sales_rollup"
        }
    }

    /// The SQL condition on `shop_id`, with `shop` and `region` the placeholders of
    /// [`SalesQuery::shop`] and [`SalesQuery::region`]. By shop or region, or for some shops:
    /// the per-shop rows of the selected shops. For every shop otherwise: the chain-wide rows
    /// ([`pos_hq_core::rollup::ALL_SHOPS`]) that ingest keeps so that chain-wide reports read one
    /// row per day and key instead of one per shop.
    pub fn shop_condition(&self, shop: &str, region: &str) -> String {
        let all = pos_hq_core::rollup::ALL_SHOPS;
        if matches!(self.by.as_str(), "shop" | "region") || !self.selection().is_all() {
            format!(
                "shop_id <> '{all}' AND {}",
                self.selection().narrowing("shop_id", shop, region)
            )
        } else {
            // Both placeholders appear, as the backends bind every parameter.
            format!("shop_id = '{all}' AND {shop} IS NULL AND {region} IS NULL")
        }
    }

    pub fn from_day(&self) -> &str {
        self.from.as_deref().unwrap_or("0000-01-01")
    }

    pub fn to_day(&self) -> &str {
        self.to.as_deref().unwrap_or("9999-12-31")
    }
}

/// One row of a consolidated sales answer. Amounts in cents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesRow {
    pub key: String,
    pub tickets: i64,
    pub quantity: i64,
    pub amount_cents: i64,
    pub excluding_vat_cents: i64,
}

/// A record as stored, with what head office needs to check it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub till_id: String,
    pub shop_id: String,
    pub chain: String,
    pub seq: u64,
    /// The record's time, canonical UTC.
    pub at: String,
    /// SHA-256 of the stored bytes.
    pub hash: String,
    /// The signed bytes exactly as the till sent them.
    pub body: Vec<u8>,
    pub received_at: String,
    /// The till's enrolled public key (hex SEC1).
    pub public_key: Option<String>,
}

/// A position in a list of records ordered by time, till and sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordCursor {
    pub at: String,
    pub till_id: String,
    pub seq: u64,
}

/// Fleet status of one till.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TillStatus {
    pub till_id: String,
    pub shop_id: String,
    pub name: String,
    pub enrolled: bool,
    pub software: Option<String>,
    pub last_contact_at: Option<String>,
    /// Highest contiguous sequence held per chain.
    pub held: BTreeMap<String, u64>,
    pub records_held: u64,
    pub alarms: u64,
    pub last_alarm_at: Option<String>,
    /// The till's clock minus the server's at its last upload, in milliseconds (positive: the
    /// till is ahead), if the till sent its clock.
    pub clock_skew_ms: Option<i64>,
    /// The local days (`YYYY-MM-DD`, oldest first) the till sold on and head office holds no
    /// day closure (Z) of, before the shop's current day (the day in progress is not late).
    pub days_without_z: Vec<String>,
}

/// An alarm as head office sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alarm {
    pub id: i64,
    pub till_id: String,
    pub shop_id: String,
    pub chain: String,
    pub seq: u64,
    pub kind: String,
    pub reason: String,
    pub received_hash: String,
    pub raised_at: String,
}

/// One outbox event with its feed cursor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedEvent {
    pub cursor: i64,
    pub event: Value,
}

/// An outbox row as a backend reads it, its record joined: every reader of envelopes (the feed,
/// webhook deliveries) goes through [`OutboxRead::envelope`].
pub struct OutboxRead {
    pub cursor: i64,
    /// The envelope as written; empty for a record's event.
    pub envelope: String,
    /// For a record's event: the shop it was received for.
    pub record_shop: Option<String>,
    /// For a record's event: the record's stored bytes and hash.
    pub record: Option<(Vec<u8>, String)>,
}

impl OutboxRead {
    /// The envelope as delivered: as written, or, for a record's event, rendered from the
    /// record (see [`pos_hq_core::events::StoredEnvelope`]).
    pub fn envelope(self) -> Result<String> {
        let Some(shop) = self.record_shop else {
            return Ok(self.envelope);
        };
        let cursor = self.cursor;
        let (body, hash) = self.record.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "outbox {cursor}: the record of this event is missing; restore the database \
                 from a backup"
            ))
        })?;
        pos_hq_core::events::record_event_envelope(&shop, &body, &hash).map_err(|e| {
            StoreError::Corrupt(format!("outbox {cursor}: its record cannot be read: {e}"))
        })
    }

    /// The event as the feed gives it.
    pub fn feed_event(self) -> Result<FeedEvent> {
        let cursor = self.cursor;
        let text = self.envelope()?;
        let event = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("outbox {cursor}: {e}")))?;
        Ok(FeedEvent { cursor, event })
    }
}

/// A pull-feed consumer (accounting, CRM, web shop...) and its acknowledged cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Consumer {
    pub name: String,
    pub cursor: i64,
    /// Events after its cursor.
    pub lag: i64,
    pub updated_at: String,
}

/// A webhook to register: events whose type starts with one of `types` (all if empty) are
/// POSTed to `url`, signed with the secret sealed in `sealed_secret`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWebhook {
    pub id: String,
    pub url: String,
    /// The signing secret sealed under the server key (`ServerKey::seal` of the server crate):
    /// the database never holds it in clear.
    pub sealed_secret: String,
    pub types: Vec<String>,
    /// Deliver the events already in the outbox too (otherwise only those written from now on).
    pub from_start: bool,
}

/// A registered webhook as the delivery worker needs it (with its sealed secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// See [`NewWebhook::sealed_secret`].
    pub sealed_secret: String,
    pub types: Vec<String>,
}

impl Webhook {
    /// Whether this webhook wants events of `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.types.is_empty()
            || self
                .types
                .iter()
                .any(|t| event_type.starts_with(t.as_str()))
    }
}

/// A webhook as head office sees it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookStatus {
    pub id: String,
    pub url: String,
    /// Event type prefixes it receives; empty: every event.
    pub types: Vec<String>,
    pub created_at: String,
    /// The outbox cursor up to which events are queued for it.
    pub cursor: i64,
    /// Events queued and not delivered yet (dead letters excluded).
    pub pending: i64,
    /// Events parked in the dead-letter list.
    pub dead: i64,
}

/// An event due for delivery to a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueDelivery {
    pub cursor: i64,
    pub event_id: String,
    /// The CloudEvent, exactly as stored: the bytes POSTed and signed.
    pub body: String,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// A claim on background work, made by one server process so the others leave that work
/// alone until it expires (when its process died without finishing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The claiming process (see `feeds::replica_id` of the server crate).
    pub by: String,
    /// When the claim is made: work due by then is claimable.
    pub now: DateTime<Utc>,
    /// When the claim expires.
    pub until: DateTime<Utc>,
}

/// An event parked after its last allowed attempt failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub webhook_id: String,
    /// The event's outbox cursor (give it to the retry command).
    pub cursor: i64,
    pub event_id: String,
    pub event_type: String,
    pub subject: String,
    pub attempts: u32,
    pub last_error: String,
    pub dead_at: String,
}

/// How far the database's schema is migrated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaState {
    /// Migrations applied to the database.
    pub applied: u32,
    /// Migrations this build knows (a newer build may have applied more).
    pub known: u32,
}

/// Counts over the whole fleet for operations (never a per-shop figure).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperationsGauges {
    /// The newest outbox cursor (0 for an empty outbox).
    pub outbox_end: i64,
    /// Each pull-feed consumer (the NATS publisher among them) and its acknowledged cursor.
    pub consumer_cursors: Vec<(String, i64)>,
    /// Each webhook with its queued deliveries and its dead letters.
    pub webhook_queues: Vec<WebhookQueue>,
    /// Enrolled tills that are not revoked.
    pub tills_enrolled: u64,
    /// Of those, the ones not heard from since the time asked (their records wait on them).
    pub tills_waiting: u64,
}

/// A webhook's queue, for operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookQueue {
    pub webhook_id: String,
    pub pending: i64,
    pub dead: i64,
}

/// An online redemption hold a till asks for (see [`Store::hold_redemption`]).
#[derive(Clone, Debug)]
pub struct HoldRequest {
    /// The till's id for it: a resend of the same hold is the same hold.
    pub hold_id: String,
    pub number: String,
    pub amount: pos_domain::Money,
    /// How long it reserves the money if no redemption settles it.
    pub seconds: u32,
}

/// Head office's answer to a hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HoldOutcome {
    /// No instrument of that number is held (never filled at any synced till).
    Unknown,
    Granted(pos_hq_core::stored_value::Instrument),
    Refused(
        pos_hq_core::stored_value::Instrument,
        pos_hq_core::stored_value::HoldRefusal,
    ),
}

/// Server storage. Every method is one transaction.
#[async_trait]
pub trait Store:
    archives::ArchiveStore
    + commissions::CommissionStore
    + stock::StockStore
    + logistics::LogisticsStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Operations (`GET /readyz`): one trivial read of the schema's migration count, proving
    /// the database answers, with the count this build knows.
    async fn schema_state(&self) -> Result<SchemaState>;
    /// Operations (`GET /metrics`): fleet-wide counts in a few bounded reads, with the tills
    /// not heard from since `silent_since` counted as waiting.
    async fn operations_gauges(&self, silent_since: DateTime<Utc>) -> Result<OperationsGauges>;

    async fn create_entity(&self, entity: &LegalEntity) -> Result<()>;
    async fn create_shop(&self, shop: &Shop) -> Result<()>;
    async fn create_region(&self, region: &Region) -> Result<()>;
    async fn regions(&self) -> Result<Vec<Region>>;
    /// Puts a shop in a region, or in none ([`StoreError::NotFound`] for an unknown shop or
    /// region).
    async fn set_shop_region(&self, shop_id: &str, region_id: Option<&str>) -> Result<()>;
    /// Binds a user to a region, or to none ([`StoreError::NotFound`] for an unknown user or
    /// region).
    async fn set_user_region(&self, user_id: &str, region_id: Option<&str>) -> Result<()>;
    async fn create_till(&self, till: &NewTill) -> Result<()>;
    /// Creates a user with a first API token (the hash is given) that works until
    /// `token_expires_at`.
    async fn create_user_with_token(
        &self,
        user: &User,
        token_hash: &str,
        token_expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Creates a user with a first API token valid for [`USER_TOKEN_DAYS`] days.
    async fn create_user(&self, user: &User, token_hash: &str) -> Result<()> {
        let expires = Utc::now() + chrono::Duration::days(USER_TOKEN_DAYS);
        self.create_user_with_token(user, token_hash, expires).await
    }
    async fn entities(&self) -> Result<Vec<LegalEntity>>;
    async fn shops(&self) -> Result<Vec<Shop>>;
    async fn tills(&self) -> Result<Vec<TillInfo>>;
    /// Every head-office user, by id, with whether they are disabled.
    async fn users(&self) -> Result<Vec<UserAccount>>;

    /// Gives an existing till a new one-time enrollment code (a till that lost its token
    /// enrolls again, with the same key). Its current token stops working at once: whoever
    /// holds it may be why a new code was asked for.
    async fn reissue_code(
        &self,
        till_id: &str,
        code_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Consumes a valid, unexpired enrollment code: stores the till's key and token hash. A
    /// till enrolling again must present the key it enrolled with; its old token stops working.
    async fn enroll(&self, enrollment: &Enrollment, now: DateTime<Utc>) -> Result<Enrolled>;
    /// The till holding this token, its last contact set to `now` unless it was recorded less
    /// than [`LAST_CONTACT_EVERY_SECONDS`] before (see [`last_contact_is_stale`]).
    async fn till_by_token(&self, token_hash: &str, now: DateTime<Utc>)
    -> Result<Option<TillAuth>>;
    /// The active (not disabled) user holding this unexpired API token or session token.
    async fn user_by_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;
    /// Sets a user's password hash (PHC string). Their login sessions end; when this replaces
    /// a password they had, their API tokens end too (a changed password says a credential
    /// may be known to someone else).
    async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<()>;
    /// An active (not disabled) user and their password hash, if they have one: a disabled
    /// user logs in as an unknown one would fail.
    async fn password_of(&self, user_id: &str) -> Result<Option<(User, Option<String>)>>;
    /// Opens a login session: the token whose hash is given works until `expires_at`.
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;

    // Revocation (see `crate::api` for who may call it). Revoking removes credentials only:
    // a till's records, a user, a web shop's orders stay.

    /// Gives a user another API token, working until `expires_at` ([`StoreError::NotFound`]
    /// for an unknown user).
    async fn create_user_token(
        &self,
        token_hash: &str,
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// A user's API tokens (never their hashes), oldest first ([`StoreError::NotFound`] for
    /// an unknown user).
    async fn user_tokens(&self, user_id: &str) -> Result<Vec<UserToken>>;
    /// Ends the login session or API token whose hash is given (logout); false if there was
    /// none.
    async fn end_session(&self, token_hash: &str) -> Result<bool>;
    /// Ends every API token and session of a user; returns how many. Their password stays.
    async fn revoke_user(&self, user_id: &str) -> Result<u64>;
    /// Revokes a till: its token and any pending enrollment code stop working at once; its
    /// records stay. A new code (`reissue_code`) lets it enroll again with the same key.
    async fn revoke_till(&self, till_id: &str, now: DateTime<Utc>) -> Result<()>;
    /// Revokes a web shop's API key; its orders stay.
    async fn revoke_webshop(&self, webshop_id: &str, now: DateTime<Utc>) -> Result<()>;
    /// Gives a web shop a new API key (the hash is given); the old one stops working and a
    /// revoked web shop works again with the new one.
    async fn set_webshop_key(&self, webshop_id: &str, key_hash: &str) -> Result<()>;

    /// Verifies and stores an upload in one transaction (see [`pos_hq_core::ingest`]).
    /// `till_clock` is the till's clock when it sent the upload, if it said.
    async fn ingest(
        &self,
        till: &TillAuth,
        batches: Vec<ChainBatch>,
        now: DateTime<Utc>,
        till_clock: Option<DateTime<Utc>>,
    ) -> Result<UploadResponse>;

    /// A credit note or gift card by number, as the movements synced so far leave it.
    async fn instrument(
        &self,
        number: &str,
    ) -> Result<Option<pos_hq_core::stored_value::Instrument>>;
    /// Every movement of an instrument, oldest first.
    async fn instrument_history(
        &self,
        number: &str,
    ) -> Result<Vec<pos_hq_core::stored_value::HistoryRow>>;
    /// Holds `hold.amount` of an instrument for a redemption `till_id` is about to record,
    /// decided by [`pos_hq_core::stored_value::decide_hold`] with the instrument locked, so two
    /// holds of one instrument are decided one after the other. Expired holds are dropped
    /// first; a hold id the till already holds is granted again unchanged.
    async fn hold_redemption(
        &self,
        till_id: &str,
        hold: &HoldRequest,
        now: DateTime<Utc>,
    ) -> Result<HoldOutcome>;

    /// The (till, sequence) of every return indexed under a ticket, and the lines of the live
    /// return reservations on it (expired ones left out).
    async fn returns_of_ticket(
        &self,
        original_till: &str,
        original_ticket: u64,
        now: DateTime<Utc>,
    ) -> Result<returns::ReturnsOfTicket>;
    /// Reserves lines of a ticket for a return `till_id` is about to record, decided by
    /// [`returns::decide`] with the original locked, so two tills racing for the last unit
    /// are answered one after the other. Expired reservations are dropped first; a
    /// reservation id the till already holds is granted again unchanged.
    async fn reserve_return(
        &self,
        till_id: &str,
        request: &returns::ReservationRequest,
        now: DateTime<Utc>,
    ) -> Result<returns::ReservationOutcome>;

    async fn sales(&self, query: &SalesQuery) -> Result<Vec<SalesRow>>;
    /// The status of the selected shops' tills, by till id, a page at a time (keyed by till id).
    async fn fleet(&self, shops: &ShopSelection, page: &Page<String>) -> Result<Vec<TillStatus>>;
    /// The alarms of the selected shops' tills, oldest first, a page at a time (keyed by id).
    async fn alarms(&self, shops: &ShopSelection, page: &Page<i64>) -> Result<Vec<Alarm>>;
    /// A stored record of a till, with its shop and the till's enrolled key.
    async fn record(&self, till_id: &str, chain: Chain, seq: u64) -> Result<Option<StoredRecord>>;
    /// The ticket records of a shop's tills whose time is in `from..to` (canonical UTC
    /// timestamps, `to` excluded), after `after` in the order (time, till, sequence), at most
    /// `limit`.
    async fn ticket_records(
        &self,
        shop_id: &str,
        from: &str,
        to: &str,
        after: Option<&RecordCursor>,
        limit: u32,
    ) -> Result<Vec<StoredRecord>>;
    /// Outbox events with cursor greater than `after`, oldest first.
    async fn feed(&self, after: i64, limit: u32) -> Result<Vec<FeedEvent>>;
    /// The cursor of the newest outbox event (0 when there is none).
    async fn feed_end(&self) -> Result<i64>;
    /// The cursor a feed consumer acknowledged (`None`: an unknown consumer).
    async fn consumer_cursor(&self, name: &str) -> Result<Option<i64>>;
    /// Records a consumer's cursor (creating the consumer). Moving it back replays events.
    async fn set_consumer_cursor(&self, name: &str, cursor: i64, now: DateTime<Utc>) -> Result<()>;
    /// Every feed consumer with its lag behind the newest event.
    async fn consumers(&self) -> Result<Vec<Consumer>>;
    /// The posted daily entries of the entity's shops whose day is in `from..=to`
    /// (`YYYY-MM-DD`), by day, till and closure (see [`pos_hq_core::accounting`]).
    async fn journal_entries(
        &self,
        entity_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<JournalEntry>>;
    /// The number of stored records of a till (for tests and fleet checks).
    async fn record_count(&self, till_id: &str) -> Result<u64>;

    // Distribution to tills (the changes feed) and web orders: see `pos_hq_core::distribution` and
    // `pos_hq_core::web_orders`.

    /// Writes entries of the changes feed in one transaction, each with a new version (an
    /// entry whose data did not change keeps its version). Returns how many changed.
    async fn put_changes(&self, changes: Vec<NewChange>) -> Result<u64>;
    /// The scopes (shop ids, [`pos_hq_core::distribution::EVERY_SHOP`]...) holding a live entry
    /// `(kind, key)` of the changes feed (removed ones left out).
    async fn live_scopes(&self, kind: &str, key: &str) -> Result<Vec<String>>;
    /// The feed of a shop after `since`: its own entries, those of every shop and those of its
    /// VAT territory.
    async fn changes(
        &self,
        shop_id: &str,
        since: u64,
        limit: u32,
    ) -> Result<pos_hq_core::distribution::StoredPage>;
    /// Stores the customers a till uploaded at `now`, in one transaction: each one later than
    /// head office's copy replaces it, with the shop and till that sent it, goes to the till's
    /// shop through the changes feed and makes a customer event; one dated too far past `now`
    /// is taken as made at `now` and alarmed ([`pos_hq_core::crm::apply_contacts`]); the others
    /// change nothing.
    async fn put_customers(
        &self,
        till: &TillAuth,
        customers: Vec<pos_domain::customer::Customer>,
        now: DateTime<Utc>,
    ) -> Result<pos_domain::wire::CustomersUploadResponse>;
    /// Erases a customer's contact details, in one transaction: the stored copy, the copies of
    /// the shops' tills (a removal in the changes feed) and the details in the customer events
    /// still in the outbox; writes a `pos.crm.customer.erased` event. Their figures and
    /// purchases (no personal data) stay. False when head office holds no details of them.
    async fn erase_customer(&self, id: &str) -> Result<bool>;
    /// A customer's stored contact details (for tests and support).
    async fn customer_contact(&self, id: &str) -> Result<Option<pos_domain::customer::Customer>>;
    /// Registers a web shop, authenticated by the API key whose hash is given.
    async fn create_webshop(&self, id: &str, name: &str, key_hash: &str) -> Result<()>;
    /// The web shop holding this API key, unless revoked.
    async fn webshop_by_key(&self, key_hash: &str) -> Result<Option<String>>;
    /// Places a web order once per (web shop, idempotency key): a resend with the same
    /// request hash returns the stored order, another body is an `IdempotencyConflict`.
    async fn place_web_order(&self, placement: &Placement) -> Result<Placed>;
    async fn web_order(&self, id: &str) -> Result<Option<WebOrder>>;
    /// The web shop that placed an order (`None` if there is no such order).
    async fn web_order_webshop(&self, id: &str) -> Result<Option<String>>;
    /// The web orders of the selected shops, newest first, a page at a time (keyed by order
    /// id: the orders placed before the order `page.after`).
    async fn web_orders(&self, shops: &ShopSelection, page: &Page<String>)
    -> Result<Vec<WebOrder>>;
    /// Cancels a web order online (refused once a handover or refusal is known).
    async fn cancel_web_order(&self, id: &str, now: DateTime<Utc>) -> Result<WebOrder>;
    /// Removes a web order, readable or not (`sync-server admin web-order remove`), with a
    /// feed entry that drops it at its shop's tills and a `pos.web_order.removed` event.
    /// Returns its pickup shop, or `None` if there was no such order.
    async fn remove_web_order(&self, id: &str, now: DateTime<Utc>) -> Result<Option<String>>;
    /// Registers a webhook ([`StoreError::Conflict`] if the id is taken).
    async fn create_webhook(&self, hook: &NewWebhook, now: DateTime<Utc>) -> Result<()>;
    /// Every webhook with its queue counts.
    async fn webhooks(&self) -> Result<Vec<WebhookStatus>>;
    /// Every webhook whose secret is sealed, with that secret, for the delivery worker.
    async fn webhook_targets(&self) -> Result<Vec<Webhook>>;
    /// The webhooks whose secret is still in clear (stored by earlier versions), with it.
    async fn plain_webhook_secrets(&self) -> Result<Vec<(String, String)>>;
    /// Replaces a webhook's secret in clear by its sealed form (nothing if already sealed).
    async fn seal_webhook_secret(&self, webhook_id: &str, sealed: &str) -> Result<()>;
    /// Queues, for `hook`, the outbox events after its cursor that it wants (at most `limit`
    /// events are looked at), and moves its cursor past them. Returns the events looked at.
    async fn queue_webhook_events(
        &self,
        hook: &Webhook,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<u32>;
    /// Claims for `claim.by` until `claim.until`, in one transaction, at most `limit` queued
    /// events of `webhook_id` that are due at `claim.now`, unclaimed (or whose claim expired:
    /// its process died), and first of their subject (no earlier undelivered event of the same
    /// subject, queued or dead, is left), oldest first. So each event is attempted by one
    /// server at a time, and one subject by at most one server, in order.
    async fn claim_webhook_deliveries(
        &self,
        webhook_id: &str,
        claim: &Claim,
        limit: u32,
    ) -> Result<Vec<DueDelivery>>;
    /// Removes a delivered event from the webhook's queue (whoever holds its claim: it is
    /// delivered).
    async fn webhook_delivered(&self, webhook_id: &str, cursor: i64) -> Result<()>;
    /// Records a failed attempt of the claim of `claimant` and releases it: the event is tried
    /// again at `retry_at`, or, if `None`, parked as a dead letter at `now`. Nothing changes if
    /// the claim expired and another server took the event over.
    async fn webhook_failed(
        &self,
        webhook_id: &str,
        cursor: i64,
        claimant: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The dead letters by outbox cursor (oldest event first) and webhook, a page at a time
    /// (keyed by cursor and webhook id).
    async fn dead_letters(&self, page: &Page<(i64, String)>) -> Result<Vec<DeadLetter>>;
    /// Queues dead letters again with their attempts reset, due at `now`: all of them, those of
    /// one webhook, or one event of one webhook. Returns how many.
    async fn retry_dead_letters(
        &self,
        webhook_id: Option<&str>,
        cursor: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<u64>;

    // Several server processes over one database.

    /// Makes this process the one serving the database, before `serve` starts any work.
    /// SQLite is served by one process at a time: a second is refused with a
    /// [`StoreError::Conflict`] saying so, until the first stops or dies (admin commands still
    /// run beside it). PostgreSQL takes any number of serving processes, which claim their
    /// work: nothing to do there.
    async fn begin_serving(&self) -> Result<()>;
    /// Tries to make this process the leader of the singleton job `job` (the NATS publisher):
    /// `Some` while it leads, `None` while another process does. The lead lasts as long as
    /// the returned guard and its process; a process that dies loses it at once.
    async fn try_lead(&self, job: &str) -> Result<Option<Box<dyn Leadership>>>;

    // Administration (see `sync_server::admin`).

    /// Applies a change an admin makes and appends its journal entry `audit`, in one
    /// transaction, at `now`: both are stored or neither (an entry that cannot be written
    /// undoes the change). Returns what the change counts (see [`AdminChange`]).
    async fn apply_admin(
        &self,
        change: AdminChange,
        audit: &audit::NewAuditEntry,
        now: DateTime<Utc>,
    ) -> Result<u64>;
    /// A page of the administration journal, newest first: the entries before `page.after`
    /// (an entry's `id`), from the newest if `None`.
    async fn audit_entries(&self, page: &Page<i64>) -> Result<Vec<audit::AuditEntry>>;
    /// The data of the live changes-feed entry `(kind, shop_id, key)`; `None` when there is
    /// none or it was removed.
    async fn change_data(&self, kind: &str, shop_id: &str, key: &str) -> Result<Option<Value>>;
    /// A page of the live entries of one kind of the changes feed (removed ones left out), by
    /// `(key, shop_id)`, after `page.after`.
    async fn live_entries(
        &self,
        kind: &str,
        page: &Page<(String, String)>,
    ) -> Result<Vec<audit::LiveEntry>>;
}

/// The lead of a singleton job, held while this value lives (see [`Store::try_lead`]).
#[async_trait]
pub trait Leadership: Send {
    /// Whether this process still leads: false once the hold is lost (its database connection
    /// broke), after which another process may lead and this one must stop the job.
    async fn still_leading(&mut self) -> bool;
}

/// The lead of a database only one process serves (SQLite): kept for as long as it lives.
pub struct SoleLeader;

#[async_trait]
impl Leadership for SoleLeader {
    async fn still_leading(&mut self) -> bool {
        true
    }
}

/// A web order to place.
#[derive(Clone, Debug)]
pub struct Placement {
    pub webshop: String,
    pub idempotency_key: String,
    /// SHA-256 of the request's canonical JSON.
    pub request_hash: String,
    pub order: WebOrder,
    pub now: DateTime<Utc>,
}

/// What placing an order did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placed {
    Created(WebOrder),
    /// The same request was placed before: the order as it is now.
    Existing(WebOrder),
}

/// Every dead letter, page after page (for the admin command).
pub async fn all_dead_letters(store: &dyn Store) -> Result<Vec<DeadLetter>> {
    let mut all: Vec<DeadLetter> = Vec::new();
    loop {
        let after = all.last().map(|d| (d.cursor, d.webhook_id.clone()));
        let page = store
            .dead_letters(&Page::new(after, Some(MAX_PAGE_LIMIT)))
            .await?;
        let last_page = page.len() < MAX_PAGE_LIMIT as usize;
        all.extend(page);
        if last_page {
            return Ok(all);
        }
    }
}

/// Every web order of the selected shops, newest first, page after page (for the admin
/// command).
pub async fn all_web_orders(store: &dyn Store, shops: &ShopSelection) -> Result<Vec<WebOrder>> {
    let mut all: Vec<WebOrder> = Vec::new();
    loop {
        let after = all.last().map(|o| o.id.clone());
        let page = store
            .web_orders(shops, &Page::new(after, Some(MAX_PAGE_LIMIT)))
            .await?;
        let last_page = page.len() < MAX_PAGE_LIMIT as usize;
        all.extend(page);
        if last_page {
            return Ok(all);
        }
    }
}

/// How often, at most, a till's bearer lookups record its last contact: the fleet view needs
/// minutes, not every request, and each recording is a write (on SQLite, behind the single
/// writer).
pub const LAST_CONTACT_EVERY_SECONDS: i64 = 60;

/// Whether a till last seen at `last_contact_at` (canonical UTC) should be recorded as seen at
/// `now` (see [`LAST_CONTACT_EVERY_SECONDS`]).
pub fn last_contact_is_stale(last_contact_at: Option<&str>, now: DateTime<Utc>) -> bool {
    let due = now - chrono::Duration::seconds(LAST_CONTACT_EVERY_SECONDS);
    last_contact_at.is_none_or(|at| at < pos_domain::record::timestamp::format(&due).as_str())
}

/// The till's clock minus the server's, in milliseconds.
pub fn clock_skew_ms(now: DateTime<Utc>, till_clock: Option<DateTime<Utc>>) -> Option<i64> {
    till_clock.map(|at| (at - now).num_milliseconds())
}

/// The rule of head office's ids (shops, tills, users, regions, web shops, feed consumers...):
/// 1 to 64 ASCII letters, digits, `-`, `_` or `.`, so they fit URLs and never take the
/// chain-wide rollup's `*` or the `(none)` of shops without a region.
pub fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Checks an upload's shape before touching storage: each chain at most once.
pub fn check_batches(batches: &[ChainBatch]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for batch in batches {
        if !seen.insert(batch.chain) {
            return Err(format!(
                "chain `{}` appears twice: send each chain once per upload",
                batch.chain
            ));
        }
    }
    Ok(())
}

/// Whether an enrollment may proceed given the key already enrolled, if any.
pub fn check_enrolled_key(enrolled: Option<&str>, presented: &PublicKey) -> Result<()> {
    match enrolled {
        Some(key) if key != presented.to_string() => Err(StoreError::PublicKeyMismatch),
        _ => Ok(()),
    }
}

/// Webhook type prefixes are stored comma-separated: the list of a stored text.
pub fn split_types(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Chain names in a fixed order, for fleet maps.
pub fn chain_names() -> impl Iterator<Item = &'static str> {
    Chain::ALL.into_iter().map(Chain::name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tills_last_contact_is_written_at_most_once_a_minute() {
        let now: DateTime<Utc> = "2026-03-30T10:00:00Z".parse().unwrap();
        let at = |text: &str| pos_domain::record::timestamp::format(&text.parse().unwrap());
        assert!(last_contact_is_stale(None, now), "never seen: recorded");
        assert!(
            !last_contact_is_stale(Some(&at("2026-03-30T09:59:30Z")), now),
            "seen 30 s ago: a bearer lookup writes nothing"
        );
        assert!(last_contact_is_stale(
            Some(&at("2026-03-30T09:58:59Z")),
            now
        ));
    }

    #[test]
    fn ids_follow_one_rule() {
        for ok in ["PARIS-OPERA", "web_shop.1", &"a".repeat(64)] {
            assert!(is_plain_id(ok), "{ok}");
        }
        for bad in ["", "*", NO_REGION, "a b", "a/b", "é", &"a".repeat(65)] {
            assert!(!is_plain_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_page_asks_for_1_to_5000_items() {
        assert_eq!(Page::<i64>::new(None, None).limit, DEFAULT_PAGE_LIMIT);
        assert_eq!(Page::<i64>::new(None, Some(0)).limit, 1);
        assert_eq!(
            Page::<i64>::new(None, Some(1_000_000)).limit,
            MAX_PAGE_LIMIT
        );
    }
}
