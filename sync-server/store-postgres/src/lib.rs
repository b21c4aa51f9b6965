//! The PostgreSQL backend, for production and scale-out: `tokio-postgres` with
//! `deadpool-postgres` pools: one for everything, and a small one of its own for the tills'
//! bearer lookups and changes-feed polls, cheap reads that must not queue behind uploads.
//!
//! An upload locks its till's row (`SELECT ... FOR UPDATE`), so two uploads of one till are
//! serialized while different tills ingest in parallel. Signature checks run on the blocking pool,
//! before the transaction or, for a catch-up, beside it (awaited before the outbox lock is taken);
//! the upload's writes follow the one sequence of [`pos_hq_store::ingest_tx`], whose verbs this
//! backend implements (a batch per statement, `UNNEST` arrays). The statements of an upload and of
//! a till's bearer lookup come from the connection's statement cache (`prepare_cached`): a
//! statement given as text is parsed afresh, a round trip of its own before it runs, and an upload
//! runs about thirty. Outbox rows are written last, under a transaction-level advisory lock, so
//! outbox cursors become visible in increasing order and a pull-feed consumer never skips an event
//! committed late with a smaller cursor. The sales rollups, whose chain-wide rows every upload of a
//! day adds to, are written with them under the same lock: the one lock every upload takes is held
//! for two statements, sent pipelined, and the commit (`PgIngest::write_shared`). Customers and
//! stock lines are read and written under an advisory lock per customer or per line (`lock_keys`),
//! so uploads of different shops never wait for each other there. Locks are taken in one order: the
//! changes feed's counter, customers, stock lines, the outbox lock, rollup rows; a web order's
//! placement and cancellation lock its stock lines before `place`/`cancel` take the outbox lock.
//! Migrations are the files of `migrations/` (`NNNN_name.sql`, embedded in order), numbered in
//! `schema_migrations`, applied under an advisory lock so several servers can start at once.
//!
//! Several servers (replicas) share the database: webhook deliveries are claimed with
//! `FOR UPDATE SKIP LOCKED` and a lease (`claimed_by`, `claimed_until`) written in the claiming
//! statement; a singleton job is led by the server holding its session advisory lock, on a
//! connection taken out of the pool for good, so the lock goes when that server dies.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use pos_domain::record::timestamp;
use pos_domain::wire::{ChainBatch, UploadResponse};
use tokio_postgres::NoTls;

use pos_domain::accounting::JournalEntry;
use pos_domain::record::Chain;
use pos_domain::web_order::WebOrder;
use pos_hq_core::events::StoredEnvelope;
use pos_hq_core::ingest::{self, NewAlarm};
use pos_hq_core::rollup::{self, RollupDelta, RollupKey};
use pos_hq_core::{accounting, crm, stock};
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

use feed as postgres_feed;

/// Advisory lock key for migrations.
const MIGRATION_LOCK: i64 = 0x0070_6f73_5f6d_6967;
/// Advisory lock key serializing outbox writes.
const OUTBOX_LOCK: i64 = 0x0070_6f73_5f6f_7574;

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

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    /// The tills' bearer lookups and changes-feed polls: short reads, on connections of their
    /// own so they never queue behind uploads waiting for locks in `pool`.
    polls: Pool,
}

impl PgStore {
    /// Ingests an upload in one transaction, committed only if `signatures` says every
    /// signature is valid (see [`ingest_tx::ingest`]; rolled back otherwise).
    async fn ingest_tx(
        &self,
        till: &TillAuth,
        upload: CheckedUpload,
        signatures: impl std::future::Future<Output = bool>,
        now: DateTime<Utc>,
        till_clock: Option<DateTime<Utc>>,
    ) -> Result<Option<UploadResponse>> {
        let mut timer = ingest_tx::StepTimer::start();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        timer.mark("begin");
        let mut writes = PgIngest::new(&tx);
        let answer =
            ingest_tx::ingest(&mut writes, till, upload, signatures, now, till_clock).await?;
        if answer.is_none() {
            return Ok(None);
        }
        // Rollups of an upload with no event are still held back.
        writes.write_shared().await?;
        timer.mark("steps");
        tx.commit().await?;
        timer.mark("commit");
        timer.report(&till.till_id);
        Ok(answer)
    }

    /// Connects to `url` and migrates the database.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("`{url}`: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let polls = Pool::builder(Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        ))
        .max_size(8)
        .build()
        .map_err(|e| StoreError::Database(e.to_string()))?;
        let store = PgStore { pool, polls };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
        )
        .await?;
        let applied: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[&((index + 1) as i32), &timestamp::format(&Utc::now())],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn stored_record(r: &tokio_postgres::Row) -> StoredRecord {
    StoredRecord {
        till_id: r.get(0),
        shop_id: r.get(1),
        chain: r.get(2),
        seq: r.get::<_, i64>(3) as u64,
        at: r.get(4),
        hash: r.get(5),
        body: r.get(6),
        received_at: r.get(7),
        public_key: r.get(8),
    }
}

/// The columns [`outbox_read`] reads, from `outbox o` joined by [`OUTBOX_RECORD_JOIN`].
const OUTBOX_READ_COLUMNS: &str = "o.cursor, o.envelope, o.record_shop, r.body, r.hash";

/// Joins each record's event to its record (see [`StoredEnvelope`]).
const OUTBOX_RECORD_JOIN: &str = "LEFT JOIN records r
     ON r.till_id = o.record_till AND r.chain = o.record_chain AND r.seq = o.record_seq";

/// An outbox row read with [`OUTBOX_READ_COLUMNS`], its first columns.
fn outbox_read(row: &tokio_postgres::Row) -> OutboxRead {
    let body: Option<Vec<u8>> = row.get(3);
    let hash: Option<String> = row.get(4);
    OutboxRead {
        cursor: row.get(0),
        envelope: row.get(1),
        record_shop: row.get(2),
        record: body.zip(hash),
    }
}

/// The columns [`stored_record`] reads, from `records r JOIN tills t`.
const STORED_RECORD_COLUMNS: &str =
    "r.till_id, t.shop_id, r.chain, r.seq, r.at, r.hash, r.body, r.received_at, t.public_key";

fn till_info(row: &tokio_postgres::Row) -> TillInfo {
    let public_key: Option<String> = row.get(4);
    TillInfo {
        id: row.get(0),
        shop_id: row.get(1),
        name: row.get(2),
        enrollment_expires_at: if public_key.is_none() {
            row.get(3)
        } else {
            None
        },
        enrolled: public_key.is_some(),
        public_key,
        software: row.get(5),
        protocol: row.get(6),
        last_contact_at: row.get(7),
        revoked_at: row.get(8),
    }
}

async fn insert_user_token(
    tx: &tokio_postgres::Transaction<'_>,
    token_hash: &str,
    user_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO user_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        &[
            &token_hash,
            &user_id,
            &timestamp::format(&now),
            &timestamp::format(&expires_at),
        ],
    )
    .await?;
    Ok(())
}

/// [`StoreError::NotFound`] unless the user exists (locking their row until the commit).
async fn known_user(tx: &tokio_postgres::Transaction<'_>, user_id: &str) -> Result<()> {
    let found = tx
        .query_opt("SELECT id FROM users WHERE id = $1 FOR UPDATE", &[&user_id])
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("no user `{user_id}`"))),
    }
}

fn user_of(row: &tokio_postgres::Row) -> User {
    let role: String = row.get(2);
    User {
        id: row.get(0),
        name: row.get(1),
        role: Role::parse(&role).unwrap_or(Role::ShopManager),
        shop_id: row.get(3),
        region_id: row.get(4),
    }
}

/// A user with when they were disabled: the columns of [`user_of`], then `disabled_at`.
fn account_of(row: &tokio_postgres::Row) -> UserAccount {
    UserAccount {
        user: user_of(row),
        disabled_at: row.get(5),
    }
}

/// The stored states of the customers `ids` (contact details included), by id.
async fn customer_states(
    tx: &impl deadpool_postgres::GenericClient,
    ids: &[&str],
) -> Result<BTreeMap<String, crm::CustomerState>> {
    let mut states = BTreeMap::new();
    for r in tx
        .query(
            &tx.prepare_cached("SELECT id, first_shop_id, first_seen_at, last_purchase_at, tickets, total_cents, version, contact,
                    contact_shop_id, contact_till_id, contact_received_at
             FROM customers WHERE id = ANY($1)").await?,
            &[&ids],
        )
        .await?
    {
        let id: String = r.get(0);
        let contact: Option<String> = r.get(7);
        let origin = match (r.get(8), r.get(9), r.get(10)) {
            (Some(shop_id), Some(till_id), Some(received_at)) => Some(crm::ContactOrigin {
                shop_id,
                till_id,
                received_at,
            }),
            _ => None,
        };
        let state = crm::CustomerState {
            first_shop_id: r.get(1),
            first_seen_at: r.get(2),
            last_purchase_at: r.get(3),
            tickets: r.get(4),
            total_cents: r.get(5),
            version: r.get(6),
            contact: crm::contact_from_json(contact.as_deref())
                .map_err(|e| StoreError::Corrupt(format!("customer {id}: {e}")))?,
            origin,
            id,
        };
        states.insert(state.id.clone(), state);
    }
    Ok(states)
}

/// The storage verbs of an upload's transaction on PostgreSQL (see [`IngestTx`]): each batch
/// is one statement (`UNNEST` arrays; the records one binary `COPY`).
struct PgIngest<'a> {
    tx: &'a deadpool_postgres::Transaction<'a>,
    /// Whether this transaction holds the outbox lock ([`OUTBOX_LOCK`]).
    outbox_locked: bool,
    /// Rollup deltas not written yet (see [`PgIngest::write_shared`]).
    rollups: Option<RollupRows>,
    /// Outbox events not written yet.
    events: Option<OutboxRows>,
}

