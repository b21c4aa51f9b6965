//! The download half of sync: head office's changes feed (products and barcodes, per-shop
//! prices, staff, shop settings, the shop's web orders, customers, the shop's advance shipping
//! notices) applied to the till's tables.
//!
//! The till asks for the changes after the version it last applied
//! (`GET /api/v1/tills/{till}/changes?since=V`) and applies each page in ONE local
//! transaction together with the page's `next` version, so a till killed at any instant has
//! applied whole pages only and resumes after the last one. The first download (from 0) is a
//! snapshot of everything. Kinds this till does not know are skipped (newer servers may send
//! more). The page that brings the till up to date also records a `catalog_imported` event
//! with what this pass applied, unless it applied customers only. Large pages (a first download) leave the search index to a
//! rebuild in one pass at the end of the download, about ten times faster than indexing row by
//! row; a till killed before that rebuilds it at its next start-up or download.
//!
//! An entry this till cannot read (data that does not parse, or beyond the domain's limits of
//! [`pos_domain::limits`]) is skipped, never a blockage: the page's other entries and the pages
//! after it apply, and a signed `feed_entry_skipped` event names the entry (kind, key, version,
//! why), which head office turns into an alarm when the event chain is uploaded. A web order
//! removed at head office (`sync-server admin web-order remove`) comes as a removal and is
//! dropped here.

use std::time::Duration;

use pos_domain::customer::Customer;
use pos_domain::journal::EventKind;
use pos_domain::product::Product;
use pos_domain::record::timestamp;
use pos_domain::stock::ShippingNotice;
use pos_domain::web_order::WebOrder;
use pos_domain::wire::{ShopPrice, StaffMember, kinds};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;

use crate::catalog;
use crate::customers;
use crate::engine::{SYSTEM_OPERATOR, Till, append_event};
use crate::error::{Result, TillError};
use crate::head_office::HeadOffice;
use crate::identity::{self, SettingsChange};
use crate::ledger::Author;
use crate::shop_rules;
use crate::stock_notices;
use crate::sync::Server;

/// Entries asked for per request: about a megabyte of products (see BENCHMARKS.md).
pub const PAGE: u32 = 5000;

/// A page with this many products goes into the catalog without the row-by-row search index
/// (rebuilt in one pass at the end: see [`catalog::without_search_index`]); smaller ones, the
/// usual price and product changes, keep it up to date row by row.
const BULK_PRODUCTS: usize = 1000;

/// Where a download stands, after each page applied.
#[derive(Clone, Debug, Serialize)]
pub struct DownloadProgress {
    /// The version now applied.
    pub applied: u64,
    /// The newest version head office had for this till when the page was read.
    pub latest: u64,
    /// Entries applied so far in this pass.
    pub entries: u64,
}

/// What a download applied.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DownloadSummary {
    pub pages: u64,
    pub version_before: u64,
    pub version: u64,
    pub products: u64,
    pub products_removed: u64,
    pub prices: u64,
    pub staff: u64,
    /// Shop settings (address, SIRET, VAT number, fiscal year start) applied.
    pub settings: u64,
    pub web_orders: u64,
    /// Customers received (new, changed or erased at head office).
    pub customers: u64,
    /// Shop rules received: VAT rates, tender types, promotions (set or removed).
    pub rules: u64,
    /// Shipping notices received (new, changed or withdrawn by logistics).
    pub shipping_notices: u64,
    /// Entries of kinds this till does not know, or settings it refuses (logged).
    pub skipped: u64,
}

impl DownloadSummary {
    fn entries(&self) -> u64 {
        self.products
            + self.products_removed
            + self.prices
            + self.staff
            + self.settings
            + self.web_orders
            + self.customers
            + self.rules
            + self.shipping_notices
            + self.skipped
    }
}

/// A page of the changes feed ([`pos_domain::wire::ChangesPage`]) as the till reads it: each
/// entry's data kept as its JSON text and decoded once, straight into the type its kind names,
/// instead of through a `serde_json::Value` tree (which cost as much as the rest of a
/// million-product download's decoding).
#[derive(Deserialize)]
struct FeedPage {
    changes: Vec<FeedEntry>,
    next: u64,
    latest: u64,
}

/// One entry of a [`FeedPage`] ([`pos_domain::wire::Change`]).
#[derive(Deserialize)]
struct FeedEntry {
    #[serde(default)]
    version: u64,
    kind: String,
    key: String,
    /// `None` when the entry was removed.
    #[serde(default)]
    data: Option<Box<RawValue>>,
    /// A product's data, decoded by the fetching thread so the applier only writes.
    #[serde(skip)]
    product: Option<Product>,
    /// Why the fetching thread could not read the entry's data, if it could not.
    #[serde(skip)]
    unreadable: Option<String>,
}

