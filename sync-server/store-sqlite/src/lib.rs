//! The SQLite backend: the embedded default, one file, zero setup.
//!
//! One connection in WAL mode with `synchronous=FULL`, behind a mutex, used from tokio's
//! blocking thread pool; every write is one `BEGIN IMMEDIATE` transaction, so uploads are
//! serialized (SQLite has a single writer anyway). An upload's signatures are checked before
//! it takes the writer; its writes follow the one sequence of [`pos_hq_store::ingest_tx`],
//! driven on the blocking thread (the verbs' futures complete at once). Reads go to a second, query-only
//! connection, so they never wait for the writer; a bearer lookup is a read, and writes the
//! till's last contact only when it is stale ([`pos_hq_store::last_contact_is_stale`]). A panic in a
//! storage call does not stop the later ones: the poisoned lock is taken back and any
//! transaction left open is rolled back. Migrations are the files of `migrations/`
//! (`NNNN_name.sql`, embedded in order), numbered by `user_version`.
//!
//! One process serves a file: `serve` holds an exclusive SQLite lock on
//! `<database>-serving.lock` while it runs (released by the system when it ends, however it
//! ends), so a second `serve` is refused; admin commands open the database beside it. That
//! process leads every singleton job.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pos_domain::record::timestamp;
use pos_domain::wire::{ChainBatch, UploadResponse};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use pos_domain::accounting::JournalEntry;
use pos_domain::record::Chain;
use pos_domain::web_order::WebOrder;
use pos_hq_core::ingest::{self, NewAlarm};
use pos_hq_core::rollup::{self, RollupDelta, RollupKey};
use pos_hq_core::{accounting, crm, events, stock};
use pos_hq_store::ingest_tx::{self, CheckedUpload, IngestTx, PostedEntry};
use pos_hq_store::*;

mod admin_tx;
mod archives;
mod audit;
mod commissions;
mod feed;
mod logistics;
mod returns;
mod stock_store;
mod stored_value;

use feed as sqlite_feed;

/// Migrations, applied in order; `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_till_clock_skew.sql"),
    include_str!("../migrations/0003_feed_consumers.sql"),
    include_str!("../migrations/0004_chain_wide_rollup.sql"),
    include_str!("../migrations/0005_passwords_and_sessions.sql"),
    include_str!("../migrations/0006_accounting.sql"),
    include_str!("../migrations/0007_distribution_and_web_orders.sql"),
    include_str!("../migrations/0008_webhooks_customers_stock.sql"),
    include_str!("../migrations/0009_customer_contacts.sql"),
    include_str!("../migrations/0010_regions.sql"),
    include_str!("../migrations/0011_sealed_webhook_secrets.sql"),
    include_str!("../migrations/0012_contact_origin.sql"),
    include_str!("../migrations/0013_revocable_credentials.sql"),
    include_str!("../migrations/0014_delivery_claims.sql"),
    include_str!("../migrations/0015_till_archives.sql"),
    include_str!("../migrations/0016_stored_value.sql"),
    include_str!("../migrations/0017_returns_anywhere.sql"),
    include_str!("../migrations/0018_commission_plans.sql"),
    include_str!("../migrations/0019_days_without_z.sql"),
    include_str!("../migrations/0020_admin_audit.sql"),
    include_str!("../migrations/0021_stock.sql"),
    include_str!("../migrations/0022_logistics.sql"),
    include_str!("../migrations/0023_disabled_users.sql"),
    include_str!("../migrations/0024_reservations_index.sql"),
    include_str!("../migrations/0025_lz4_bodies.sql"),
    include_str!("../migrations/0026_record_events_by_reference.sql"),
];

/// What `users.token_hash` holds since API tokens moved to `user_tokens`: unique, and never
/// the SHA-256 hex of a token.
fn retired_token_column(user_id: &str) -> String {
    format!("user_tokens:{user_id}")
}

/// The SQLite store: one connection for writes, one (query-only) for reads, so head-office
/// reports and the feed never wait for an upload in progress (WAL lets them read the last
/// committed state meanwhile).
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
    /// Checkpoints the write-ahead log on a thread of its own while the store is open.
    _checkpoints: Checkpoints,
    path: PathBuf,
    /// The lock marking the file as served, once `serve` took it ([`Store::begin_serving`]).
    serving: Mutex<Option<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and migrates it.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let database = path.to_path_buf();
        let path = path.to_path_buf();
        let (conn, reader) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut conn = Connection::open(&path)?;
            conn.busy_timeout(std::time::Duration::from_secs(30))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            // Checkpoints run on their own thread (`Checkpoints`); the writer checkpoints
            // itself only if the log grows past this many pages (64 MB) all the same.
            conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
            migrate(&mut conn)?;
            let reader = Connection::open(&path)?;
            reader.busy_timeout(std::time::Duration::from_secs(30))?;
            reader.pragma_update(None, "query_only", "ON")?;
            Ok((conn, reader))
        })
        .await
        .map_err(|e| StoreError::Database(e.to_string()))??;
        let checkpoints = Checkpoints::start(&database)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            reader: Arc::new(Mutex::new(reader)),
            _checkpoints: checkpoints,
            path: database,
            serving: Mutex::new(None),
        })
    }

    /// Runs `work` with the writing connection on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        SqliteStore::on(self.conn.clone(), work).await
    }

    /// Runs `work` with the query-only connection on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        SqliteStore::on(self.reader.clone(), work).await
    }

    async fn on<T: Send + 'static>(
        conn: Arc<Mutex<Connection>>,
        work: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        tokio::task::spawn_blocking(move || {
            // A panic in an earlier `work` poisons the lock, but cannot leave the connection
            // half-way: its transaction was rolled back as the panic unwound (rusqlite's
            // `Transaction` rolls back on drop), and `usable` makes sure. Refusing every
            // later request would turn one bug into an outage.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| {
                tracing::error!("a storage call panicked earlier; the connection is used again");
                poisoned.into_inner()
            });
            usable(&mut guard)?;
            work(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Database(e.to_string()))?
    }
}