impl<'a> PgIngest<'a> {
    fn new(tx: &'a deadpool_postgres::Transaction<'a>) -> PgIngest<'a> {
        PgIngest {
            tx,
            outbox_locked: false,
            rollups: None,
            events: None,
        }
    }
}

/// Adds deltas to the sales rollup rows.
const ADD_ROLLUPS: &str = "INSERT INTO sales_rollup AS r (shop_id, day, dimension, key, tickets, quantity, amount_cents, excluding_vat_cents)
     SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::BIGINT[], $7::BIGINT[], $8::BIGINT[])
     ON CONFLICT (dimension, day, shop_id, key) DO UPDATE SET
       tickets = r.tickets + excluded.tickets,
       quantity = r.quantity + excluded.quantity,
       amount_cents = r.amount_cents + excluded.amount_cents,
       excluding_vat_cents = r.excluding_vat_cents + excluded.excluding_vat_cents";

/// Appends events to the outbox in order, skipping an event id already written.
const INSERT_EVENTS: &str = "INSERT INTO outbox (event_id, type, subject, envelope, record_till, record_chain, record_seq, record_shop)
     SELECT i, t, s, e, rt, rc, rs, rp
     FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::BIGINT[], $8::TEXT[])
          WITH ORDINALITY AS u(i, t, s, e, rt, rc, rs, rp, n)
     ORDER BY n
     ON CONFLICT (event_id) DO NOTHING";

/// The columns of rollup deltas, as [`ADD_ROLLUPS`] takes them.
struct RollupRows {
    shops: Vec<String>,
    days: Vec<String>,
    dimensions: Vec<&'static str>,
    keys: Vec<String>,
    tickets: Vec<i64>,
    quantities: Vec<i64>,
    amounts: Vec<i64>,
    excluding_vat: Vec<i64>,
}

impl RollupRows {
    fn new(rollups: &BTreeMap<RollupKey, RollupDelta>) -> RollupRows {
        RollupRows {
            shops: rollups.keys().map(|k| k.shop_id.clone()).collect(),
            days: rollups.keys().map(|k| k.day.clone()).collect(),
            dimensions: rollups.keys().map(|k| k.dimension).collect(),
            keys: rollups.keys().map(|k| k.key.clone()).collect(),
            tickets: rollups.values().map(|d| d.tickets).collect(),
            quantities: rollups.values().map(|d| d.quantity).collect(),
            amounts: rollups.values().map(|d| d.amount_cents).collect(),
            excluding_vat: rollups.values().map(|d| d.excluding_vat_cents).collect(),
        }
    }
}

/// The columns of outbox events, as [`INSERT_EVENTS`] takes them: the envelope written whole,
/// or (empty) the record it is rendered from when read ([`StoredEnvelope`]).
#[derive(Default)]
struct OutboxRows {
    ids: Vec<String>,
    types: Vec<String>,
    subjects: Vec<String>,
    envelopes: Vec<String>,
    record_tills: Vec<Option<String>>,
    record_chains: Vec<Option<&'static str>>,
    record_seqs: Vec<Option<i64>>,
    record_shops: Vec<Option<String>>,
}

impl OutboxRows {
    fn new(events: &[pos_hq_core::events::OutboxRow]) -> OutboxRows {
        let mut rows = OutboxRows::default();
        for e in events {
            rows.ids.push(e.id.clone());
            rows.types.push(e.event_type.clone());
            rows.subjects.push(e.subject.clone());
            match &e.envelope {
                StoredEnvelope::Text(text) => {
                    rows.envelopes.push(text.clone());
                    rows.record_tills.push(None);
                    rows.record_chains.push(None);
                    rows.record_seqs.push(None);
                    rows.record_shops.push(None);
                }
                StoredEnvelope::Record(r) => {
                    rows.envelopes.push(String::new());
                    rows.record_tills.push(Some(r.till_id.clone()));
                    rows.record_chains.push(Some(r.chain.name()));
                    rows.record_seqs.push(Some(r.seq as i64));
                    rows.record_shops.push(Some(r.shop_id.clone()));
                }
            }
        }
        rows
    }
}

impl PgIngest<'_> {
    /// Writes what every upload shares, the rollup deltas and outbox events held back by
    /// [`IngestTx::add_rollups`] and [`IngestTx::insert_outbox_events`], under the outbox lock.
    /// The statements are prepared first (cached per connection), then the lock and both
    /// writes are sent at once, pipelined, and run one after the other: once the lock is
    /// granted, the server holds it for those writes and the commit, with no round trip
    /// through this process between them, which on a busy machine is most of the time a
    /// serialized section takes.
    async fn write_shared(&mut self) -> Result<()> {
        let (rollups, events) = (self.rollups.take(), self.events.take());
        if rollups.is_none() && events.is_none() {
            return Ok(());
        }
        let tx = self.tx;
        let lock = tx
            .prepare_cached("SELECT pg_advisory_xact_lock($1)")
            .await?;
        let add_rollups = tx.prepare_cached(ADD_ROLLUPS).await?;
        let insert_events = tx.prepare_cached(INSERT_EVENTS).await?;
        let take_lock = async {
            if !self.outbox_locked {
                tx.execute(&lock, &[&OUTBOX_LOCK]).await?;
            }
            Ok::<_, tokio_postgres::Error>(())
        };
        let write_rollups = async {
            if let Some(r) = &rollups {
                tx.execute(
                    &add_rollups,
                    &[
                        &r.shops,
                        &r.days,
                        &r.dimensions,
                        &r.keys,
                        &r.tickets,
                        &r.quantities,
                        &r.amounts,
                        &r.excluding_vat,
                    ],
                )
                .await?;
            }
            Ok(())
        };
        let write_events = async {
            if let Some(e) = &events {
                tx.execute(
                    &insert_events,
                    &[
                        &e.ids,
                        &e.types,
                        &e.subjects,
                        &e.envelopes,
                        &e.record_tills,
                        &e.record_chains,
                        &e.record_seqs,
                        &e.record_shops,
                    ],
                )
                .await?;
            }
            Ok(())
        };
        // `try_join3` polls the three in order, so the requests go out in that order.
        futures_util::future::try_join3(take_lock, write_rollups, write_events).await?;
        self.outbox_locked = true;
        Ok(())
    }

    /// Takes the outbox lock, once per transaction: the outbox events and the sales rollups
    /// are written under it (and the credit notes and gift cards read, see
    /// [`stored_value`]).
    async fn lock_outbox(&mut self) -> Result<()> {
        if !self.outbox_locked {
            self.tx
                .execute("SELECT pg_advisory_xact_lock($1)", &[&OUTBOX_LOCK])
                .await?;
            self.outbox_locked = true;
        }
        Ok(())
    }
}