impl FeedEntry {
    /// Decodes a product's data ahead of the apply (the rest stays text until applied). A
    /// product this till cannot read is kept as such, to be skipped by the applier.
    fn decode_product(&mut self) {
        if self.kind == kinds::PRODUCT && self.data.is_some() {
            match data_of::<Product>(self) {
                Ok(product) => self.product = product,
                Err(e) => self.unreadable = Some(e.to_string()),
            }
        }
    }
}

/// The code of an entry this till cannot read: [`apply_page`](Till::apply_page) skips it.
const UNREADABLE: &str = "feed_entry_unreadable";

fn corrupt_change(change: &FeedEntry, e: impl std::fmt::Display) -> TillError {
    TillError::invalid(
        UNREADABLE,
        format!(
            "head office sent a {} entry `{}` this till cannot read: {e}",
            change.kind, change.key
        ),
    )
}

/// The entry's data as `T` (taken out of the entry: each entry is applied once).
fn data_of<T: serde::de::DeserializeOwned>(change: &mut FeedEntry) -> Result<Option<T>> {
    match change.data.take() {
        Some(raw) => serde_json::from_str(raw.get())
            .map(Some)
            .map_err(|e| corrupt_change(change, e)),
        None => Ok(None),
    }
}

/// Refuses data beyond the domain's limits as unreadable: the till never stores what its
/// sales, receipts or closures could not use.
fn within_limits(
    change: &FeedEntry,
    checked: std::result::Result<(), pos_domain::limits::LimitError>,
) -> Result<()> {
    checked.map_err(|e| corrupt_change(change, e))
}

/// Records that an entry was skipped: a signed `feed_entry_skipped` event (kind, key, version
/// and why), which head office alarms on when it is uploaded.
fn skip_entry(
    tx: &Connection,
    author: &Author<'_>,
    change: &FeedEntry,
    reason: &str,
    summary: &mut DownloadSummary,
) -> Result<()> {
    tracing::warn!(kind = %change.kind, key = %change.key, %reason, "a changes-feed entry was skipped");
    let reason: String = reason
        .chars()
        .take(pos_domain::limits::MAX_NOTE_CHARS)
        .collect();
    let key: String = change
        .key
        .chars()
        .take(pos_domain::limits::MAX_ID_CHARS)
        .collect();
    append_event(
        tx,
        author,
        EventKind::FeedEntrySkipped,
        json!({
            "kind": change.kind,
            "key": key,
            "version": change.version,
            "reason": reason,
        }),
    )?;
    summary.skipped += 1;
    Ok(())
}