/// The write-ahead log's size, in pages, past which the writer checkpoints it itself.
const WRITER_CHECKPOINT_PAGES: i64 = 16_384;
/// How often the checkpointing thread copies the log into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// A thread that checkpoints the write-ahead log (copies committed pages into the database
/// file, so the log can start over) every [`CHECKPOINT_EVERY`], with a connection of its own,
/// until dropped. SQLite's automatic checkpoint runs in the commit that crosses 1,000 pages:
/// an upload of 500 records writes more than that, so each upload's commit also copied the
/// log into the database and synced it (7 % of a catch-up's CPU profile, on the writer's
/// path; a few percent of its time, measured). A passive checkpoint neither
/// waits for nor blocks the writer and readers; a checkpoint cut short by a crash is done
/// again from the log at the next open.
struct Checkpoints {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpoints {
    fn start(database: &Path) -> Result<Checkpoints> {
        let conn = Connection::open(database)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoints".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "checkpoint of the write-ahead log failed");
                    }
                }
            })
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(Checkpoints {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Makes sure no transaction is left open on `conn` (one left by a panic is rolled back).
fn usable(conn: &mut Connection) -> Result<()> {
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK")?;
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

fn opt_u64(value: Option<i64>) -> u64 {
    value.map(|v| v as u64).unwrap_or(0)
}

/// The storage verbs of an upload's transaction on SQLite (see [`IngestTx`]). Its futures
/// complete at once: [`ingest_tx`] drives them on the blocking thread holding the writer.
struct SqliteIngest<'a> {
    tx: &'a rusqlite::Transaction<'a>,
}

/// Ingests a checked upload in one `BEGIN IMMEDIATE` transaction.
/// Ingests an upload in one transaction on `conn`, committed only if `signatures` says every
/// signature is valid (see [`ingest_tx::ingest`]).
fn ingest_tx(
    conn: &mut Connection,
    till: &TillAuth,
    upload: CheckedUpload,
    signatures: impl std::future::Future<Output = bool>,
    now: DateTime<Utc>,
    till_clock: Option<DateTime<Utc>>,
) -> Result<Option<UploadResponse>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let answer = futures_executor::block_on(ingest_tx::ingest(
        &mut SqliteIngest { tx: &tx },
        till,
        upload,
        signatures,
        now,
        till_clock,
    ))?;
    if answer.is_some() {
        tx.commit()?;
    }
    Ok(answer)
}

impl IngestTx for SqliteIngest<'_> {
    async fn lock_till(&mut self, _till_id: &str) -> Result<()> {
        // `BEGIN IMMEDIATE` already made this transaction the only writer.
        Ok(())
    }

    async fn chain_heads(
        &mut self,
        till_id: &str,
        chains: &[Chain],
    ) -> Result<Vec<Option<(u64, String)>>> {
        let mut get = self.tx.prepare_cached(
            "SELECT seq, hash FROM chain_heads WHERE till_id = ?1 AND chain = ?2",
        )?;
        let mut heads = Vec::with_capacity(chains.len());
        for chain in chains {
            heads.push(
                get.query_row(params![till_id, chain.name()], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
                })
                .optional()?,
            );
        }
        Ok(heads)
    }

    async fn record_hashes(
        &mut self,
        till_id: &str,
        chain: Chain,
        seqs: &[u64],
    ) -> Result<BTreeMap<u64, String>> {
        let mut get = self.tx.prepare_cached(
            "SELECT hash FROM records WHERE till_id = ?1 AND chain = ?2 AND seq = ?3",
        )?;
        let mut hashes = BTreeMap::new();
        for seq in seqs {
            let hash: Option<String> = get
                .query_row(params![till_id, chain.name(), *seq as i64], |r| r.get(0))
                .optional()?;
            if let Some(hash) = hash {
                hashes.insert(*seq, hash);
            }
        }
        Ok(hashes)
    }

    async fn insert_records(
        &mut self,
        till_id: &str,
        chain: Chain,
        records: &[ingest::Accepted],
        received_at: &str,
    ) -> Result<()> {
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO records (till_id, chain, seq, at, hash, body, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for a in records {
            insert.execute(params![
                till_id,
                chain.name(),
                a.seq as i64,
                timestamp::format(&a.record.record.at),
                a.hash,
                a.record.stored,
                received_at,
            ])?;
        }
        Ok(())
    }

    async fn upsert_heads(&mut self, till_id: &str, heads: &[(Chain, u64, &str)]) -> Result<()> {
        let mut put = self.tx.prepare_cached(
            "INSERT INTO chain_heads (till_id, chain, seq, hash) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (till_id, chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        )?;
        for (chain, seq, hash) in heads {
            put.execute(params![till_id, chain.name(), *seq as i64, hash])?;
        }
        Ok(())
    }

    async fn web_order_bodies(&mut self, ids: &[String]) -> Result<BTreeMap<String, String>> {
        let mut get = self
            .tx
            .prepare_cached("SELECT body FROM web_orders WHERE id = ?1")?;
        let mut bodies = BTreeMap::new();
        for id in ids {
            if let Some(body) = get.query_row([id], |r| r.get(0)).optional()? {
                bodies.insert(id.clone(), body);
            }
        }
        Ok(bodies)
    }

    async fn save_web_orders(&mut self, orders: &[WebOrder], now: DateTime<Utc>) -> Result<()> {
        for order in orders {
            sqlite_feed::save_order(self.tx, order, now)?;
        }
        Ok(())
    }

    async fn put_changes(&mut self, changes: &[NewChange]) -> Result<u64> {
        sqlite_feed::put_changes(self.tx, changes)
    }

    async fn alarms_raised_since(&mut self, till_id: &str, since: &str) -> Result<u64> {
        let count: i64 = self.tx.query_row(
            "SELECT count(*) FROM alarms WHERE till_id = ?1 AND raised_at > ?2",
            params![till_id, since],
            |r| r.get(0),
        )?;
        Ok(count as u64)
    }

    async fn insert_alarms(
        &mut self,
        till_id: &str,
        alarms: &[NewAlarm],
        raised_at: &str,
    ) -> Result<Vec<bool>> {
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO alarms (till_id, chain, seq, kind, reason, received_hash, received, raised_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT DO NOTHING",
        )?;
        let mut new = Vec::with_capacity(alarms.len());
        for al in alarms {
            let inserted = insert.execute(params![
                till_id,
                al.chain.name(),
                al.seq as i64,
                al.kind.name(),
                al.reason,
                al.received_hash,
                al.received,
                raised_at,
            ])?;
            new.push(inserted == 1);
        }
        Ok(new)
    }

    async fn add_rollups(&mut self, rollups: &BTreeMap<RollupKey, RollupDelta>) -> Result<()> {
        let mut add = self.tx.prepare_cached(
            "INSERT INTO sales_rollup (shop_id, day, dimension, key, tickets, quantity, amount_cents, excluding_vat_cents)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (dimension, day, shop_id, key) DO UPDATE SET
               tickets = tickets + excluded.tickets,
               quantity = quantity + excluded.quantity,
               amount_cents = amount_cents + excluded.amount_cents,
               excluding_vat_cents = excluding_vat_cents + excluded.excluding_vat_cents",
        )?;
        for (k, d) in rollups {
            add.execute(params![
                k.shop_id,
                k.day,
                k.dimension,
                k.key,
                d.tickets,
                d.quantity,
                d.amount_cents,
                d.excluding_vat_cents
            ])?;
        }
        Ok(())
    }

    async fn touch_till(
        &mut self,
        till_id: &str,
        at: &str,
        clock_skew_ms: Option<i64>,
        software: Option<&str>,
    ) -> Result<()> {
        self.tx.execute(
            "UPDATE tills SET last_contact_at = ?2, clock_skew_ms = coalesce(?3, clock_skew_ms),
             software = coalesce(?4, software) WHERE id = ?1",
            params![till_id, at, clock_skew_ms, software],
        )?;
        Ok(())
    }

    async fn add_pending_closures(
        &mut self,
        till_id: &str,
        closures: &[accounting::PendingClosure],
    ) -> Result<()> {
        let mut pending = self.tx.prepare_cached(
            "INSERT INTO pending_closures (till_id, closure_seq, through_cash) VALUES (?1, ?2, ?3)",
        )?;
        for closure in closures {
            pending.execute(params![
                till_id,
                closure.seq as i64,
                closure.through_cash as i64
            ])?;
        }
        Ok(())
    }

    async fn pending_closures(&mut self, till_id: &str) -> Result<Vec<accounting::PendingClosure>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT closure_seq, through_cash FROM pending_closures WHERE till_id = ?1
             ORDER BY closure_seq",
        )?;
        Ok(stmt
            .query_map(params![till_id], |r| {
                Ok(accounting::PendingClosure {
                    seq: r.get::<_, i64>(0)? as u64,
                    through_cash: r.get::<_, i64>(1)? as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    async fn posted_through_cash(&mut self, till_id: &str, closure_seq: u64) -> Result<u64> {
        let through: Option<i64> = self
            .tx
            .query_row(
                "SELECT through_cash FROM daily_entries WHERE till_id = ?1 AND closure_seq < ?2
                 ORDER BY closure_seq DESC LIMIT 1",
                params![till_id, closure_seq as i64],
                |r| r.get(0),
            )
            .optional()?;
        Ok(opt_u64(through))
    }

    async fn record_bodies(
        &mut self,
        till_id: &str,
        chain: Chain,
        after: u64,
        through: u64,
    ) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT body FROM records WHERE till_id = ?1 AND chain = ?2
             AND seq > ?3 AND seq <= ?4 ORDER BY seq",
        )?;
        Ok(stmt
            .query_map(
                params![till_id, chain.name(), after as i64, through as i64],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?)
    }

    async fn post_entry(&mut self, posted: &PostedEntry<'_>) -> Result<()> {
        let json = serde_json::to_string(posted.entry)
            .map_err(|e| StoreError::Corrupt(format!("entry: {e}")))?;
        self.tx.execute(
            "INSERT INTO daily_entries (till_id, closure_seq, shop_id, day, through_cash, entry, posted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                posted.till_id,
                posted.closure_seq as i64,
                posted.shop_id,
                posted.entry.date.to_string(),
                posted.through_cash as i64,
                json,
                posted.posted_at
            ],
        )?;
        self.tx.execute(
            "DELETE FROM pending_closures WHERE till_id = ?1 AND closure_seq = ?2",
            params![posted.till_id, posted.closure_seq as i64],
        )?;
        Ok(())
    }

    async fn customer_states(
        &mut self,
        ids: &[&str],
    ) -> Result<BTreeMap<String, crm::CustomerState>> {
        let mut states = BTreeMap::new();
        for id in ids {
            if !states.contains_key(*id)
                && let Some(state) = customer_state(self.tx, id)?
            {
                states.insert(id.to_string(), state);
            }
        }
        Ok(states)
    }

    async fn save_customer_figures(&mut self, states: &[&crm::CustomerState]) -> Result<()> {
        let mut put = self.tx.prepare_cached(
            "INSERT INTO customers (id, first_shop_id, first_seen_at, last_purchase_at, tickets, total_cents, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET last_purchase_at = excluded.last_purchase_at,
               tickets = excluded.tickets, total_cents = excluded.total_cents, version = excluded.version",
        )?;
        for c in states {
            put.execute(params![
                c.id,
                c.first_shop_id,
                c.first_seen_at,
                c.last_purchase_at,
                c.tickets,
                c.total_cents,
                c.version
            ])?;
        }
        Ok(())
    }

    async fn products_not_kept(&mut self, ids: &[&str]) -> Result<BTreeSet<String>> {
        crate::stock_store::not_kept(self.tx, ids)
    }

    async fn stock_lines(
        &mut self,
        keys: &[&stock::StockKey],
    ) -> Result<BTreeMap<stock::StockKey, stock::Stored>> {
        crate::stock_store::lines(self.tx, keys)
    }

    async fn save_stock_lines(
        &mut self,
        lines: &BTreeMap<stock::StockKey, stock::Stored>,
    ) -> Result<()> {
        crate::stock_store::save_lines(self.tx, lines)
    }

    async fn stock_moved_after(
        &mut self,
        starts: &[(stock::StockKey, String)],
    ) -> Result<BTreeMap<(stock::StockKey, String), i64>> {
        crate::stock_store::moved_after(self.tx, starts)
    }

    async fn stock_reserved_for(
        &mut self,
        order_ids: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<stock::StockKey, i64>>> {
        let mut out = BTreeMap::new();
        for id in order_ids {
            let held = crate::stock_store::reserved_for(self.tx, id)?;
            if !held.is_empty() {
                out.insert(id.clone(), held);
            }
        }
        Ok(out)
    }

    async fn serials(&mut self, imeis: &[String]) -> Result<BTreeMap<String, stock::SerialState>> {
        crate::stock_store::serials(self.tx, imeis)
    }

    async fn save_serials(&mut self, serials: &BTreeMap<String, stock::SerialState>) -> Result<()> {
        crate::stock_store::save_serials(self.tx, serials)
    }

    async fn insert_stock_movements(
        &mut self,
        movements: &[stock::Movement],
        recorded_at: &str,
    ) -> Result<()> {
        crate::stock_store::insert_movements(self.tx, movements, recorded_at)
    }

    async fn record_notice_receipts(
        &mut self,
        receipts: &[pos_hq_core::logistics::ReceiptAgainstNotice],
        recorded_at: &str,
    ) -> Result<
        Vec<(
            pos_domain::stock::ShippingNotice,
            pos_hq_core::logistics::NoticeReceipt,
        )>,
    > {
        crate::logistics::record_receipts(self.tx, receipts, recorded_at)
    }

    async fn instruments(
        &mut self,
        numbers: &[String],
    ) -> Result<BTreeMap<String, pos_hq_core::stored_value::Instrument>> {
        stored_value::instruments(self.tx, numbers)
    }

    async fn save_instruments(
        &mut self,
        instruments: &BTreeMap<String, pos_hq_core::stored_value::Instrument>,
        history: &[pos_hq_core::stored_value::HistoryRow],
    ) -> Result<()> {
        stored_value::save(self.tx, instruments, history)
    }

    async fn settle_holds(
        &mut self,
        till_id: &str,
        redeemed: &[pos_hq_core::stored_value::Redeemed],
    ) -> Result<()> {
        stored_value::settle_holds(self.tx, till_id, redeemed)
    }

    async fn index_returns(
        &mut self,
        till_id: &str,
        named: &[pos_hq_core::returns::NamedReturn],
    ) -> Result<()> {
        returns::index_returns(self.tx, till_id, named)
    }

    async fn returns_of(
        &mut self,
        originals: &[ingest_tx::TicketRef],
    ) -> Result<BTreeMap<ingest_tx::TicketRef, Vec<ingest_tx::TicketRef>>> {
        let mut out = BTreeMap::new();
        for (till, ticket) in originals {
            let returns = returns::returns_of(self.tx, till, *ticket)?;
            if !returns.is_empty() {
                out.insert((till.clone(), *ticket), returns);
            }
        }
        Ok(out)
    }

    async fn ticket_bodies(
        &mut self,
        tickets: &[ingest_tx::TicketRef],
    ) -> Result<BTreeMap<ingest_tx::TicketRef, Vec<u8>>> {
        let mut get = self.tx.prepare_cached(
            "SELECT body FROM records WHERE till_id = ?1 AND chain = 'ticket' AND seq = ?2",
        )?;
        let mut out = BTreeMap::new();
        for (till, seq) in tickets {
            let body: Option<Vec<u8>> = get
                .query_row(params![till, *seq as i64], |r| r.get(0))
                .optional()?;
            if let Some(body) = body {
                out.insert((till.clone(), *seq), body);
            }
        }
        Ok(out)
    }

    async fn tickets_with_returns(&mut self, till_id: &str, seqs: &[u64]) -> Result<Vec<u64>> {
        returns::tickets_with_returns(self.tx, till_id, seqs)
    }

    async fn insert_outbox_events(&mut self, events: &[events::OutboxRow]) -> Result<()> {
        sqlite_feed::write_rows(self.tx, events)
    }

    async fn lock_feed(&mut self) -> Result<()> {
        // `BEGIN IMMEDIATE` already made this transaction the only writer.
        Ok(())
    }

    async fn erased_customers(&mut self, ids: &[&str]) -> Result<BTreeSet<String>> {
        let mut erased = self
            .tx
            .prepare_cached("SELECT 1 FROM erased_customers WHERE id = ?1")?;
        let mut found = BTreeSet::new();
        for id in ids {
            if erased.exists([id])? {
                found.insert(id.to_string());
            }
        }
        Ok(found)
    }

    async fn save_customer_contacts(
        &mut self,
        states: &[&crm::CustomerState],
        origin: &crm::ContactOrigin,
    ) -> Result<()> {
        let mut put = self.tx.prepare_cached(
            "INSERT INTO customers (id, first_shop_id, first_seen_at, last_purchase_at, tickets, total_cents, version, contact,
                                    contact_shop_id, contact_till_id, contact_received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, contact = excluded.contact,
               contact_shop_id = excluded.contact_shop_id, contact_till_id = excluded.contact_till_id,
               contact_received_at = excluded.contact_received_at",
        )?;
        for s in states {
            put.execute(params![
                s.id,
                s.first_shop_id,
                s.first_seen_at,
                s.last_purchase_at,
                s.tickets,
                s.total_cents,
                s.version,
                s.contact_json(),
                origin.shop_id,
                origin.till_id,
                origin.received_at,
            ])?;
        }
        Ok(())
    }

    async fn insert_clock_alarms(
        &mut self,
        till_id: &str,
        alarms: &[crm::ClockAlarm],
        raised_at: &str,
    ) -> Result<Vec<bool>> {
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO alarms (till_id, chain, seq, kind, reason, received_hash, received, raised_at)
             VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO NOTHING",
        )?;
        let mut new = Vec::with_capacity(alarms.len());
        for al in alarms {
            let inserted = insert.execute(params![
                till_id,
                crm::CLOCK_ALARM_CHAIN,
                crm::CLOCK_ALARM_KIND,
                al.reason,
                al.received_hash,
                al.received,
                raised_at,
            ])?;
            new.push(inserted == 1);
        }
        Ok(new)
    }
}

/// A stored customer's state, contact details included.
fn customer_state(conn: &Connection, id: &str) -> Result<Option<crm::CustomerState>> {
    let mut get = conn.prepare_cached(
        "SELECT id, first_shop_id, first_seen_at, last_purchase_at, tickets, total_cents, version, contact,
                contact_shop_id, contact_till_id, contact_received_at
         FROM customers WHERE id = ?1",
    )?;
    let row = get
        .query_row(params![id], |r| {
            let origin = match (r.get(8)?, r.get(9)?, r.get(10)?) {
                (Some(shop_id), Some(till_id), Some(received_at)) => Some(crm::ContactOrigin {
                    shop_id,
                    till_id,
                    received_at,
                }),
                _ => None,
            };
            Ok((
                crm::CustomerState {
                    id: r.get(0)?,
                    first_shop_id: r.get(1)?,
                    first_seen_at: r.get(2)?,
                    last_purchase_at: r.get(3)?,
                    tickets: r.get(4)?,
                    total_cents: r.get(5)?,
                    version: r.get(6)?,
                    contact: None,
                    origin,
                },
                r.get::<_, Option<String>>(7)?,
            ))
        })
        .optional()?;
    row.map(|(mut state, contact)| {
        state.contact = crm::contact_from_json(contact.as_deref())
            .map_err(|e| StoreError::Corrupt(format!("customer {id}: {e}")))?;
        Ok(state)
    })
    .transpose()
}

/// Erases a customer's details (see [`Store::erase_customer`]) in the caller's transaction.
fn erase_customer(tx: &rusqlite::Transaction<'_>, id: &str) -> Result<bool> {
    if customer_state(tx, id)?.and_then(|s| s.contact).is_none() {
        return Ok(false);
    }
    tx.execute("UPDATE customers SET contact = NULL WHERE id = ?1", [id])?;
    tx.execute(
        "INSERT INTO erased_customers (id, erased_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        params![id, timestamp::format(&Utc::now())],
    )?;
    let shops: Vec<String> = tx
        .prepare("SELECT shop_id FROM distribution WHERE kind = ?1 AND key = ?2")?
        .query_map(params![pos_domain::wire::kinds::CUSTOMER, id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let removals: Vec<NewChange> = shops
        .into_iter()
        .map(|shop_id| NewChange {
            kind: pos_domain::wire::kinds::CUSTOMER,
            shop_id,
            key: id.to_string(),
            data: None,
        })
        .collect();
    sqlite_feed::put_changes(tx, &removals)?;
    let stored: Vec<(i64, String)> = tx
        .prepare("SELECT cursor, envelope FROM outbox WHERE subject = ?1 AND record_shop IS NULL")?
        .query_map([crm::customer_subject(id)], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (cursor, text) in stored {
        let mut envelope: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("outbox event {cursor}: {e}")))?;
        if crm::scrub(&mut envelope) {
            tx.execute(
                "UPDATE outbox SET envelope = ?2 WHERE cursor = ?1",
                params![cursor, envelope.to_string()],
            )?;
        }
    }
    sqlite_feed::write_events(tx, &[crm::erased_event(id)])?;
    Ok(true)
}

fn till_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<TillInfo> {
    let public_key: Option<String> = row.get(4)?;
    Ok(TillInfo {
        id: row.get(0)?,
        shop_id: row.get(1)?,
        name: row.get(2)?,
        enrollment_expires_at: if public_key.is_none() {
            row.get(3)?
        } else {
            None
        },
        enrolled: public_key.is_some(),
        public_key,
        software: row.get(5)?,
        protocol: row.get(6)?,
        last_contact_at: row.get(7)?,
        revoked_at: row.get(8)?,
    })
}

fn stored_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRecord> {
    Ok(StoredRecord {
        till_id: r.get(0)?,
        shop_id: r.get(1)?,
        chain: r.get(2)?,
        seq: r.get::<_, i64>(3)? as u64,
        at: r.get(4)?,
        hash: r.get(5)?,
        body: r.get(6)?,
        received_at: r.get(7)?,
        public_key: r.get(8)?,
    })
}

/// The columns [`stored_record`] reads, from `records r JOIN tills t`.
const STORED_RECORD_COLUMNS: &str =
    "r.till_id, t.shop_id, r.chain, r.seq, r.at, r.hash, r.body, r.received_at, t.public_key";

/// [`StoreError::NotFound`] unless the user exists.
fn known_user(conn: &Connection, user_id: &str) -> Result<()> {
    conn.query_row("SELECT 1 FROM users WHERE id = ?1", [user_id], |_| Ok(()))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no user `{user_id}`")))
}

fn insert_user_token(
    tx: &Connection,
    token_hash: &str,
    user_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO user_tokens (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            token_hash,
            user_id,
            timestamp::format(&now),
            timestamp::format(&expires_at)
        ],
    )?;
    Ok(())
}

fn user_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(2)?;
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::ShopManager),
        shop_id: row.get(3)?,
        region_id: row.get(4)?,
    })
}