impl IngestTx for PgIngest<'_> {
    async fn lock_till(&mut self, till_id: &str) -> Result<()> {
        self.tx
            .execute(
                &self
                    .tx
                    .prepare_cached("SELECT 1 FROM tills WHERE id = $1 FOR UPDATE")
                    .await?,
                &[&till_id],
            )
            .await?;
        Ok(())
    }

    async fn chain_heads(
        &mut self,
        till_id: &str,
        chains: &[Chain],
    ) -> Result<Vec<Option<(u64, String)>>> {
        let names: Vec<&str> = chains.iter().map(|c| c.name()).collect();
        let held: BTreeMap<String, (u64, String)> = self
            .tx
            .query(
                &self.tx.prepare_cached("SELECT chain, seq, hash FROM chain_heads WHERE till_id = $1 AND chain = ANY($2)").await?,
                &[&till_id, &names],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), (r.get::<_, i64>(1) as u64, r.get(2))))
            .collect();
        Ok(names.iter().map(|n| held.get(*n).cloned()).collect())
    }

    async fn record_hashes(
        &mut self,
        till_id: &str,
        chain: Chain,
        seqs: &[u64],
    ) -> Result<BTreeMap<u64, String>> {
        let seqs: Vec<i64> = seqs.iter().map(|s| *s as i64).collect();
        Ok(self
            .tx
            .query(
                &self.tx.prepare_cached("SELECT seq, hash FROM records WHERE till_id = $1 AND chain = $2 AND seq = ANY($3)").await?,
                &[&till_id, &chain.name(), &seqs],
            )
            .await?
            .iter()
            .map(|row| (row.get::<_, i64>(0) as u64, row.get(1)))
            .collect())
    }

    async fn insert_records(
        &mut self,
        till_id: &str,
        chain: Chain,
        records: &[ingest::Accepted],
        received_at: &str,
    ) -> Result<()> {
        // COPY, binary: PostgreSQL's bulk path, the records being new rows (their sequences
        // follow the chain head, held under the till's lock).
        use tokio_postgres::binary_copy::BinaryCopyInWriter;
        use tokio_postgres::types::{ToSql, Type};
        const COLUMNS: [Type; 7] = [
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
            Type::TEXT,
        ];
        let sink = self
            .tx
            .copy_in(
                &self.tx.prepare_cached("COPY records (till_id, chain, seq, at, hash, body, received_at) FROM STDIN BINARY").await?,
            )
            .await?;
        let writer = BinaryCopyInWriter::new(sink, &COLUMNS);
        futures_util::pin_mut!(writer);
        for a in records {
            let (seq, at) = (a.seq as i64, timestamp::format(&a.record.record.at));
            let row: [&(dyn ToSql + Sync); 7] = [
                &till_id,
                &chain.name(),
                &seq,
                &at,
                &a.hash,
                &a.record.stored,
                &received_at,
            ];
            writer.as_mut().write(&row).await?;
        }
        writer.finish().await?;
        Ok(())
    }

    async fn upsert_heads(&mut self, till_id: &str, heads: &[(Chain, u64, &str)]) -> Result<()> {
        let chains: Vec<&str> = heads.iter().map(|h| h.0.name()).collect();
        let seqs: Vec<i64> = heads.iter().map(|h| h.1 as i64).collect();
        let hashes: Vec<&str> = heads.iter().map(|h| h.2).collect();
        self.tx
            .execute(
                &self.tx.prepare_cached("INSERT INTO chain_heads (till_id, chain, seq, hash)
                 SELECT $1, c, s, h FROM UNNEST($2::TEXT[], $3::BIGINT[], $4::TEXT[]) AS u(c, s, h)
                 ON CONFLICT (till_id, chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash").await?,
                &[&till_id, &chains, &seqs, &hashes],
            )
            .await?;
        Ok(())
    }

    async fn web_order_bodies(&mut self, ids: &[String]) -> Result<BTreeMap<String, String>> {
        // Locked in id order, as every writer of several orders takes them.
        Ok(self
            .tx
            .query(
                &self
                    .tx
                    .prepare_cached(
                        "SELECT id, body FROM web_orders WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                    )
                    .await?,
                &[&ids],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    async fn save_web_orders(&mut self, orders: &[WebOrder], now: DateTime<Utc>) -> Result<()> {
        for order in orders {
            postgres_feed::save_order(self.tx, order, now).await?;
        }
        Ok(())
    }

    async fn put_changes(&mut self, changes: &[NewChange]) -> Result<u64> {
        postgres_feed::put_changes(self.tx, changes).await
    }

    async fn alarms_raised_since(&mut self, till_id: &str, since: &str) -> Result<u64> {
        let count: i64 = self
            .tx
            .query_one(
                &self
                    .tx
                    .prepare_cached(
                        "SELECT count(*) FROM alarms WHERE till_id = $1 AND raised_at > $2",
                    )
                    .await?,
                &[&till_id, &since],
            )
            .await?
            .get(0);
        Ok(count as u64)
    }

    async fn insert_alarms(
        &mut self,
        till_id: &str,
        alarms: &[NewAlarm],
        raised_at: &str,
    ) -> Result<Vec<bool>> {
        let mut new = Vec::with_capacity(alarms.len());
        for al in alarms {
            let inserted = self
                .tx
                .execute(
                    &self.tx.prepare_cached("INSERT INTO alarms (till_id, chain, seq, kind, reason, received_hash, received, raised_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT DO NOTHING").await?,
                    &[
                        &till_id,
                        &al.chain.name(),
                        &(al.seq as i64),
                        &al.kind.name(),
                        &al.reason,
                        &al.received_hash,
                        &al.received,
                        &raised_at,
                    ],
                )
                .await?;
            new.push(inserted == 1);
        }
        Ok(new)
    }

    async fn add_rollups(&mut self, rollups: &BTreeMap<RollupKey, RollupDelta>) -> Result<()> {
        // Every upload of a day adds to the same chain-wide rows: written with the outbox
        // events, under the outbox lock (see [`PgIngest::write_shared`]).
        self.rollups = Some(RollupRows::new(rollups));
        Ok(())
    }

    async fn touch_till(
        &mut self,
        till_id: &str,
        at: &str,
        clock_skew_ms: Option<i64>,
        software: Option<&str>,
    ) -> Result<()> {
        self.tx
            .execute(
                &self.tx.prepare_cached("UPDATE tills SET last_contact_at = $2, clock_skew_ms = coalesce($3, clock_skew_ms),
                 software = coalesce($4, software) WHERE id = $1").await?,
                &[&till_id, &at, &clock_skew_ms, &software],
            )
            .await?;
        Ok(())
    }

    async fn add_pending_closures(
        &mut self,
        till_id: &str,
        closures: &[accounting::PendingClosure],
    ) -> Result<()> {
        let seqs: Vec<i64> = closures.iter().map(|c| c.seq as i64).collect();
        let through: Vec<i64> = closures.iter().map(|c| c.through_cash as i64).collect();
        self.tx
            .execute(
                &self
                    .tx
                    .prepare_cached(
                        "INSERT INTO pending_closures (till_id, closure_seq, through_cash)
                 SELECT $1, s, t FROM UNNEST($2::BIGINT[], $3::BIGINT[]) AS u(s, t)",
                    )
                    .await?,
                &[&till_id, &seqs, &through],
            )
            .await?;
        Ok(())
    }

    async fn pending_closures(&mut self, till_id: &str) -> Result<Vec<accounting::PendingClosure>> {
        Ok(self
            .tx
            .query(
                &self
                    .tx
                    .prepare_cached(
                        "SELECT closure_seq, through_cash FROM pending_closures WHERE till_id = $1
                 ORDER BY closure_seq",
                    )
                    .await?,
                &[&till_id],
            )
            .await?
            .iter()
            .map(|r| accounting::PendingClosure {
                seq: r.get::<_, i64>(0) as u64,
                through_cash: r.get::<_, i64>(1) as u64,
            })
            .collect())
    }

    async fn posted_through_cash(&mut self, till_id: &str, closure_seq: u64) -> Result<u64> {
        Ok(self
            .tx
            .query_opt(
                &self.tx.prepare_cached("SELECT through_cash FROM daily_entries WHERE till_id = $1 AND closure_seq < $2
                 ORDER BY closure_seq DESC LIMIT 1").await?,
                &[&till_id, &(closure_seq as i64)],
            )
            .await?
            .map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    async fn record_bodies(
        &mut self,
        till_id: &str,
        chain: Chain,
        after: u64,
        through: u64,
    ) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .tx
            .query(
                &self
                    .tx
                    .prepare_cached(
                        "SELECT body FROM records WHERE till_id = $1 AND chain = $2
                 AND seq > $3 AND seq <= $4 ORDER BY seq",
                    )
                    .await?,
                &[&till_id, &chain.name(), &(after as i64), &(through as i64)],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    async fn post_entry(&mut self, posted: &PostedEntry<'_>) -> Result<()> {
        let json = serde_json::to_string(posted.entry)
            .map_err(|e| StoreError::Corrupt(format!("entry: {e}")))?;
        let seq = posted.closure_seq as i64;
        self.tx
            .execute(
                &self.tx.prepare_cached("INSERT INTO daily_entries (till_id, closure_seq, shop_id, day, through_cash, entry, posted_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)").await?,
                &[
                    &posted.till_id,
                    &seq,
                    &posted.shop_id,
                    &posted.entry.date.to_string(),
                    &(posted.through_cash as i64),
                    &json,
                    &posted.posted_at,
                ],
            )
            .await?;
        self.tx
            .execute(
                &self
                    .tx
                    .prepare_cached(
                        "DELETE FROM pending_closures WHERE till_id = $1 AND closure_seq = $2",
                    )
                    .await?,
                &[&posted.till_id, &seq],
            )
            .await?;
        Ok(())
    }

    async fn customer_states(
        &mut self,
        ids: &[&str],
    ) -> Result<BTreeMap<String, crm::CustomerState>> {
        lock_keys(self.tx, "customer", ids.iter().copied()).await?;
        customer_states(self.tx, ids).await
    }

    async fn save_customer_figures(&mut self, c: &[&crm::CustomerState]) -> Result<()> {
        self.tx
            .execute(
                &self.tx.prepare_cached("INSERT INTO customers (id, first_shop_id, first_seen_at, last_purchase_at, tickets, total_cents, version)
                 SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::BIGINT[], $7::BIGINT[])
                 ON CONFLICT (id) DO UPDATE SET last_purchase_at = excluded.last_purchase_at,
                   tickets = excluded.tickets, total_cents = excluded.total_cents, version = excluded.version").await?,
                &[
                    &c.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.first_shop_id.as_str()).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.first_seen_at.as_str()).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.last_purchase_at.as_str()).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.tickets).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.total_cents).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.version).collect::<Vec<_>>(),
                ],
            )
            .await?;
        Ok(())
    }

    async fn products_not_kept(&mut self, ids: &[&str]) -> Result<BTreeSet<String>> {
        crate::stock_store::not_kept(self.tx, ids).await
    }

    async fn stock_lines(
        &mut self,
        keys: &[&stock::StockKey],
    ) -> Result<BTreeMap<stock::StockKey, stock::Stored>> {
        lock_stock_lines(self.tx, keys).await?;
        crate::stock_store::lines(self.tx, keys).await
    }

    async fn save_stock_lines(
        &mut self,
        lines: &BTreeMap<stock::StockKey, stock::Stored>,
    ) -> Result<()> {
        crate::stock_store::save_lines(self.tx, lines).await
    }

    async fn stock_moved_after(
        &mut self,
        starts: &[(stock::StockKey, String)],
    ) -> Result<BTreeMap<(stock::StockKey, String), i64>> {
        crate::stock_store::moved_after(self.tx, starts).await
    }

    async fn stock_reserved_for(
        &mut self,
        order_ids: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<stock::StockKey, i64>>> {
        self.lock_outbox().await?;
        crate::stock_store::reserved_for(self.tx, order_ids).await
    }

    async fn serials(&mut self, imeis: &[String]) -> Result<BTreeMap<String, stock::SerialState>> {
        // Handsets are shared by every till: read and written under the outbox lock.
        self.lock_outbox().await?;
        crate::stock_store::serials(self.tx, imeis).await
    }

    async fn save_serials(&mut self, serials: &BTreeMap<String, stock::SerialState>) -> Result<()> {
        crate::stock_store::save_serials(self.tx, serials).await
    }

    async fn insert_stock_movements(
        &mut self,
        movements: &[stock::Movement],
        recorded_at: &str,
    ) -> Result<()> {
        crate::stock_store::insert_movements(self.tx, movements, recorded_at).await
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
        crate::logistics::record_receipts(self.tx, receipts, recorded_at).await
    }

    async fn index_returns(
        &mut self,
        till_id: &str,
        named: &[pos_hq_core::returns::NamedReturn],
    ) -> Result<()> {
        returns::index_returns(self.tx, till_id, named).await
    }

    async fn returns_of(
        &mut self,
        originals: &[ingest_tx::TicketRef],
    ) -> Result<BTreeMap<ingest_tx::TicketRef, Vec<ingest_tx::TicketRef>>> {
        let tills: Vec<&str> = originals.iter().map(|(till, _)| till.as_str()).collect();
        let seqs: Vec<i64> = originals.iter().map(|(_, seq)| *seq as i64).collect();
        let mut out: BTreeMap<ingest_tx::TicketRef, Vec<ingest_tx::TicketRef>> = BTreeMap::new();
        for row in self
            .tx
            .query(
                &self
                    .tx
                    .prepare_cached(
                        "SELECT r.original_till, r.original_ticket, r.till_id, r.seq
                 FROM UNNEST($1::TEXT[], $2::BIGINT[]) AS u(till, seq)
                 JOIN ticket_returns r ON r.original_till = u.till AND r.original_ticket = u.seq
                 ORDER BY r.original_till, r.original_ticket, r.till_id, r.seq",
                    )
                    .await?,
                &[&tills, &seqs],
            )
            .await?
        {
            out.entry((row.get(0), row.get::<_, i64>(1) as u64))
                .or_default()
                .push((row.get(2), row.get::<_, i64>(3) as u64));
        }
        Ok(out)
    }

    async fn ticket_bodies(
        &mut self,
        tickets: &[ingest_tx::TicketRef],
    ) -> Result<BTreeMap<ingest_tx::TicketRef, Vec<u8>>> {
        let tills: Vec<&str> = tickets.iter().map(|(till, _)| till.as_str()).collect();
        let seqs: Vec<i64> = tickets.iter().map(|(_, seq)| *seq as i64).collect();
        Ok(self
            .tx
            .query(
                &self
                    .tx
                    .prepare_cached(
                        "SELECT r.till_id, r.seq, r.body
                 FROM UNNEST($1::TEXT[], $2::BIGINT[]) AS u(till, seq)
                 JOIN records r ON r.till_id = u.till AND r.chain = 'ticket' AND r.seq = u.seq",
                    )
                    .await?,
                &[&tills, &seqs],
            )
            .await?
            .iter()
            .map(|row| ((row.get(0), row.get::<_, i64>(1) as u64), row.get(2)))
            .collect())
    }

    async fn tickets_with_returns(&mut self, till_id: &str, seqs: &[u64]) -> Result<Vec<u64>> {
        returns::tickets_with_returns(self.tx, till_id, seqs).await
    }

    async fn instruments(
        &mut self,
        numbers: &[String],
    ) -> Result<BTreeMap<String, pos_hq_core::stored_value::Instrument>> {
        self.lock_outbox().await?;
        stored_value::instruments(self.tx, numbers, true).await
    }

    async fn save_instruments(
        &mut self,
        instruments: &BTreeMap<String, pos_hq_core::stored_value::Instrument>,
        history: &[pos_hq_core::stored_value::HistoryRow],
    ) -> Result<()> {
        stored_value::save(self.tx, instruments, history).await
    }

    async fn settle_holds(
        &mut self,
        till_id: &str,
        redeemed: &[pos_hq_core::stored_value::Redeemed],
    ) -> Result<()> {
        stored_value::settle_holds(self.tx, till_id, redeemed).await
    }

    async fn insert_outbox_events(
        &mut self,
        events: &[pos_hq_core::events::OutboxRow],
    ) -> Result<()> {
        // Written last, under the outbox lock: cursors become visible in increasing order.
        self.events = Some(OutboxRows::new(events));
        self.write_shared().await
    }

    async fn lock_feed(&mut self) -> Result<()> {
        // The feed's counter row, before the outbox lock: the order every writer of both
        // takes them.
        self.tx
            .execute(
                &self
                    .tx
                    .prepare_cached("SELECT 1 FROM change_counter WHERE id = 1 FOR UPDATE")
                    .await?,
                &[],
            )
            .await?;
        Ok(())
    }

    async fn erased_customers(&mut self, ids: &[&str]) -> Result<BTreeSet<String>> {
        Ok(self
            .tx
            .query(
                &self
                    .tx
                    .prepare_cached("SELECT id FROM erased_customers WHERE id = ANY($1)")
                    .await?,
                &[&ids],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    async fn save_customer_contacts(
        &mut self,
        c: &[&crm::CustomerState],
        origin: &crm::ContactOrigin,
    ) -> Result<()> {
        self.tx
            .execute(
                &self.tx.prepare_cached("INSERT INTO customers (id, first_shop_id, first_seen_at, last_purchase_at, tickets, total_cents, version, contact,
                                        contact_shop_id, contact_till_id, contact_received_at)
                 SELECT i, f, s, l, t, c, v, x, $9, $10, $11
                 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::BIGINT[], $7::BIGINT[], $8::TEXT[])
                   AS u(i, f, s, l, t, c, v, x)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version, contact = excluded.contact,
                   contact_shop_id = excluded.contact_shop_id, contact_till_id = excluded.contact_till_id,
                   contact_received_at = excluded.contact_received_at").await?,
                &[
                    &c.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.first_shop_id.as_str()).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.first_seen_at.as_str()).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.last_purchase_at.as_str()).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.tickets).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.total_cents).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.version).collect::<Vec<_>>(),
                    &c.iter().map(|s| s.contact_json()).collect::<Vec<_>>(),
                    &origin.shop_id,
                    &origin.till_id,
                    &origin.received_at,
                ],
            )
            .await?;
        Ok(())
    }

    async fn insert_clock_alarms(
        &mut self,
        till_id: &str,
        alarms: &[crm::ClockAlarm],
        raised_at: &str,
    ) -> Result<Vec<bool>> {
        let mut new = Vec::with_capacity(alarms.len());
        for al in alarms {
            let inserted = self
                .tx
                .execute(
                    &self.tx.prepare_cached("INSERT INTO alarms (till_id, chain, seq, kind, reason, received_hash, received, raised_at)
                     VALUES ($1, $2, 0, $3, $4, $5, $6, $7)
                     ON CONFLICT DO NOTHING").await?,
                    &[
                        &till_id,
                        &crm::CLOCK_ALARM_CHAIN,
                        &crm::CLOCK_ALARM_KIND,
                        &al.reason,
                        &al.received_hash,
                        &al.received,
                        &raised_at,
                    ],
                )
                .await?;
            new.push(inserted == 1);
        }
        Ok(new)
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn schema_state(&self) -> Result<SchemaState> {
        let client = self.pool.get().await?;
        let applied: i32 = client
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
        Ok(SchemaState {
            applied: applied as u32,
            known: MIGRATIONS.len() as u32,
        })
    }

    async fn operations_gauges(&self, silent_since: DateTime<Utc>) -> Result<OperationsGauges> {
        let client = self.pool.get().await?;
        let outbox_end: i64 = client
            .query_one("SELECT coalesce(max(cursor), 0)::BIGINT FROM outbox", &[])
            .await?
            .get(0);
        let consumer_cursors = client
            .query("SELECT name, cursor FROM feed_consumers ORDER BY name", &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let webhook_queues = client
            .query(
                "SELECT w.id,
                   (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.dead_at IS NULL),
                   (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.dead_at IS NOT NULL)
                 FROM webhooks w ORDER BY w.id",
                &[],
            )
            .await?
            .iter()
            .map(|r| WebhookQueue {
                webhook_id: r.get(0),
                pending: r.get(1),
                dead: r.get(2),
            })
            .collect();
        let tills = client
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE last_contact_at IS NULL OR last_contact_at < $1)
                 FROM tills WHERE public_key IS NOT NULL AND revoked_at IS NULL",
                &[&timestamp::format(&silent_since)],
            )
            .await?;
        Ok(OperationsGauges {
            outbox_end,
            consumer_cursors,
            webhook_queues,
            tills_enrolled: tills.get::<_, i64>(0) as u64,
            tills_waiting: tills.get::<_, i64>(1) as u64,
        })
    }

    async fn create_entity(&self, e: &LegalEntity) -> Result<()> {
        let change = AdminChange::Entity(e.clone());
        admin_tx::apply_in_transaction(&self.pool, &change, None, Utc::now())
            .await
            .map(|_| ())
    }

    async fn create_shop(&self, s: &Shop) -> Result<()> {
        let change = AdminChange::Shop(s.clone());
        admin_tx::apply_in_transaction(&self.pool, &change, None, Utc::now())
            .await
            .map(|_| ())
    }

    async fn create_region(&self, r: &Region) -> Result<()> {
        let change = AdminChange::Region(r.clone());
        admin_tx::apply_in_transaction(&self.pool, &change, None, Utc::now())
            .await
            .map(|_| ())
    }

    async fn regions(&self) -> Result<Vec<Region>> {
        let client = self.pool.get().await?;
        let rows = client
            .query("SELECT id, name FROM regions ORDER BY id", &[])
            .await?;
        Ok(rows
            .iter()
            .map(|r| Region {
                id: r.get(0),
                name: r.get(1),
            })
            .collect())
    }

    async fn set_shop_region(&self, shop_id: &str, region_id: Option<&str>) -> Result<()> {
        let change = AdminChange::ShopRegion {
            shop_id: shop_id.to_string(),
            region_id: region_id.map(str::to_string),
        };
        admin_tx::apply_in_transaction(&self.pool, &change, None, Utc::now())
            .await
            .map(|_| ())
    }

    async fn set_user_region(&self, user_id: &str, region_id: Option<&str>) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        admin_tx::set_region(&tx, "users", "user", user_id, region_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_till(&self, t: &NewTill) -> Result<()> {
        let change = AdminChange::Till(t.clone());
        admin_tx::apply_in_transaction(&self.pool, &change, None, Utc::now())
            .await
            .map(|_| ())
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
        admin_tx::apply_in_transaction(&self.pool, &change, None, Utc::now())
            .await
            .map(|_| ())
    }

    async fn entities(&self) -> Result<Vec<LegalEntity>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, name, siren, fiscal_year_start_month FROM legal_entities ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| LegalEntity {
                id: r.get(0),
                name: r.get(1),
                siren: r.get(2),
                fiscal_year_start_month: r.get::<_, i32>(3) as u32,
            })
            .collect())
    }

    async fn shops(&self) -> Result<Vec<Shop>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, entity_id, name, territory, timezone, address, region_id FROM shops ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Shop {
                id: r.get(0),
                entity_id: r.get(1),
                name: r.get(2),
                territory: r.get(3),
                timezone: r.get(4),
                address: r.get(5),
                region_id: r.get(6),
            })
            .collect())
    }

    async fn tills(&self) -> Result<Vec<TillInfo>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, shop_id, name, code_expires_at, public_key, software, protocol, last_contact_at,
                        revoked_at
                 FROM tills ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows.iter().map(till_info).collect())
    }

    async fn users(&self) -> Result<Vec<UserAccount>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, name, role, shop_id, region_id, disabled_at FROM users ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows.iter().map(account_of).collect())
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
        admin_tx::apply_in_transaction(&self.pool, &change, None, Utc::now())
            .await
            .map(|_| ())
    }

    async fn enroll(&self, e: &Enrollment, now: DateTime<Utc>) -> Result<Enrolled> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let now = timestamp::format(&now);
        let found = tx
            .query_opt(
                "SELECT id, shop_id, public_key FROM tills
                 WHERE code_hash = $1 AND code_expires_at > $2
                 FOR UPDATE",
                &[&e.code_hash, &now],
            )
            .await?;
        let Some(row) = found else {
            return Err(StoreError::EnrollmentCodeInvalid);
        };
        let (till_id, shop_id): (String, String) = (row.get(0), row.get(1));
        let enrolled: Option<String> = row.get(2);
        check_enrolled_key(enrolled.as_deref(), &e.public_key)?;
        tx.execute(
            "UPDATE tills SET code_hash = NULL, public_key = $2, token_hash = $3, software = $4,
             protocol = $5, enrolled_at = $6, last_contact_at = $6, revoked_at = NULL
             WHERE id = $1",
            &[
                &till_id,
                &e.public_key.to_string(),
                &e.token_hash,
                &e.software,
                &e.protocol,
                &now,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(Enrolled { till_id, shop_id })
    }

    async fn till_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TillAuth>> {
        let client = self.polls.get().await?;
        // The last contact is written only when it is stale (see `last_contact_is_stale`): a
        // row write per request would make every read of a till a write.
        let due = now - chrono::Duration::seconds(LAST_CONTACT_EVERY_SECONDS);
        let row = client
            .query_opt(
                &client.prepare_cached("WITH found AS (SELECT id, shop_id, public_key, last_contact_at FROM tills WHERE token_hash = $1),
                 seen AS (UPDATE tills SET last_contact_at = $2 FROM found
                          WHERE tills.id = found.id AND coalesce(found.last_contact_at, '') < $3)
                 SELECT id, shop_id, public_key FROM found").await?,
                &[
                    &token_hash,
                    &timestamp::format(&now),
                    &timestamp::format(&due),
                ],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let till_id: String = row.get(0);
        let key: String = row.get(2);
        let public_key = key
            .parse()
            .map_err(|e: String| StoreError::Corrupt(format!("till {till_id}: {e}")))?;
        Ok(Some(TillAuth {
            till_id,
            shop_id: row.get(1),
            public_key,
        }))
    }

    async fn user_by_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt(
                "SELECT u.id, u.name, u.role, u.shop_id, u.region_id FROM user_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = $1 AND t.expires_at > $2 AND u.disabled_at IS NULL
                 UNION ALL
                 SELECT u.id, u.name, u.role, u.shop_id, u.region_id FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL
                 LIMIT 1",
                &[&token_hash, &timestamp::format(&now)],
            )
            .await?
            .as_ref()
            .map(user_of))
    }

    async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                "SELECT password_hash FROM users WHERE id = $1 FOR UPDATE",
                &[&user_id],
            )
            .await?
        else {
            return Err(StoreError::NotFound(format!("no user `{user_id}`")));
        };
        let had: Option<String> = row.get(0);
        tx.execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            &[&user_id, &password_hash],
        )
        .await?;
        tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user_id])
            .await?;
        if had.is_some() {
            tx.execute("DELETE FROM user_tokens WHERE user_id = $1", &[&user_id])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn password_of(&self, user_id: &str) -> Result<Option<(User, Option<String>)>> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt(
                "SELECT id, name, role, shop_id, region_id, password_hash FROM users
                 WHERE id = $1 AND disabled_at IS NULL",
                &[&user_id],
            )
            .await?
            .map(|r| (user_of(&r), r.get(5))))
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
                &[&token_hash, &user_id, &timestamp::format(&expires_at)],
            )
            .await?;
        Ok(())
    }

    async fn create_user_token(
        &self,
        token_hash: &str,
        user_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        known_user(&tx, user_id).await?;
        insert_user_token(&tx, token_hash, user_id, now, expires_at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user_tokens(&self, user_id: &str) -> Result<Vec<UserToken>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        known_user(&tx, user_id).await?;
        let rows = tx
            .query(
                "SELECT created_at, expires_at FROM user_tokens WHERE user_id = $1
                 ORDER BY created_at, expires_at",
                &[&user_id],
            )
            .await?;
        tx.commit().await?;
        Ok(rows
            .iter()
            .map(|r| UserToken {
                created_at: r.get(0),
                expires_at: r.get(1),
            })
            .collect())
    }

    async fn end_session(&self, token_hash: &str) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let ended = tx
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
            .await?
            + tx.execute(
                "DELETE FROM user_tokens WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?;
        tx.commit().await?;
        Ok(ended > 0)
    }

    async fn revoke_user(&self, user_id: &str) -> Result<u64> {
        let change = AdminChange::RevokeUser {
            user_id: user_id.to_string(),
        };
        admin_tx::apply_in_transaction(&self.pool, &change, None, Utc::now()).await
    }

    async fn revoke_till(&self, till_id: &str, now: DateTime<Utc>) -> Result<()> {
        let change = AdminChange::RevokeTill {
            till_id: till_id.to_string(),
        };
        admin_tx::apply_in_transaction(&self.pool, &change, None, now)
            .await
            .map(|_| ())
    }

    async fn revoke_webshop(&self, webshop_id: &str, now: DateTime<Utc>) -> Result<()> {
        let client = self.pool.get().await?;
        let changed = client
            .execute(
                "UPDATE webshops SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
                &[&webshop_id, &timestamp::format(&now)],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no web shop `{webshop_id}`")));
        }
        Ok(())
    }

    async fn set_webshop_key(&self, webshop_id: &str, key_hash: &str) -> Result<()> {
        let client = self.pool.get().await?;
        let changed = client
            .execute(
                "UPDATE webshops SET key_hash = $2, revoked_at = NULL WHERE id = $1",
                &[&webshop_id, &key_hash],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no web shop `{webshop_id}`")));
        }
        Ok(())
    }

    async fn ingest(
        &self,
        till: &TillAuth,
        batches: Vec<ChainBatch>,
        now: DateTime<Utc>,
        till_clock: Option<DateTime<Utc>>,
    ) -> Result<UploadResponse> {
        ingest_tx::check_and_ingest(till, batches, |upload, verdict| {
            self.ingest_tx(till, upload, verdict, now, till_clock)
        })
        .await
    }

    async fn returns_of_ticket(
        &self,
        original_till: &str,
        original_ticket: u64,
        now: DateTime<Utc>,
    ) -> Result<pos_hq_store::returns::ReturnsOfTicket> {
        let client = self.pool.get().await?;
        returns::returns_of_ticket(&client, original_till, original_ticket, now).await
    }

    async fn reserve_return(
        &self,
        till_id: &str,
        request: &pos_hq_store::returns::ReservationRequest,
        now: DateTime<Utc>,
    ) -> Result<pos_hq_store::returns::ReservationOutcome> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let outcome = returns::reserve_return(&tx, till_id, request, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn instrument(
        &self,
        number: &str,
    ) -> Result<Option<pos_hq_core::stored_value::Instrument>> {
        let client = self.pool.get().await?;
        Ok(
            stored_value::instruments(&client, &[number.to_string()], false)
                .await?
                .into_values()
                .next(),
        )
    }

    async fn instrument_history(
        &self,
        number: &str,
    ) -> Result<Vec<pos_hq_core::stored_value::HistoryRow>> {
        let client = self.pool.get().await?;
        stored_value::history(&client, number).await
    }

    async fn hold_redemption(
        &self,
        till_id: &str,
        hold: &HoldRequest,
        now: DateTime<Utc>,
    ) -> Result<HoldOutcome> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let outcome = stored_value::hold(&tx, till_id, hold, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn sales(&self, q: &SalesQuery) -> Result<Vec<SalesRow>> {
        let (dimension, column) = q
            .grouping()
            .ok_or_else(|| StoreError::NotFound(format!("no sales dimension `{}`", q.by)))?;
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {column}, sum(tickets)::BIGINT, sum(quantity)::BIGINT, sum(amount_cents)::BIGINT, sum(excluding_vat_cents)::BIGINT
             FROM {}
             WHERE dimension = $1 AND day BETWEEN $2 AND $3 AND {}
             GROUP BY 1 ORDER BY 1",
            q.source(),
            q.shop_condition("$4::TEXT", "$5::TEXT")
        );
        let rows = client
            .query(
                &sql,
                &[&dimension, &q.from_day(), &q.to_day(), &q.shop, &q.region],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SalesRow {
                key: r.get(0),
                tickets: r.get(1),
                quantity: r.get(2),
                amount_cents: r.get(3),
                excluding_vat_cents: r.get(4),
            })
            .collect())
    }

    async fn fleet(&self, shops: &ShopSelection, page: &Page<String>) -> Result<Vec<TillStatus>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT t.id, t.shop_id, t.name, t.public_key IS NOT NULL, t.software, t.last_contact_at,
                        (SELECT count(*) FROM alarms a WHERE a.till_id = t.id),
                        (SELECT max(raised_at) FROM alarms a WHERE a.till_id = t.id),
                        t.clock_skew_ms, s.timezone
                 FROM tills t JOIN shops s ON s.id = t.shop_id
                 WHERE {} AND ($3::TEXT IS NULL OR t.id > $3) ORDER BY t.id LIMIT $4",
                ShopSelection::condition("t.shop_id", "$1::TEXT", "$2::TEXT")),
                &[&shops.shop, &shops.region, &page.after, &i64::from(page.limit)],
            )
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        // One query each for the page's chain heads and days without a Z, never one per till:
        // a round trip per till made the whole fleet's answer take over a second.
        let mut heads: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
        for h in client
            .query(
                "SELECT till_id, chain, seq FROM chain_heads WHERE till_id = ANY($1)",
                &[&ids],
            )
            .await?
        {
            heads
                .entry(h.get(0))
                .or_default()
                .push((h.get(1), h.get::<_, i64>(2) as u64));
        }
        let mut unclosed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in client
            .query(
                "SELECT till_id, day FROM till_days_without_z WHERE till_id = ANY($1)
                 ORDER BY till_id, day",
                &[&ids],
            )
            .await?
        {
            unclosed.entry(d.get(0)).or_default().push(d.get(1));
        }
        let now = Utc::now();
        Ok(rows
            .iter()
            .map(|r| {
                let till_id: String = r.get(0);
                let timezone: String = r.get(9);
                let mut held: BTreeMap<String, u64> =
                    chain_names().map(|c| (c.to_string(), 0)).collect();
                let mut records_held = 0;
                for (chain, seq) in heads.remove(&till_id).unwrap_or_default() {
                    records_held += seq;
                    held.insert(chain, seq);
                }
                let days = unclosed.remove(&till_id).unwrap_or_default();
                TillStatus {
                    shop_id: r.get(1),
                    name: r.get(2),
                    enrolled: r.get(3),
                    software: r.get(4),
                    last_contact_at: r.get(5),
                    held,
                    records_held,
                    alarms: r.get::<_, i64>(6) as u64,
                    last_alarm_at: r.get(7),
                    clock_skew_ms: r.get(8),
                    days_without_z: rollup::days_to_close(days, &timezone, now),
                    till_id,
                }
            })
            .collect())
    }

    async fn alarms(&self, shops: &ShopSelection, page: &Page<i64>) -> Result<Vec<Alarm>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT a.id, a.till_id, t.shop_id, a.chain, a.seq, a.kind, a.reason, a.received_hash, a.raised_at
                 FROM alarms a JOIN tills t ON t.id = a.till_id
                 WHERE {} AND a.id > $3 ORDER BY a.id LIMIT $4",
                ShopSelection::condition("t.shop_id", "$1::TEXT", "$2::TEXT")),
                &[
                    &shops.shop,
                    &shops.region,
                    &page.after.unwrap_or(0),
                    &i64::from(page.limit),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Alarm {
                id: r.get(0),
                till_id: r.get(1),
                shop_id: r.get(2),
                chain: r.get(3),
                seq: r.get::<_, i64>(4) as u64,
                kind: r.get(5),
                reason: r.get(6),
                received_hash: r.get(7),
                raised_at: r.get(8),
            })
            .collect())
    }

    async fn record(&self, till_id: &str, chain: Chain, seq: u64) -> Result<Option<StoredRecord>> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt(
                &format!(
                    "SELECT {STORED_RECORD_COLUMNS} FROM records r JOIN tills t ON t.id = r.till_id
                     WHERE r.till_id = $1 AND r.chain = $2 AND r.seq = $3"
                ),
                &[&till_id, &chain.name(), &(seq as i64)],
            )
            .await?
            .as_ref()
            .map(stored_record))
    }

    async fn ticket_records(
        &self,
        shop_id: &str,
        from: &str,
        to: &str,
        after: Option<&RecordCursor>,
        limit: u32,
    ) -> Result<Vec<StoredRecord>> {
        let client = self.pool.get().await?;
        let (at, till, seq) = match after {
            Some(a) => (
                Some(a.at.as_str()),
                Some(a.till_id.as_str()),
                Some(a.seq as i64),
            ),
            None => (None, None, None),
        };
        let rows = client
            .query(
                &format!(
                    "SELECT {STORED_RECORD_COLUMNS} FROM records r JOIN tills t ON t.id = r.till_id
                     WHERE t.shop_id = $1 AND r.chain = 'ticket' AND r.at >= $2 AND r.at < $3
                       AND ($4::TEXT IS NULL OR (r.at, r.till_id, r.seq) > ($4::TEXT, $5::TEXT, $6::BIGINT))
                     ORDER BY r.at, r.till_id, r.seq LIMIT $7"
                ),
                &[&shop_id, &from, &to, &at, &till, &seq, &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(stored_record).collect())
    }

    async fn feed(&self, after: i64, limit: u32) -> Result<Vec<FeedEvent>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {OUTBOX_READ_COLUMNS} FROM outbox o {OUTBOX_RECORD_JOIN}
                     WHERE o.cursor > $1 ORDER BY o.cursor LIMIT $2"
                ),
                &[&after, &i64::from(limit)],
            )
            .await?;
        rows.iter().map(|r| outbox_read(r).feed_event()).collect()
    }

    async fn feed_end(&self) -> Result<i64> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one("SELECT coalesce(max(cursor), 0)::BIGINT FROM outbox", &[])
            .await?
            .get(0))
    }

    async fn consumer_cursor(&self, name: &str) -> Result<Option<i64>> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt(
                "SELECT cursor FROM feed_consumers WHERE name = $1",
                &[&name],
            )
            .await?
            .map(|r| r.get(0)))
    }

    async fn set_consumer_cursor(&self, name: &str, cursor: i64, now: DateTime<Utc>) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO feed_consumers (name, cursor, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                &[&name, &cursor, &timestamp::format(&now)],
            )
            .await?;
        Ok(())
    }

    async fn consumers(&self) -> Result<Vec<Consumer>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT name, cursor, (SELECT count(*) FROM outbox o WHERE o.cursor > f.cursor), updated_at
                 FROM feed_consumers f ORDER BY name",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Consumer {
                name: r.get(0),
                cursor: r.get(1),
                lag: r.get(2),
                updated_at: r.get(3),
            })
            .collect())
    }

    async fn journal_entries(
        &self,
        entity_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<JournalEntry>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT e.entry FROM daily_entries e JOIN shops s ON s.id = e.shop_id
                 WHERE s.entity_id = $1 AND e.day >= $2 AND e.day <= $3
                 ORDER BY e.day, e.till_id, e.closure_seq",
                &[&entity_id, &from, &to],
            )
            .await?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(r.get::<_, &str>(0))
                    .map_err(|e| StoreError::Corrupt(format!("journal entry: {e}")))
            })
            .collect()
    }

    async fn put_changes(&self, changes: Vec<NewChange>) -> Result<u64> {
        let change = AdminChange::Changes(changes);
        admin_tx::apply_in_transaction(&self.pool, &change, None, Utc::now()).await
    }

    async fn live_scopes(&self, kind: &str, key: &str) -> Result<Vec<String>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT shop_id FROM distribution WHERE kind = $1 AND key = $2 AND data IS NOT NULL
                 ORDER BY shop_id",
                &[&kind, &key],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn changes(
        &self,
        shop_id: &str,
        since: u64,
        limit: u32,
    ) -> Result<pos_hq_core::distribution::StoredPage> {
        let mut client = self.polls.get().await?;
        // One snapshot for the page and `latest`.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let page = postgres_feed::changes(&tx, shop_id, since, limit).await?;
        tx.commit().await?;
        Ok(page)
    }

    async fn create_webshop(&self, id: &str, name: &str, key_hash: &str) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO webshops (id, name, key_hash) VALUES ($1, $2, $3)",
                &[&id, &name, &key_hash],
            )
            .await?;
        Ok(())
    }

    async fn webshop_by_key(&self, key_hash: &str) -> Result<Option<String>> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt(
                "SELECT id FROM webshops WHERE key_hash = $1 AND revoked_at IS NULL",
                &[&key_hash],
            )
            .await?
            .map(|r| r.get(0)))
    }

    async fn place_web_order(&self, placement: &Placement) -> Result<Placed> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // The stock lines the order would reserve, locked before `place` takes the outbox lock
        // (a product whose stock is not kept has its line locked all the same: harmless).
        let reserves = pos_hq_core::stock::reservation(&placement.order, &BTreeSet::new());
        let keys: Vec<&stock::StockKey> = reserves.iter().map(|m| &m.key).collect();
        lock_stock_lines(&tx, &keys).await?;
        let placed = postgres_feed::place(&tx, placement).await?;
        if let Placed::Created(order) = &placed {
            let now = pos_domain::record::timestamp::format(&placement.now);
            crate::stock_store::reserve(&tx, order, &now).await?;
        }
        tx.commit().await?;
        Ok(placed)
    }

    async fn web_order(&self, id: &str) -> Result<Option<WebOrder>> {
        let client = self.pool.get().await?;
        postgres_feed::web_order(&client, id, false).await
    }

    async fn web_order_webshop(&self, id: &str) -> Result<Option<String>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt("SELECT webshop_id FROM web_orders WHERE id = $1", &[&id])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn web_orders(
        &self,
        shops: &ShopSelection,
        page: &Page<String>,
    ) -> Result<Vec<WebOrder>> {
        let client = self.pool.get().await?;
        postgres_feed::web_orders(&client, shops, page).await
    }

    async fn cancel_web_order(&self, id: &str, now: DateTime<Utc>) -> Result<WebOrder> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // The stock lines the order holds, locked before `cancel` takes the outbox lock.
        if let Some(held) = postgres_feed::web_order(&tx, id, false).await? {
            let reserves = pos_hq_core::stock::reservation(&held, &BTreeSet::new());
            let keys: Vec<&stock::StockKey> = reserves.iter().map(|m| &m.key).collect();
            lock_stock_lines(&tx, &keys).await?;
        }
        let order = postgres_feed::cancel(&tx, id, now).await?;
        crate::stock_store::end_reservation(
            &tx,
            &order.id,
            pos_domain::stock::MovementKind::ReservationReleased,
            false,
            &pos_domain::record::timestamp::format(&now),
        )
        .await?;
        tx.commit().await?;
        Ok(order)
    }

    async fn remove_web_order(&self, id: &str, now: DateTime<Utc>) -> Result<Option<String>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let shop = postgres_feed::remove(&tx, id, now).await?;
        tx.commit().await?;
        Ok(shop)
    }

    async fn put_customers(
        &self,
        till: &TillAuth,
        customers: Vec<pos_domain::customer::Customer>,
        now: DateTime<Utc>,
    ) -> Result<pos_domain::wire::CustomersUploadResponse> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let answer =
            ingest_tx::put_customers(&mut PgIngest::new(&tx), till, &customers, now).await?;
        tx.commit().await?;
        Ok(answer)
    }

    async fn erase_customer(&self, id: &str) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT 1 FROM change_counter WHERE id = 1 FOR UPDATE", &[])
            .await?;
        // An upload naming the customer holds this lock from reading it to committing its
        // events: the erasure scrubs them after, or the upload reads the erased state.
        lock_keys(&tx, "customer", [id]).await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&OUTBOX_LOCK])
            .await?;
        let known = customer_states(&tx, &[id])
            .await?
            .remove(id)
            .and_then(|s| s.contact)
            .is_some();
        if !known {
            return Ok(false);
        }
        tx.execute("UPDATE customers SET contact = NULL WHERE id = $1", &[&id])
            .await?;
        tx.execute(
            "INSERT INTO erased_customers (id, erased_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            &[&id, &timestamp::format(&Utc::now())],
        )
        .await?;
        let removals: Vec<NewChange> = tx
            .query(
                "SELECT shop_id FROM distribution WHERE kind = $1 AND key = $2",
                &[&pos_domain::wire::kinds::CUSTOMER, &id],
            )
            .await?
            .iter()
            .map(|r| NewChange {
                kind: pos_domain::wire::kinds::CUSTOMER,
                shop_id: r.get(0),
                key: id.to_string(),
                data: None,
            })
            .collect();
        postgres_feed::put_changes(&tx, &removals).await?;
        for row in tx
            .query(
                "SELECT cursor, envelope FROM outbox WHERE subject = $1 AND record_shop IS NULL",
                &[&crm::customer_subject(id)],
            )
            .await?
        {
            let cursor: i64 = row.get(0);
            let text: String = row.get(1);
            let mut envelope: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("outbox event {cursor}: {e}")))?;
            if crm::scrub(&mut envelope) {
                tx.execute(
                    "UPDATE outbox SET envelope = $2 WHERE cursor = $1",
                    &[&cursor, &envelope.to_string()],
                )
                .await?;
            }
        }
        postgres_feed::write_events(&tx, &[crm::erased_event(id)]).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn customer_contact(&self, id: &str) -> Result<Option<pos_domain::customer::Customer>> {
        let client = self.pool.get().await?;
        Ok(customer_states(&client, &[id])
            .await?
            .remove(id)
            .and_then(|s| s.contact))
    }

    async fn record_count(&self, till_id: &str) -> Result<u64> {
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM records WHERE till_id = $1",
                &[&till_id],
            )
            .await?
            .get(0);
        Ok(n as u64)
    }

    async fn create_webhook(&self, hook: &NewWebhook, now: DateTime<Utc>) -> Result<()> {
        let change = AdminChange::Webhook(hook.clone());
        admin_tx::apply_in_transaction(&self.pool, &change, None, now)
            .await
            .map(|_| ())
    }

    async fn webhooks(&self) -> Result<Vec<WebhookStatus>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, url, types, created_at, cursor,
                   (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.dead_at IS NULL),
                   (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.dead_at IS NOT NULL)
                 FROM webhooks w ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| WebhookStatus {
                id: r.get(0),
                url: r.get(1),
                types: split_types(r.get(2)),
                created_at: r.get(3),
                cursor: r.get(4),
                pending: r.get(5),
                dead: r.get(6),
            })
            .collect())
    }

    async fn webhook_targets(&self) -> Result<Vec<Webhook>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, url, secret, types FROM webhooks WHERE secret_sealed ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Webhook {
                id: r.get(0),
                url: r.get(1),
                sealed_secret: r.get(2),
                types: split_types(r.get(3)),
            })
            .collect())
    }

    async fn plain_webhook_secrets(&self) -> Result<Vec<(String, String)>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, secret FROM webhooks WHERE NOT secret_sealed ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn seal_webhook_secret(&self, webhook_id: &str, sealed: &str) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE webhooks SET secret = $2, secret_sealed = TRUE WHERE id = $1 AND NOT secret_sealed",
                &[&webhook_id, &sealed],
            )
            .await?;
        Ok(())
    }

    async fn queue_webhook_events(
        &self,
        hook: &Webhook,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<u32> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let after: i64 = tx
            .query_one(
                "SELECT cursor FROM webhooks WHERE id = $1 FOR UPDATE",
                &[&hook.id],
            )
            .await?
            .get(0);
        let events = tx
            .query(
                "SELECT cursor, type, subject FROM outbox WHERE cursor > $1 ORDER BY cursor LIMIT $2",
                &[&after, &i64::from(limit)],
            )
            .await?;
        let Some(last) = events.last().map(|r| r.get::<_, i64>(0)) else {
            return Ok(0);
        };
        let mut cursors = Vec::new();
        let mut subjects = Vec::new();
        for row in &events {
            if hook.wants(row.get(1)) {
                cursors.push(row.get::<_, i64>(0));
                subjects.push(row.get::<_, String>(2));
            }
        }
        tx.execute(
            "INSERT INTO webhook_deliveries (webhook_id, cursor, subject, attempts, next_attempt_at)
             SELECT $1, c, s, 0, $4 FROM UNNEST($2::BIGINT[], $3::TEXT[]) AS u(c, s)
             ON CONFLICT DO NOTHING",
            &[&hook.id, &cursors, &subjects, &timestamp::format(&now)],
        )
        .await?;
        tx.execute(
            "UPDATE webhooks SET cursor = $2 WHERE id = $1",
            &[&hook.id, &last],
        )
        .await?;
        tx.commit().await?;
        Ok(events.len() as u32)
    }

    async fn claim_webhook_deliveries(
        &self,
        webhook_id: &str,
        claim: &Claim,
        limit: u32,
    ) -> Result<Vec<DueDelivery>> {
        let client = self.pool.get().await?;
        let now = timestamp::format(&claim.now);
        let until = timestamp::format(&claim.until);
        // SKIP LOCKED: rows another server is claiming right now are left to it; one it claimed
        // a moment ago fails `claimed_until <= now` when rechecked on its new version. The
        // subject check sees the statement's snapshot, so a later event of a subject whose
        // first is claimed elsewhere is never taken.
        let rows = client
            .query(
                &format!(
                    "WITH due AS (
                     SELECT d.webhook_id, d.cursor FROM webhook_deliveries d
                     WHERE d.webhook_id = $1 AND d.dead_at IS NULL AND d.next_attempt_at <= $2
                       AND (d.claimed_until IS NULL OR d.claimed_until <= $2)
                       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                                       WHERE e.webhook_id = d.webhook_id AND e.subject = d.subject
                                         AND e.cursor < d.cursor)
                     ORDER BY d.cursor LIMIT $5
                     FOR UPDATE OF d SKIP LOCKED)
                 UPDATE webhook_deliveries w SET claimed_by = $3, claimed_until = $4
                 FROM due JOIN outbox o ON o.cursor = due.cursor {OUTBOX_RECORD_JOIN}
                 WHERE w.webhook_id = due.webhook_id AND w.cursor = due.cursor
                 RETURNING {OUTBOX_READ_COLUMNS}, o.event_id, w.attempts"
                ),
                &[&webhook_id, &now, &claim.by, &until, &i64::from(limit)],
            )
            .await?;
        let mut due = Vec::with_capacity(rows.len());
        for r in &rows {
            due.push(DueDelivery {
                cursor: r.get(0),
                event_id: r.get(5),
                body: outbox_read(r).envelope()?,
                attempts: r.get::<_, i32>(6) as u32,
            });
        }
        due.sort_by_key(|d| d.cursor);
        Ok(due)
    }

    async fn webhook_delivered(&self, webhook_id: &str, cursor: i64) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND cursor = $2",
                &[&webhook_id, &cursor],
            )
            .await?;
        Ok(())
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
        let client = self.pool.get().await?;
        let dead_at = retry_at.is_none().then(|| timestamp::format(&now));
        let next = timestamp::format(&retry_at.unwrap_or(now));
        client
            .execute(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $3,
                   next_attempt_at = $4, dead_at = $5, claimed_by = NULL, claimed_until = NULL
                 WHERE webhook_id = $1 AND cursor = $2 AND claimed_by = $6",
                &[&webhook_id, &cursor, &error, &next, &dead_at, &claimant],
            )
            .await?;
        Ok(())
    }

    async fn dead_letters(&self, page: &Page<(i64, String)>) -> Result<Vec<DeadLetter>> {
        let (after_cursor, after_webhook) = page.after.clone().unwrap_or((0, String::new()));
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT d.webhook_id, d.cursor, o.event_id, o.type, d.subject, d.attempts,
                        coalesce(d.last_error, ''), d.dead_at
                 FROM webhook_deliveries d JOIN outbox o ON o.cursor = d.cursor
                 WHERE d.dead_at IS NOT NULL AND (d.cursor, d.webhook_id) > ($1::BIGINT, $2::TEXT)
                 ORDER BY d.cursor, d.webhook_id LIMIT $3",
                &[&after_cursor, &after_webhook, &i64::from(page.limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DeadLetter {
                webhook_id: r.get(0),
                cursor: r.get(1),
                event_id: r.get(2),
                event_type: r.get(3),
                subject: r.get(4),
                attempts: r.get::<_, i32>(5) as u32,
                last_error: r.get(6),
                dead_at: r.get(7),
            })
            .collect())
    }

    async fn retry_dead_letters(
        &self,
        webhook_id: Option<&str>,
        cursor: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let client = self.pool.get().await?;
        Ok(client
            .execute(
                "UPDATE webhook_deliveries SET dead_at = NULL, attempts = 0, next_attempt_at = $3,
                   claimed_by = NULL, claimed_until = NULL
                 WHERE dead_at IS NOT NULL AND ($1::TEXT IS NULL OR webhook_id = $1)
                   AND ($2::BIGINT IS NULL OR cursor = $2)",
                &[&webhook_id, &cursor, &timestamp::format(&now)],
            )
            .await?)
    }

    async fn begin_serving(&self) -> Result<()> {
        Ok(())
    }

    async fn try_lead(&self, job: &str) -> Result<Option<Box<dyn Leadership>>> {
        let client = self.pool.get().await?;
        let leads: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&leader_lock(job)])
            .await?
            .get(0);
        if !leads {
            return Ok(None);
        }
        // The lock belongs to this session: the connection leaves the pool for good, so no
        // other request ever runs on it, and closing it (the guard dropped, the process dead)
        // releases the lock for another server.
        Ok(Some(Box::new(PgLeader {
            client: deadpool_postgres::Object::take(client),
        })))
    }

    async fn apply_admin(
        &self,
        change: AdminChange,
        entry: &pos_hq_store::audit::NewAuditEntry,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        admin_tx::apply_in_transaction(&self.pool, &change, Some(entry), now).await
    }

    async fn audit_entries(
        &self,
        page: &Page<i64>,
    ) -> Result<Vec<pos_hq_store::audit::AuditEntry>> {
        let client = self.pool.get().await?;
        audit::entries(&**client, page).await
    }

    async fn change_data(
        &self,
        kind: &str,
        shop_id: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let client = self.pool.get().await?;
        audit::change_data(&**client, kind, shop_id, key).await
    }

    async fn live_entries(
        &self,
        kind: &str,
        page: &Page<(String, String)>,
    ) -> Result<Vec<pos_hq_store::audit::LiveEntry>> {
        let client = self.pool.get().await?;
        audit::live_entries(&**client, kind, page).await
    }
}