/// Applies a shop setting: the identity changes and a settings-changed event records it, as
/// when it is changed at the till. A value the till refuses (a malformed SIRET) is skipped
/// and logged rather than blocking every later download.
fn apply_setting(
    tx: &Connection,
    author: &Author<'_>,
    change: &SettingsChange,
    summary: &mut DownloadSummary,
) -> Result<()> {
    let (mut current, _) = identity::load(tx, "ledger")?;
    match identity::apply(tx, &mut current, change) {
        Ok(changed) => {
            if changed.as_object().is_some_and(|m| !m.is_empty()) {
                append_event(
                    tx,
                    author,
                    EventKind::SettingsChanged,
                    json!({"source": "head office", "changed": changed}),
                )?;
            }
            summary.settings += 1;
        }
        Err(TillError::Invalid { message, .. }) => {
            tracing::warn!(%message, "a shop setting from head office was refused");
            summary.skipped += 1;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Applies one entry inside the page's transaction. `first_bulk`: a large page of a till's
/// first download, applied without the search index (see [`catalog::insert_new`]).
fn apply(
    tx: &Connection,
    author: &Author<'_>,
    change: &mut FeedEntry,
    now: &str,
    first_bulk: bool,
    summary: &mut DownloadSummary,
) -> Result<()> {
    if let Some(reason) = change.unreadable.take() {
        return Err(TillError::invalid(UNREADABLE, reason));
    }
    let kind = change.kind.clone();
    match kind.as_str() {
        kinds::PRODUCT => match change
            .product
            .take()
            .map_or_else(|| data_of::<Product>(change), |p| Ok(Some(p)))?
        {
            Some(product) => {
                within_limits(change, product.check_limits())?;
                if first_bulk {
                    catalog::insert_new(tx, &product)?;
                } else {
                    catalog::upsert(tx, std::slice::from_ref(&product), now)?;
                }
                summary.products += 1;
            }
            None => {
                tx.execute("DELETE FROM products WHERE id = ?1", [&change.key])?;
                summary.products_removed += 1;
            }
        },
        kinds::PRICE => {
            match data_of::<ShopPrice>(change)? {
                Some(price) => {
                    within_limits(
                        change,
                        pos_domain::limits::check_amount("the shop price", price.price),
                    )?;
                    crate::price_history::keeping(tx, &price.product_id, now, || {
                        Ok(tx.execute(
                            "INSERT INTO shop_prices (product_id, price) VALUES (?1, ?2)
                             ON CONFLICT (product_id) DO UPDATE SET price = excluded.price",
                            params![price.product_id, price.price.to_string()],
                        )?)
                    })?
                }
                None => crate::price_history::keeping(tx, &change.key, now, || {
                    Ok(tx.execute(
                        "DELETE FROM shop_prices WHERE product_id = ?1",
                        [&change.key],
                    )?)
                })?,
            };
            summary.prices += 1;
        }
        kinds::STAFF => {
            match data_of::<StaffMember>(change)? {
                Some(m) => tx.execute(
                    "INSERT INTO staff (id, name, role, pin_hash, active, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
                       pin_hash = excluded.pin_hash, active = excluded.active, updated_at = excluded.updated_at",
                    params![m.id, m.name, m.role.name(), m.pin_hash, m.active, now],
                )?,
                None => tx.execute(
                    "UPDATE staff SET active = 0, updated_at = ?2 WHERE id = ?1",
                    params![change.key, now],
                )?,
            };
            summary.staff += 1;
        }
        kinds::SETTING => {
            if let Some(setting) = data_of::<SettingsChange>(change)? {
                apply_setting(tx, author, &setting, summary)?;
            }
        }
        kinds::WEB_ORDER => {
            let Some(order) = data_of::<WebOrder>(change)? else {
                // Removed at head office (`sync-server admin web-order remove`).
                tx.execute("DELETE FROM web_orders WHERE id = ?1", [&change.key])?;
                summary.web_orders += 1;
                return Ok(());
            };
            within_limits(change, order.check_limits())?;
            {
                let body =
                    serde_json::to_string(&order).map_err(|e| TillError::Corrupt(e.to_string()))?;
                tx.execute(
                    "INSERT INTO web_orders (id, body, server_state, placed_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET body = excluded.body, server_state = excluded.server_state",
                    params![order.id, body, order.state.name(), order.placed_at],
                )?;
            }
            summary.web_orders += 1;
        }
        kinds::CUSTOMER => {
            match data_of::<Customer>(change)? {
                Some(customer) => {
                    pos_domain::customer::check_id(&customer.id)
                        .map_err(|e| corrupt_change(change, e))?;
                    customers::apply_received(tx, &customer)?;
                }
                // Erased at head office: personal data goes everywhere it went.
                None => {
                    tx.execute("DELETE FROM customers WHERE id = ?1", [&change.key])?;
                }
            }
            summary.customers += 1;
        }
        kinds::SHIPPING_NOTICE => {
            let notice = data_of::<ShippingNotice>(change)?;
            if let Some(notice) = &notice {
                notice.check().map_err(|e| corrupt_change(change, e))?;
                if notice.id != change.key {
                    return Err(corrupt_change(
                        change,
                        "the notice's id is not the entry's key",
                    ));
                }
            }
            stock_notices::apply_from_feed(tx, &change.key, notice.as_ref(), now)?;
            summary.shipping_notices += 1;
        }
        kind if shop_rules::is_rule(kind) => {
            let body = change.data.take();
            if shop_rules::apply(tx, kind, &change.key, body.as_ref().map(|b| b.get()))? {
                shop_rules::journal_change(tx, author, kind, &change.key, body.is_none())?;
                summary.rules += 1;
            } else {
                summary.skipped += 1;
            }
        }
        _ => summary.skipped += 1,
    }
    Ok(())
}

impl Till {
    /// The changes-feed version this till has applied (0: nothing yet).
    pub fn applied_version(&self) -> Result<u64> {
        applied_version(&self.conn)
    }

    /// Downloads and applies head office's changes since the version applied, page by page
    /// (see the module docs). `progress` is called after each page.
    ///
    /// The next page is fetched and decoded on a thread of its own while this one is applied,
    /// so a first download costs about the longer of the two rather than their sum.
    pub(crate) fn download_from(
        &mut self,
        server: &Server,
        progress: &mut dyn FnMut(&DownloadProgress),
        renew: &mut dyn FnMut(&Till) -> Result<()>,
    ) -> Result<DownloadSummary> {
        let version_before = self.applied_version()?;
        // A catalog never downloaded into: its products are new, nothing to clear first.
        let fresh = version_before == 0;
        let fetcher = PageFetcher {
            http: server.http.clone(),
            path: format!("/api/v1/tills/{}/changes", self.identity.till_id),
            token: server.token.clone(),
        };
        let (pages_in, pages) = std::sync::mpsc::sync_channel(PAGES_AHEAD);
        let mut summary = DownloadSummary {
            version_before,
            version: version_before,
            ..DownloadSummary::default()
        };
        std::thread::scope(|scope| -> Result<()> {
            scope.spawn(move || fetcher.run(version_before, &pages_in));
            // Dropping `pages` (an error below) stops the fetcher at its next page.
            for fetched in pages {
                let mut page = fetched?;
                let last_page = page.next >= page.latest;
                let counts = self.apply_page(&mut page, last_page, fresh, &summary)?;
                if counts.settings > summary.settings {
                    self.identity =
                        identity::load(&self.conn, &self.path().display().to_string())?.0;
                }
                summary = counts;
                summary.version = page.next;
                summary.pages += 1;
                progress(&DownloadProgress {
                    applied: page.next,
                    latest: page.latest,
                    entries: summary.entries(),
                });
                renew(self)?;
            }
            Ok(())
        })?;
        // A large download went in without the search index: index it in one pass.
        self.write(SYSTEM_OPERATOR, |tx, _| {
            catalog::rebuild_search_if_stale(tx)
        })?;
        Ok(summary)
    }

    /// Applies one page in one transaction with its version; the counts after it.
    fn apply_page(
        &mut self,
        page: &mut FeedPage,
        last_page: bool,
        fresh: bool,
        before: &DownloadSummary,
    ) -> Result<DownloadSummary> {
        let mut counts = before.clone();
        let bulk = page
            .changes
            .iter()
            .filter(|c| c.kind == kinds::PRODUCT)
            .count()
            >= BULK_PRODUCTS;
        self.write(SYSTEM_OPERATOR, |tx, author| {
            let now = timestamp::format(&author.at);
            let mut apply_all = || -> Result<()> {
                for change in &mut page.changes {
                    match apply(tx, author, change, &now, fresh && bulk, &mut counts) {
                        Err(TillError::Invalid { code, message }) if code == UNREADABLE => {
                            skip_entry(tx, author, change, &message, &mut counts)?;
                        }
                        other => other?,
                    }
                }
                Ok(())
            };
            if bulk {
                catalog::without_search_index(tx, apply_all)?;
            } else {
                apply_all()?;
            }
            tx.execute(
                "INSERT INTO sync_changes (id, version, applied_at) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at",
                params![page.next as i64, now],
            )?;
            // Customers are no catalog and no fiscal matter: a pass that brought only
            // customers (often this till's own, echoed by the shop's feed) logs nothing.
            if last_page && counts.entries() > counts.customers {
                append_event(
                    tx,
                    author,
                    EventKind::CatalogImported,
                    json!({
                        "source": "head office",
                        "version": page.next,
                        "products": counts.products,
                        "products_removed": counts.products_removed,
                        "prices": counts.prices,
                        "staff": counts.staff,
                        "settings": counts.settings,
                        "web_orders": counts.web_orders,
                        "shipping_notices": counts.shipping_notices,
                    }),
                )?;
            }
            Ok(())
        })?;
        Ok(counts)
    }
}

/// Pages decoded ahead of the one being applied.
const PAGES_AHEAD: usize = 2;

/// Reads the changes feed page after page, ahead of the applier, until the till is up to date.
struct PageFetcher {
    http: HeadOffice,
    path: String,
    token: String,
}

impl PageFetcher {
    /// Sends each non-empty page (or the error that ended the reading) to `pages`; stops after
    /// the page that reaches the newest version, or when the applier hangs up.
    fn run(&self, since: u64, pages: &std::sync::mpsc::SyncSender<Result<FeedPage>>) {
        let mut since = since;
        loop {
            let page = match self.page(since) {
                Ok(Some(page)) => page,
                Ok(None) => return,
                Err(e) => {
                    let _ = pages.send(Err(e));
                    return;
                }
            };
            let last_page = page.next >= page.latest;
            since = page.next;
            if pages.send(Ok(page)).is_err() || last_page {
                return;
            }
        }
    }

    /// The page after `since`; `None` when there is nothing more.
    fn page(&self, since: u64) -> Result<Option<FeedPage>> {
        let mut page: FeedPage = match self.http.get_json(
            &format!("{}?since={since}&limit={PAGE}", self.path),
            Some(&self.token),
            Duration::from_secs(120),
        ) {
            Ok(page) => page,
            // A head office older than the changes feed: nothing to download from it.
            Err(TillError::Server { code, .. }) if code == "not_found" => {
                tracing::warn!("head office serves no changes feed; nothing downloaded");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if page.changes.is_empty() {
            return Ok(None);
        }
        if page.next <= since {
            return Err(TillError::Unreachable(format!(
                "head office answered version {} after {since}: versions must grow",
                page.next
            )));
        }
        for entry in &mut page.changes {
            entry.decode_product();
        }
        Ok(Some(page))
    }
}

fn applied_version(conn: &Connection) -> Result<u64> {
    Ok(conn
        .query_row("SELECT version FROM sync_changes WHERE id = 1", [], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
        .unwrap_or(0) as u64)
}