/// A user with when they were disabled: the columns of [`user_of`], then `disabled_at`.
fn account_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserAccount> {
    Ok(UserAccount {
        user: user_of(row)?,
        disabled_at: row.get(5)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn schema_state(&self) -> Result<SchemaState> {
        self.read(|conn| {
            let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            Ok(SchemaState {
                applied: applied as u32,
                known: MIGRATIONS.len() as u32,
            })
        })
        .await
    }

    async fn operations_gauges(&self, silent_since: DateTime<Utc>) -> Result<OperationsGauges> {
        let since = timestamp::format(&silent_since);
        self.read(move |conn| {
            let outbox_end = conn.query_row("SELECT coalesce(max(cursor), 0) FROM outbox", [], |r| {
                r.get(0)
            })?;
            let consumer_cursors = conn
                .prepare("SELECT name, cursor FROM feed_consumers ORDER BY name")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let webhook_queues = conn
                .prepare(
                    "SELECT w.id,
                       (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.dead_at IS NULL),
                       (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.dead_at IS NOT NULL)
                     FROM webhooks w ORDER BY w.id",
                )?
                .query_map([], |r| {
                    Ok(WebhookQueue {
                        webhook_id: r.get(0)?,
                        pending: r.get(1)?,
                        dead: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let (tills_enrolled, tills_waiting): (i64, i64) = conn.query_row(
                "SELECT count(*), coalesce(sum(last_contact_at IS NULL OR last_contact_at < ?1), 0)
                 FROM tills WHERE public_key IS NOT NULL AND revoked_at IS NULL",
                [&since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(OperationsGauges {
                outbox_end,
                consumer_cursors,
                webhook_queues,
                tills_enrolled: tills_enrolled as u64,
                tills_waiting: tills_waiting as u64,
            })
        })
        .await
    }

    async fn create_entity(&self, e: &LegalEntity) -> Result<()> {
        let change = AdminChange::Entity(e.clone());
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, Utc::now()).map(|_| ()))
            .await
    }

    async fn create_shop(&self, s: &Shop) -> Result<()> {
        let change = AdminChange::Shop(s.clone());
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, Utc::now()).map(|_| ()))
            .await
    }

    async fn create_region(&self, r: &Region) -> Result<()> {
        let change = AdminChange::Region(r.clone());
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, Utc::now()).map(|_| ()))
            .await
    }

    async fn regions(&self) -> Result<Vec<Region>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT id, name FROM regions ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok(Region {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn set_shop_region(&self, shop_id: &str, region_id: Option<&str>) -> Result<()> {
        let change = AdminChange::ShopRegion {
            shop_id: shop_id.to_string(),
            region_id: region_id.map(str::to_string),
        };
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, Utc::now()).map(|_| ()))
            .await
    }

    async fn set_user_region(&self, user_id: &str, region_id: Option<&str>) -> Result<()> {
        let (user_id, region_id) = (user_id.to_string(), region_id.map(str::to_string));
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            admin_tx::set_region(&tx, "users", "user", &user_id, region_id.as_deref())?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn create_till(&self, t: &NewTill) -> Result<()> {
        let change = AdminChange::Till(t.clone());
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, Utc::now()).map(|_| ()))
            .await
    }

    async fn create_user_with_token(
        &self,
        u: &User,
        token_hash: &str,
        token_expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let change = AdminChange::User {
            user: u.clone(),
            token_hash: token_hash.to_string(),
            token_expires_at,
        };
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, Utc::now()).map(|_| ()))
            .await
    }

    async fn entities(&self) -> Result<Vec<LegalEntity>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, siren, fiscal_year_start_month FROM legal_entities ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(LegalEntity {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    siren: r.get(2)?,
                    fiscal_year_start_month: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn shops(&self) -> Result<Vec<Shop>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, entity_id, name, territory, timezone, address, region_id FROM shops ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Shop {
                    id: r.get(0)?,
                    entity_id: r.get(1)?,
                    name: r.get(2)?,
                    territory: r.get(3)?,
                    timezone: r.get(4)?,
                    address: r.get(5)?,
                    region_id: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn tills(&self) -> Result<Vec<TillInfo>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, shop_id, name, code_expires_at, public_key, software, protocol, last_contact_at,
                        revoked_at
                 FROM tills ORDER BY id",
            )?;
            let rows = stmt.query_map([], till_info)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn users(&self) -> Result<Vec<UserAccount>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, role, shop_id, region_id, disabled_at FROM users ORDER BY id",
            )?;
            let rows = stmt.query_map([], account_of)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn reissue_code(
        &self,
        till_id: &str,
        code_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let change = AdminChange::TillCode {
            till_id: till_id.to_string(),
            code_hash: code_hash.to_string(),
            expires_at,
        };
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, Utc::now()).map(|_| ()))
            .await
    }

    async fn enroll(&self, e: &Enrollment, now: DateTime<Utc>) -> Result<Enrolled> {
        let e = e.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = timestamp::format(&now);
            let found: Option<(String, String, Option<String>)> = tx
                .query_row(
                    "SELECT id, shop_id, public_key FROM tills
                     WHERE code_hash = ?1 AND code_expires_at > ?2",
                    params![e.code_hash, now],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((till_id, shop_id, enrolled)) = found else {
                return Err(StoreError::EnrollmentCodeInvalid);
            };
            check_enrolled_key(enrolled.as_deref(), &e.public_key)?;
            tx.execute(
                "UPDATE tills SET code_hash = NULL, public_key = ?2, token_hash = ?3, software = ?4,
                 protocol = ?5, enrolled_at = ?6, last_contact_at = ?6, revoked_at = NULL
                 WHERE id = ?1",
                params![
                    till_id,
                    e.public_key.to_string(),
                    e.token_hash,
                    e.software,
                    e.protocol,
                    now
                ],
            )?;
            tx.commit()?;
            Ok(Enrolled { till_id, shop_id })
        })
        .await
    }

    async fn till_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TillAuth>> {
        let token_hash = token_hash.to_string();
        // Looked up on the reading connection: a till's request must not queue behind an
        // upload for the single writer just to say it was seen.
        let found = self
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT id, shop_id, public_key, last_contact_at FROM tills WHERE token_hash = ?1",
                    [&token_hash],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<String>>(3)?,
                        ))
                    },
                )
                .optional()?)
            })
            .await?;
        let Some((till_id, shop_id, key, last_contact_at)) = found else {
            return Ok(None);
        };
        if last_contact_is_stale(last_contact_at.as_deref(), now) {
            let id = till_id.clone();
            let at = timestamp::format(&now);
            self.with(move |c| {
                c.execute(
                    "UPDATE tills SET last_contact_at = ?2 WHERE id = ?1 AND coalesce(last_contact_at, '') < ?2",
                    params![id, at],
                )?;
                Ok(())
            })
            .await?;
        }
        let public_key = key
            .parse()
            .map_err(|e: String| StoreError::Corrupt(format!("till {till_id}: {e}")))?;
        Ok(Some(TillAuth {
            till_id,
            shop_id,
            public_key,
        }))
    }

    async fn user_by_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let token_hash = token_hash.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT u.id, u.name, u.role, u.shop_id, u.region_id FROM user_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = ?1 AND t.expires_at > ?2 AND u.disabled_at IS NULL
                 UNION ALL
                 SELECT u.id, u.name, u.role, u.shop_id, u.region_id FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL
                 LIMIT 1",
                params![token_hash, timestamp::format(&now)],
                user_of,
            )
            .optional()?)
        })
        .await
    }

    async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<()> {
        let (user_id, hash) = (user_id.to_string(), password_hash.to_string());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let had: Option<Option<String>> = tx
                .query_row(
                    "SELECT password_hash FROM users WHERE id = ?1",
                    [&user_id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(had) = had else {
                return Err(StoreError::NotFound(format!("no user `{user_id}`")));
            };
            tx.execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                params![user_id, hash],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [&user_id])?;
            if had.is_some() {
                tx.execute("DELETE FROM user_tokens WHERE user_id = ?1", [&user_id])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn password_of(&self, user_id: &str) -> Result<Option<(User, Option<String>)>> {
        let user_id = user_id.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT id, name, role, shop_id, region_id, password_hash FROM users
                 WHERE id = ?1 AND disabled_at IS NULL",
                [&user_id],
                |r| Ok((user_of(r)?, r.get(5)?)),
            )
            .optional()?)
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let (token_hash, user_id) = (token_hash.to_string(), user_id.to_string());
        self.with(move |c| {
            c.execute(
                "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
                params![token_hash, user_id, timestamp::format(&expires_at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn create_user_token(
        &self,
        token_hash: &str,
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let (token_hash, user_id) = (token_hash.to_string(), user_id.to_string());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            known_user(&tx, &user_id)?;
            insert_user_token(&tx, &token_hash, &user_id, now, expires_at)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn user_tokens(&self, user_id: &str) -> Result<Vec<UserToken>> {
        let user_id = user_id.to_string();
        self.read(move |c| {
            known_user(c, &user_id)?;
            let mut stmt = c.prepare(
                "SELECT created_at, expires_at FROM user_tokens WHERE user_id = ?1
                 ORDER BY created_at, expires_at",
            )?;
            let rows = stmt.query_map([&user_id], |r| {
                Ok(UserToken {
                    created_at: r.get(0)?,
                    expires_at: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn end_session(&self, token_hash: &str) -> Result<bool> {
        let token_hash = token_hash.to_string();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let ended = tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [&token_hash])?
                + tx.execute(
                    "DELETE FROM user_tokens WHERE token_hash = ?1",
                    [&token_hash],
                )?;
            tx.commit()?;
            Ok(ended > 0)
        })
        .await
    }

    async fn revoke_user(&self, user_id: &str) -> Result<u64> {
        let change = AdminChange::RevokeUser {
            user_id: user_id.to_string(),
        };
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, Utc::now()))
            .await
    }

    async fn revoke_till(&self, till_id: &str, now: DateTime<Utc>) -> Result<()> {
        let change = AdminChange::RevokeTill {
            till_id: till_id.to_string(),
        };
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, now).map(|_| ()))
            .await
    }

    async fn revoke_webshop(&self, webshop_id: &str, now: DateTime<Utc>) -> Result<()> {
        let webshop_id = webshop_id.to_string();
        self.with(move |c| {
            let changed = c.execute(
                "UPDATE webshops SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                params![webshop_id, timestamp::format(&now)],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("no web shop `{webshop_id}`")));
            }
            Ok(())
        })
        .await
    }

    async fn set_webshop_key(&self, webshop_id: &str, key_hash: &str) -> Result<()> {
        let (webshop_id, key_hash) = (webshop_id.to_string(), key_hash.to_string());
        self.with(move |c| {
            let changed = c.execute(
                "UPDATE webshops SET key_hash = ?2, revoked_at = NULL WHERE id = ?1",
                params![webshop_id, key_hash],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("no web shop `{webshop_id}`")));
            }
            Ok(())
        })
        .await
    }

    async fn ingest(
        &self,
        till: &TillAuth,
        batches: Vec<ChainBatch>,
        now: DateTime<Utc>,
        till_clock: Option<DateTime<Utc>>,
    ) -> Result<UploadResponse> {
        ingest_tx::check_and_ingest(till, batches, |upload, verdict| {
            let till = till.clone();
            self.with(move |c| ingest_tx(c, &till, upload, verdict, now, till_clock))
        })
        .await
    }

    async fn instrument(
        &self,
        number: &str,
    ) -> Result<Option<pos_hq_core::stored_value::Instrument>> {
        let number = number.to_string();
        self.read(move |c| {
            Ok(stored_value::instruments(c, &[number])?
                .into_values()
                .next())
        })
        .await
    }

    async fn instrument_history(
        &self,
        number: &str,
    ) -> Result<Vec<pos_hq_core::stored_value::HistoryRow>> {
        let number = number.to_string();
        self.read(move |c| stored_value::history(c, &number)).await
    }

    async fn hold_redemption(
        &self,
        till_id: &str,
        hold: &HoldRequest,
        now: DateTime<Utc>,
    ) -> Result<HoldOutcome> {
        let (till_id, hold) = (till_id.to_string(), hold.clone());
        self.with(move |c| stored_value::hold(c, &till_id, &hold, now))
            .await
    }

    async fn returns_of_ticket(
        &self,
        original_till: &str,
        original_ticket: u64,
        now: DateTime<Utc>,
    ) -> Result<pos_hq_store::returns::ReturnsOfTicket> {
        let original_till = original_till.to_string();
        self.read(move |c| returns::returns_of_ticket(c, &original_till, original_ticket, now))
            .await
    }

    async fn reserve_return(
        &self,
        till_id: &str,
        request: &pos_hq_store::returns::ReservationRequest,
        now: DateTime<Utc>,
    ) -> Result<pos_hq_store::returns::ReservationOutcome> {
        let (till_id, request) = (till_id.to_string(), request.clone());
        self.with(move |c| returns::reserve_return(c, &till_id, &request, now))
            .await
    }

    async fn sales(&self, q: &SalesQuery) -> Result<Vec<SalesRow>> {
        let q = q.clone();
        let (dimension, column) = q
            .grouping()
            .ok_or_else(|| StoreError::NotFound(format!("no sales dimension `{}`", q.by)))?;
        self.read(move |c| {
            let sql = format!(
                "SELECT {column}, sum(tickets), sum(quantity), sum(amount_cents), sum(excluding_vat_cents)
                 FROM {}
                 WHERE dimension = ?1 AND day BETWEEN ?2 AND ?3 AND {}
                 GROUP BY 1 ORDER BY 1",
                q.source(),
                q.shop_condition("?4", "?5")
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params![dimension, q.from_day(), q.to_day(), q.shop, q.region], |r| {
                Ok(SalesRow {
                    key: r.get(0)?,
                    tickets: r.get(1)?,
                    quantity: r.get(2)?,
                    amount_cents: r.get(3)?,
                    excluding_vat_cents: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn fleet(&self, shops: &ShopSelection, page: &Page<String>) -> Result<Vec<TillStatus>> {
        let (shops, page) = (shops.clone(), page.clone());
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT t.id, t.shop_id, t.name, t.public_key IS NOT NULL, t.software, t.last_contact_at,
                        (SELECT count(*) FROM alarms a WHERE a.till_id = t.id),
                        (SELECT max(raised_at) FROM alarms a WHERE a.till_id = t.id),
                        t.clock_skew_ms, s.timezone
                 FROM tills t JOIN shops s ON s.id = t.shop_id
                 WHERE {} AND (?3 IS NULL OR t.id > ?3) ORDER BY t.id LIMIT ?4",
                ShopSelection::condition("t.shop_id", "?1", "?2")
            ))?;
            let mut timezones = Vec::new();
            let mut tills: Vec<TillStatus> = stmt
                .query_map(params![shops.shop, shops.region, page.after, page.limit], |r| {
                    Ok((
                        TillStatus {
                            till_id: r.get(0)?,
                            shop_id: r.get(1)?,
                            name: r.get(2)?,
                            enrolled: r.get(3)?,
                            software: r.get(4)?,
                            last_contact_at: r.get(5)?,
                            held: BTreeMap::new(),
                            records_held: 0,
                            alarms: opt_u64(r.get(6)?),
                            last_alarm_at: r.get(7)?,
                            clock_skew_ms: r.get(8)?,
                            days_without_z: Vec::new(),
                        },
                        r.get::<_, String>(9)?,
                    ))
                })?
                .map(|row| {
                    row.map(|(till, timezone)| {
                        timezones.push(timezone);
                        till
                    })
                })
                .collect::<rusqlite::Result<_>>()?;
            let mut heads = c.prepare_cached("SELECT chain, seq FROM chain_heads WHERE till_id = ?1")?;
            let mut unclosed = c.prepare_cached(
                "SELECT day FROM till_days_without_z WHERE till_id = ?1 ORDER BY day",
            )?;
            let now = Utc::now();
            for (till, timezone) in tills.iter_mut().zip(&timezones) {
                for name in chain_names() {
                    till.held.insert(name.to_string(), 0);
                }
                let rows = heads.query_map([&till.till_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
                for row in rows {
                    let (chain, seq) = row?;
                    till.records_held += seq as u64;
                    till.held.insert(chain, seq as u64);
                }
                let days = unclosed
                    .query_map([&till.till_id], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                till.days_without_z = rollup::days_to_close(days, timezone, now);
            }
            Ok(tills)
        })
        .await
    }

    async fn alarms(&self, shops: &ShopSelection, page: &Page<i64>) -> Result<Vec<Alarm>> {
        let (shops, page) = (shops.clone(), page.clone());
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT a.id, a.till_id, t.shop_id, a.chain, a.seq, a.kind, a.reason, a.received_hash, a.raised_at
                 FROM alarms a JOIN tills t ON t.id = a.till_id
                 WHERE {} AND a.id > ?3 ORDER BY a.id LIMIT ?4",
                ShopSelection::condition("t.shop_id", "?1", "?2")
            ))?;
            let after = page.after.unwrap_or(0);
            let rows = stmt.query_map(params![shops.shop, shops.region, after, page.limit], |r| {
                Ok(Alarm {
                    id: r.get(0)?,
                    till_id: r.get(1)?,
                    shop_id: r.get(2)?,
                    chain: r.get(3)?,
                    seq: r.get::<_, i64>(4)? as u64,
                    kind: r.get(5)?,
                    reason: r.get(6)?,
                    received_hash: r.get(7)?,
                    raised_at: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn record(&self, till_id: &str, chain: Chain, seq: u64) -> Result<Option<StoredRecord>> {
        let till_id = till_id.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                &format!(
                    "SELECT {STORED_RECORD_COLUMNS} FROM records r JOIN tills t ON t.id = r.till_id
                     WHERE r.till_id = ?1 AND r.chain = ?2 AND r.seq = ?3"
                ),
                params![till_id, chain.name(), seq as i64],
                stored_record,
            )
            .optional()?)
        })
        .await
    }

    async fn ticket_records(
        &self,
        shop_id: &str,
        from: &str,
        to: &str,
        after: Option<&RecordCursor>,
        limit: u32,
    ) -> Result<Vec<StoredRecord>> {
        let (shop_id, from, to) = (shop_id.to_string(), from.to_string(), to.to_string());
        let after = after.cloned();
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {STORED_RECORD_COLUMNS} FROM records r JOIN tills t ON t.id = r.till_id
                 WHERE t.shop_id = ?1 AND r.chain = 'ticket' AND r.at >= ?2 AND r.at < ?3
                   AND (?4 IS NULL OR (r.at, r.till_id, r.seq) > (?4, ?5, ?6))
                 ORDER BY r.at, r.till_id, r.seq LIMIT ?7"
            ))?;
            let rows = stmt.query_map(
                params![
                    shop_id,
                    from,
                    to,
                    after.as_ref().map(|a| a.at.clone()),
                    after.as_ref().map(|a| a.till_id.clone()),
                    after.as_ref().map(|a| a.seq as i64),
                    limit
                ],
                stored_record,
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn feed(&self, after: i64, limit: u32) -> Result<Vec<FeedEvent>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {} FROM outbox o {} WHERE o.cursor > ?1 ORDER BY o.cursor LIMIT ?2",
                sqlite_feed::OUTBOX_READ_COLUMNS,
                sqlite_feed::OUTBOX_RECORD_JOIN
            ))?;
            let rows = stmt.query_map(params![after, limit], sqlite_feed::outbox_read)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row?.feed_event()?);
            }
            Ok(out)
        })
        .await
    }

    async fn feed_end(&self) -> Result<i64> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT coalesce(max(cursor), 0) FROM outbox", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
    }

    async fn consumer_cursor(&self, name: &str) -> Result<Option<i64>> {
        let name = name.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT cursor FROM feed_consumers WHERE name = ?1",
                [&name],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    async fn set_consumer_cursor(&self, name: &str, cursor: i64, now: DateTime<Utc>) -> Result<()> {
        let name = name.to_string();
        self.with(move |c| {
            c.execute(
                "INSERT INTO feed_consumers (name, cursor, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                params![name, cursor, timestamp::format(&now)],
            )?;
            Ok(())
        })
        .await
    }

    async fn consumers(&self) -> Result<Vec<Consumer>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT name, cursor, (SELECT count(*) FROM outbox o WHERE o.cursor > f.cursor), updated_at
                 FROM feed_consumers f ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Consumer {
                    name: r.get(0)?,
                    cursor: r.get(1)?,
                    lag: r.get(2)?,
                    updated_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn journal_entries(
        &self,
        entity_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<JournalEntry>> {
        let (entity_id, from, to) = (entity_id.to_string(), from.to_string(), to.to_string());
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT e.entry FROM daily_entries e JOIN shops s ON s.id = e.shop_id
                 WHERE s.entity_id = ?1 AND e.day >= ?2 AND e.day <= ?3
                 ORDER BY e.day, e.till_id, e.closure_seq",
            )?;
            let rows: Vec<String> = stmt
                .query_map(params![entity_id, from, to], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            rows.iter()
                .map(|json| {
                    serde_json::from_str(json)
                        .map_err(|e| StoreError::Corrupt(format!("journal entry: {e}")))
                })
                .collect()
        })
        .await
    }

    async fn put_changes(&self, changes: Vec<NewChange>) -> Result<u64> {
        let change = AdminChange::Changes(changes);
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, Utc::now()))
            .await
    }

    async fn live_scopes(&self, kind: &str, key: &str) -> Result<Vec<String>> {
        let (kind, key) = (kind.to_string(), key.to_string());
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT shop_id FROM distribution WHERE kind = ?1 AND key = ?2 AND data IS NOT NULL
                 ORDER BY shop_id",
            )?;
            let scopes = stmt
                .query_map(params![kind, key], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(scopes)
        })
        .await
    }

    async fn changes(
        &self,
        shop_id: &str,
        since: u64,
        limit: u32,
    ) -> Result<pos_hq_core::distribution::StoredPage> {
        let shop_id = shop_id.to_string();
        self.read(move |c| {
            // One read transaction: the page and `latest` from the same snapshot.
            let tx = c.transaction()?;
            let page = sqlite_feed::changes(&tx, &shop_id, since, limit)?;
            tx.commit()?;
            Ok(page)
        })
        .await
    }

    async fn create_webshop(&self, id: &str, name: &str, key_hash: &str) -> Result<()> {
        let (id, name, key_hash) = (id.to_string(), name.to_string(), key_hash.to_string());
        self.with(move |c| {
            c.execute(
                "INSERT INTO webshops (id, name, key_hash) VALUES (?1, ?2, ?3)",
                params![id, name, key_hash],
            )?;
            Ok(())
        })
        .await
    }

    async fn webshop_by_key(&self, key_hash: &str) -> Result<Option<String>> {
        let key_hash = key_hash.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT id FROM webshops WHERE key_hash = ?1 AND revoked_at IS NULL",
                [&key_hash],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    async fn place_web_order(&self, placement: &Placement) -> Result<Placed> {
        let placement = placement.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let placed = sqlite_feed::place(&tx, &placement)?;
            if let Placed::Created(order) = &placed {
                crate::stock_store::reserve(&tx, order, &timestamp::format(&placement.now))?;
            }
            tx.commit()?;
            Ok(placed)
        })
        .await
    }

    async fn web_order(&self, id: &str) -> Result<Option<WebOrder>> {
        let id = id.to_string();
        self.read(move |c| sqlite_feed::web_order(c, &id)).await
    }

    async fn web_order_webshop(&self, id: &str) -> Result<Option<String>> {
        let id = id.to_string();
        self.read(move |c| sqlite_feed::web_order_webshop(c, &id))
            .await
    }

    async fn web_orders(
        &self,
        shops: &ShopSelection,
        page: &Page<String>,
    ) -> Result<Vec<WebOrder>> {
        let (shops, page) = (shops.clone(), page.clone());
        self.read(move |c| sqlite_feed::web_orders(c, &shops, &page))
            .await
    }

    async fn cancel_web_order(&self, id: &str, now: DateTime<Utc>) -> Result<WebOrder> {
        let id = id.to_string();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let order = sqlite_feed::cancel(&tx, &id, now)?;
            crate::stock_store::end_reservation(
                &tx,
                &order.id,
                pos_domain::stock::MovementKind::ReservationReleased,
                false,
                &timestamp::format(&now),
            )?;
            tx.commit()?;
            Ok(order)
        })
        .await
    }

    async fn remove_web_order(&self, id: &str, now: DateTime<Utc>) -> Result<Option<String>> {
        let id = id.to_string();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let shop = sqlite_feed::remove(&tx, &id, now)?;
            tx.commit()?;
            Ok(shop)
        })
        .await
    }

    async fn put_customers(
        &self,
        till: &TillAuth,
        customers: Vec<pos_domain::customer::Customer>,
        now: DateTime<Utc>,
    ) -> Result<pos_domain::wire::CustomersUploadResponse> {
        let till = till.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let answer = futures_executor::block_on(ingest_tx::put_customers(
                &mut SqliteIngest { tx: &tx },
                &till,
                &customers,
                now,
            ))?;
            tx.commit()?;
            Ok(answer)
        })
        .await
    }

    async fn erase_customer(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let erased = erase_customer(&tx, &id)?;
            tx.commit()?;
            Ok(erased)
        })
        .await
    }

    async fn customer_contact(&self, id: &str) -> Result<Option<pos_domain::customer::Customer>> {
        let id = id.to_string();
        self.read(move |c| Ok(customer_state(c, &id)?.and_then(|s| s.contact)))
            .await
    }

    async fn record_count(&self, till_id: &str) -> Result<u64> {
        let till_id = till_id.to_string();
        self.read(move |c| {
            let n: i64 = c.query_row(
                "SELECT count(*) FROM records WHERE till_id = ?1",
                [&till_id],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn create_webhook(&self, hook: &NewWebhook, now: DateTime<Utc>) -> Result<()> {
        let change = AdminChange::Webhook(hook.clone());
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, None, now).map(|_| ()))
            .await
    }

    async fn webhooks(&self) -> Result<Vec<WebhookStatus>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, url, types, created_at, cursor,
                   (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.dead_at IS NULL),
                   (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.dead_at IS NOT NULL)
                 FROM webhooks w ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(WebhookStatus {
                    id: r.get(0)?,
                    url: r.get(1)?,
                    types: split_types(&r.get::<_, String>(2)?),
                    created_at: r.get(3)?,
                    cursor: r.get(4)?,
                    pending: r.get(5)?,
                    dead: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn webhook_targets(&self) -> Result<Vec<Webhook>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, url, secret, types FROM webhooks WHERE secret_sealed = 1 ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Webhook {
                    id: r.get(0)?,
                    url: r.get(1)?,
                    sealed_secret: r.get(2)?,
                    types: split_types(&r.get::<_, String>(3)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn plain_webhook_secrets(&self) -> Result<Vec<(String, String)>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, secret FROM webhooks WHERE secret_sealed = 0 ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn seal_webhook_secret(&self, webhook_id: &str, sealed: &str) -> Result<()> {
        let (id, sealed) = (webhook_id.to_string(), sealed.to_string());
        self.with(move |conn| {
            conn.execute(
                "UPDATE webhooks SET secret = ?2, secret_sealed = 1 WHERE id = ?1 AND secret_sealed = 0",
                params![id, sealed],
            )?;
            Ok(())
        })
        .await
    }

    async fn queue_webhook_events(
        &self,
        hook: &Webhook,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<u32> {
        let hook = hook.clone();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let after: i64 = tx.query_row(
                "SELECT cursor FROM webhooks WHERE id = ?1",
                params![hook.id],
                |r| r.get(0),
            )?;
            let events: Vec<(i64, String, String)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT cursor, type, subject FROM outbox WHERE cursor > ?1 ORDER BY cursor LIMIT ?2",
                )?;
                stmt.query_map(params![after, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<_>>()?
            };
            let Some(last) = events.last().map(|e| e.0) else {
                return Ok(0);
            };
            {
                let mut queue = tx.prepare_cached(
                    "INSERT INTO webhook_deliveries (webhook_id, cursor, subject, attempts, next_attempt_at)
                     VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT DO NOTHING",
                )?;
                let due = timestamp::format(&now);
                for (cursor, event_type, subject) in &events {
                    if hook.wants(event_type) {
                        queue.execute(params![hook.id, cursor, subject, due])?;
                    }
                }
            }
            tx.execute(
                "UPDATE webhooks SET cursor = ?2 WHERE id = ?1",
                params![hook.id, last],
            )?;
            tx.commit()?;
            Ok(events.len() as u32)
        })
        .await
    }

    async fn claim_webhook_deliveries(
        &self,
        webhook_id: &str,
        claim: &Claim,
        limit: u32,
    ) -> Result<Vec<DueDelivery>> {
        let (webhook_id, claim) = (webhook_id.to_string(), claim.clone());
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = timestamp::format(&claim.now);
            let due: Vec<DueDelivery> = {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {}, o.event_id, d.attempts
                     FROM webhook_deliveries d JOIN outbox o ON o.cursor = d.cursor {}
                     WHERE d.webhook_id = ?1 AND d.dead_at IS NULL AND d.next_attempt_at <= ?2
                       AND (d.claimed_until IS NULL OR d.claimed_until <= ?2)
                       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                                       WHERE e.webhook_id = d.webhook_id AND e.subject = d.subject
                                         AND e.cursor < d.cursor)
                     ORDER BY d.cursor LIMIT ?3",
                    sqlite_feed::OUTBOX_READ_COLUMNS,
                    sqlite_feed::OUTBOX_RECORD_JOIN
                ))?;
                let rows = stmt.query_map(params![webhook_id, now, limit], |r| {
                    Ok((sqlite_feed::outbox_read(r)?, r.get(5)?, r.get(6)?))
                })?;
                let mut due = Vec::new();
                for row in rows {
                    let (read, event_id, attempts): (OutboxRead, String, u32) = row?;
                    due.push(DueDelivery {
                        cursor: read.cursor,
                        event_id,
                        body: read.envelope()?,
                        attempts,
                    });
                }
                due
            };
            {
                let mut mark = tx.prepare_cached(
                    "UPDATE webhook_deliveries SET claimed_by = ?3, claimed_until = ?4
                     WHERE webhook_id = ?1 AND cursor = ?2",
                )?;
                let until = timestamp::format(&claim.until);
                for delivery in &due {
                    mark.execute(params![webhook_id, delivery.cursor, claim.by, until])?;
                }
            }
            tx.commit()?;
            Ok(due)
        })
        .await
    }

    async fn webhook_delivered(&self, webhook_id: &str, cursor: i64) -> Result<()> {
        let webhook_id = webhook_id.to_string();
        self.with(move |conn| {
            conn.execute(
                "DELETE FROM webhook_deliveries WHERE webhook_id = ?1 AND cursor = ?2",
                params![webhook_id, cursor],
            )?;
            Ok(())
        })
        .await
    }

    async fn webhook_failed(
        &self,
        webhook_id: &str,
        cursor: i64,
        claimant: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (webhook_id, claimant, error) = (
            webhook_id.to_string(),
            claimant.to_string(),
            error.to_string(),
        );
        self.with(move |conn| {
            let dead_at = retry_at.is_none().then(|| timestamp::format(&now));
            let next = timestamp::format(&retry_at.unwrap_or(now));
            conn.execute(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = ?3,
                   next_attempt_at = ?4, dead_at = ?5, claimed_by = NULL, claimed_until = NULL
                 WHERE webhook_id = ?1 AND cursor = ?2 AND claimed_by = ?6",
                params![webhook_id, cursor, error, next, dead_at, claimant],
            )?;
            Ok(())
        })
        .await
    }

    async fn dead_letters(&self, page: &Page<(i64, String)>) -> Result<Vec<DeadLetter>> {
        let (after_cursor, after_webhook) = page.after.clone().unwrap_or((0, String::new()));
        let limit = page.limit;
        self.read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT d.webhook_id, d.cursor, o.event_id, o.type, d.subject, d.attempts,
                        coalesce(d.last_error, ''), d.dead_at
                 FROM webhook_deliveries d JOIN outbox o ON o.cursor = d.cursor
                 WHERE d.dead_at IS NOT NULL AND (d.cursor, d.webhook_id) > (?1, ?2)
                 ORDER BY d.cursor, d.webhook_id LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![after_cursor, after_webhook, limit], |r| {
                Ok(DeadLetter {
                    webhook_id: r.get(0)?,
                    cursor: r.get(1)?,
                    event_id: r.get(2)?,
                    event_type: r.get(3)?,
                    subject: r.get(4)?,
                    attempts: r.get(5)?,
                    last_error: r.get(6)?,
                    dead_at: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn retry_dead_letters(
        &self,
        webhook_id: Option<&str>,
        cursor: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let webhook_id = webhook_id.map(str::to_string);
        self.with(move |conn| {
            let n = conn.execute(
                "UPDATE webhook_deliveries SET dead_at = NULL, attempts = 0, next_attempt_at = ?3,
                   claimed_by = NULL, claimed_until = NULL
                 WHERE dead_at IS NOT NULL AND (?1 IS NULL OR webhook_id = ?1)
                   AND (?2 IS NULL OR cursor = ?2)",
                params![webhook_id, cursor, timestamp::format(&now)],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn begin_serving(&self) -> Result<()> {
        let lock_path = serving_lock_path(&self.path);
        let lock = tokio::task::spawn_blocking(move || hold_serving_lock(&lock_path))
            .await
            .map_err(|e| StoreError::Database(e.to_string()))??;
        *self.serving.lock().unwrap_or_else(|p| p.into_inner()) = Some(lock);
        Ok(())
    }

    async fn try_lead(&self, _job: &str) -> Result<Option<Box<dyn Leadership>>> {
        // One process serves the file (`begin_serving`): it leads every job.
        Ok(Some(Box::new(SoleLeader)))
    }

    async fn apply_admin(
        &self,
        change: AdminChange,
        entry: &pos_hq_store::audit::NewAuditEntry,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let entry = entry.clone();
        self.with(move |c| admin_tx::apply_in_transaction(c, &change, Some(&entry), now))
            .await
    }

    async fn audit_entries(
        &self,
        page: &Page<i64>,
    ) -> Result<Vec<pos_hq_store::audit::AuditEntry>> {
        let page = page.clone();
        self.read(move |c| audit::entries(c, &page)).await
    }

    async fn change_data(
        &self,
        kind: &str,
        shop_id: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let (kind, shop_id, key) = (kind.to_string(), shop_id.to_string(), key.to_string());
        self.read(move |c| audit::change_data(c, &kind, &shop_id, &key))
            .await
    }

    async fn live_entries(
        &self,
        kind: &str,
        page: &Page<(String, String)>,
    ) -> Result<Vec<pos_hq_store::audit::LiveEntry>> {
        let (kind, page) = (kind.to_string(), page.clone());
        self.read(move |c| audit::live_entries(c, &kind, &page))
            .await
    }
}

/// The file whose lock marks a database as served: `<database>-serving.lock`.
fn serving_lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_os_string();
    name.push("-serving.lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock of `lock_path` without waiting, held while the returned connection
/// is open: SQLite's own file lock (POSIX advisory locks), which the operating system releases
/// when the process ends, however it ends, so a server killed outright does not block the next.
fn hold_serving_lock(lock_path: &Path) -> Result<Connection> {
    let lock = Connection::open(lock_path)?;
    let taken = (|| {
        lock.busy_timeout(std::time::Duration::ZERO)?;
        lock.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        // The file holds nothing: no journal to leave behind.
        lock.pragma_update(None, "journal_mode", "OFF")?;
        lock.execute_batch("BEGIN EXCLUSIVE")
    })();
    match taken {
        Ok(()) => Ok(lock),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DatabaseBusy =>
        {
            Err(StoreError::Conflict(format!(
                "another `sync-server serve` is already serving this SQLite database (it holds {}): \
                 SQLite is served by one process at a time; stop the other one first, or use \
                 PostgreSQL (--db postgres://...) to run several servers (admin commands may run \
                 beside a server)",
                lock_path.display()
            )))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_are_the_files_of_migrations_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        pos_hq_store::migrations::check_embedded(&dir, MIGRATIONS).unwrap();
        assert!(
            MIGRATIONS.len() >= 15,
            "the 15 migrations of earlier versions stay, so existing databases keep working"
        );
    }

    #[tokio::test]
    async fn a_panic_in_one_storage_call_does_not_stop_the_later_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("server.sqlite"))
            .await
            .unwrap();
        let panicked = store
            .with(|c| -> Result<()> {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute(
                    "INSERT INTO regions (id, name) VALUES ('HALF', 'half-way')",
                    [],
                )?;
                panic!("a bug in a storage call, half-way through its transaction");
            })
            .await;
        assert!(panicked.is_err(), "the panicking call fails");
        let region = Region {
            id: "NORTH".into(),
            name: "Nord".into(),
        };
        store
            .create_region(&region)
            .await
            .expect("a panic in one storage call does not stop the later ones");
        assert_eq!(
            store.regions().await.unwrap(),
            vec![region],
            "the panicking call's transaction was rolled back, the next one committed"
        );
    }
}