/// The advisory lock key of a singleton job: the first 8 bytes of the SHA-256 of its name.
fn leader_lock(job: &str) -> i64 {
    advisory_key(&format!("pos-sync-server leader {job}"))
}

/// An advisory lock key: the first 8 bytes of the SHA-256 of `name`.
fn advisory_key(name: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("a SHA-256 has 8 bytes"))
}

/// Takes, until the transaction ends, the advisory lock of each of `names` in the lock space
/// `space` (`customer`, `stock`): the rows of one customer or stock line are read, changed
/// and written by one transaction at a time, while other customers' and lines' writers go on.
/// The keys are taken in increasing order, in one statement, so two transactions locking
/// overlapping sets never deadlock on them.
async fn lock_keys(
    tx: &impl deadpool_postgres::GenericClient,
    space: &str,
    names: impl IntoIterator<Item = impl AsRef<str>>,
) -> Result<()> {
    let mut keys: Vec<i64> = names
        .into_iter()
        .map(|name| advisory_key(&format!("pos-sync-server {space} {}", name.as_ref())))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    keys.sort_unstable();
    keys.dedup();
    // `unnest` yields the array in order, and the locks are taken row by row in that order.
    tx.execute(
        &tx.prepare_cached("SELECT pg_advisory_xact_lock(k) FROM unnest($1::BIGINT[]) AS u(k)")
            .await?,
        &[&keys],
    )
    .await?;
    Ok(())
}

/// The name of a stock line's lock (see [`lock_keys`]).
fn stock_lock_name(key: &stock::StockKey) -> String {
    format!("{}/{}/{}", key.shop_id, key.product_id, key.unit)
}

/// Takes the lock of each of these stock lines (see [`lock_keys`]): every writer of
/// `stock_levels` does, before the outbox lock, so an upload and a web order's placement or
/// cancellation moving the same line take their locks in the same order.
pub(crate) async fn lock_stock_lines(
    tx: &impl deadpool_postgres::GenericClient,
    keys: &[&stock::StockKey],
) -> Result<()> {
    let names: Vec<String> = keys.iter().map(|k| stock_lock_name(k)).collect();
    lock_keys(tx, "stock", names).await
}

/// A lead held as a session advisory lock on a connection of its own.
struct PgLeader {
    client: deadpool_postgres::ClientWrapper,
}

#[async_trait]
impl Leadership for PgLeader {
    async fn still_leading(&mut self) -> bool {
        !self.client.is_closed() && self.client.simple_query("SELECT 1").await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_are_the_files_of_migrations_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        pos_hq_store::migrations::check_embedded(&dir, MIGRATIONS).unwrap();
        assert!(
            MIGRATIONS.len() >= 15,
            "the 15 migrations of earlier versions stay, so existing databases keep working"
        );
    }
}
