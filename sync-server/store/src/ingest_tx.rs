//! The one ingest sequence, written once for every backend: the order of an upload's writes
//! inside its transaction, over [`IngestTx`], the storage verbs a backend offers.
//!
//! An upload is checked in three steps ([`check_and_ingest`], for every backend). Each record
//! is read first, on every core, before any transaction: parsed, hashed, its ticket read and
//! its event serialized ([`CheckedBatches`], [`pos_hq_core::ingest::ReadAhead`]: none of it
//! depends on what head office holds), and its signature checked, then or, for a catch-up,
//! beside the writes (see [`check_beside_writes`]). Then, in the upload's transaction,
//! [`ingest()`]: the held state is read, each chain planned
//! ([`pos_hq_core::ingest::plan_chain`]: links, forks, gaps) and the rest derived
//! ([`pos_hq_core::derive`]), then written in this order:
//!
//! 1. the records and the new chain heads;
//! 2. the web orders the till's records move, with their feed entries (after the records, so
//!    the entries take versions in this transaction);
//! 3. the customers' figures, and the stock lines the tickets and stock operations move with
//!    their movements, each count resolved against the stock at its start, and the
//!    reservations of the web orders handed over (consumed) or refused (released)
//!    ([`pos_hq_core::crm`], [`pos_hq_core::stock`]): rows of a customer or a shop, which a
//!    backend may lock one by one, so they come before anything that takes a lock shared by
//!    every till;
//! 4. the credit notes' and gift cards' balances and history, and the online holds the till's
//!    redemptions settle ([`pos_hq_core::stored_value`]); the returns naming an original
//!    ticket, indexed with it, the reservations they settle, and an over-return alarm when
//!    the chain gave back more than was sold ([`pos_hq_core::returns`]); the handsets' IMEIs
//!    the records move, and an alarm per handset sold again ([`pos_hq_core::stock`]); the
//!    goods receipts naming a shipping notice, measured against it
//!    ([`pos_hq_core::logistics`]);
//! 5. the alarms, bounded per till and hour ([`pos_hq_core::ingest::admit_alarms`]), each new one
//!    with its event;
//! 6. the till's last contact, clock skew and software;
//! 7. the day closures, and the daily entries of every closure whose cash records are held
//!    ([`pos_hq_core::accounting`]);
//! 8. (the signatures' verdict is awaited here: if one failed, the caller undoes it all) the
//!    sales rollups (deltas added to the stored rows, aggregated over the whole upload);
//! 9. the outbox events: the records', the instruments' movements, the alarms', the entries',
//!    the orders', the customers' and stock lines', in that order.
//!
//! Steps 8 and 9 write what every upload shares: the chain-wide rollup rows of the day (every
//! ticket of the chain adds to them) and the outbox's order. They come last, just before the
//! commit, so a backend that serializes them (PostgreSQL: one lock, taken at step 8) holds that
//! lock for two statements and the commit, not for the whole upload; uploads of different
//! tills then run their other steps side by side.
//!
//! The customers a till uploads (their contact details) follow [`put_customers`], over the
//! same verbs.
//!
//! A backend implements the verbs, never the order. Each verb takes a whole batch, so a
//! backend can write it in one statement.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use pos_domain::accounting::JournalEntry;
use pos_domain::customer::Customer;
use pos_domain::record::{Chain, timestamp};
use pos_domain::web_order::WebOrder;
use pos_domain::wire::{ChainBatch, CustomersUploadResponse, UploadResponse};

use super::{NewChange, Result, StoreError, TillAuth, clock_skew_ms};
use crate::arrival::Place;
use pos_hq_core::accounting::{self, PendingClosure};
use pos_hq_core::crm::{self, ClockAlarm, ContactOrigin, CustomerState};
use pos_hq_core::derive::{IngestWrites, ingest_writes};
use pos_hq_core::events::{self, OutboxEvent, OutboxRow};
use pos_hq_core::ingest::{self, Accepted, ChainPlan, CheckedBatches, Held, NewAlarm};
use pos_hq_core::rollup::{RollupDelta, RollupKey};
use pos_hq_core::signatures::PendingSignatures;
use pos_hq_core::stock::{self, StockKey};
use pos_hq_core::stored_value::{self, HistoryRow, Instrument};
use pos_hq_core::web_orders::{self, TillActionWrites};

/// The storage verbs of one upload's transaction. Every verb reads or writes within that
/// transaction; none decides anything (the decisions are in [`pos_hq_core::ingest`] and the pure modules
/// it calls).
// `async fn` in a trait: the futures' `Send` cannot be required here, but each backend's
// futures are `Send` or not by themselves, and [`ingest`] is called with a concrete backend.
#[allow(async_fn_in_trait)]
pub trait IngestTx {
    /// Serializes the uploads of one till until the transaction ends.
    async fn lock_till(&mut self, till_id: &str) -> Result<()>;
    /// The held head (sequence, hash) of each chain, in the order of `chains`.
    async fn chain_heads(
        &mut self,
        till_id: &str,
        chains: &[Chain],
    ) -> Result<Vec<Option<(u64, String)>>>;
    /// The hashes of the held records of `chain` among `seqs`, by sequence.
    async fn record_hashes(
        &mut self,
        till_id: &str,
        chain: Chain,
        seqs: &[u64],
    ) -> Result<BTreeMap<u64, String>>;
    /// Stores accepted records of `chain`.
    async fn insert_records(
        &mut self,
        till_id: &str,
        chain: Chain,
        records: &[Accepted],
        received_at: &str,
    ) -> Result<()>;
    /// Moves chain heads (chain, sequence, hash).
    async fn upsert_heads(&mut self, till_id: &str, heads: &[(Chain, u64, &str)]) -> Result<()>;
    /// The stored bodies of the web orders `ids` that exist, by id, each held until the
    /// transaction ends.
    async fn web_order_bodies(&mut self, ids: &[String]) -> Result<BTreeMap<String, String>>;
    /// Stores web orders' new states.
    async fn save_web_orders(&mut self, orders: &[WebOrder], now: DateTime<Utc>) -> Result<()>;
    /// Writes entries of the changes feed, each with a new version (see
    /// [`super::Store::put_changes`]).
    async fn put_changes(&mut self, changes: &[NewChange]) -> Result<u64>;
    /// How many alarms the till raised after `since` (canonical UTC).
    async fn alarms_raised_since(&mut self, till_id: &str, since: &str) -> Result<u64>;
    /// Stores alarms, each unless the same one is held; says, per alarm, whether it was new.
    async fn insert_alarms(
        &mut self,
        till_id: &str,
        alarms: &[NewAlarm],
        raised_at: &str,
    ) -> Result<Vec<bool>>;
    /// Adds deltas to the sales rollup rows. Every upload of a day adds to the same chain-wide
    /// rows: called once per upload, just before [`IngestTx::insert_outbox_events`], so a
    /// backend that serializes both holds its lock for the end of the transaction only.
    async fn add_rollups(&mut self, rollups: &BTreeMap<RollupKey, RollupDelta>) -> Result<()>;
    /// Records the till's contact at `at`, its clock skew and its software (each kept when
    /// `None`).
    async fn touch_till(
        &mut self,
        till_id: &str,
        at: &str,
        clock_skew_ms: Option<i64>,
        software: Option<&str>,
    ) -> Result<()>;
    /// Records day closures waiting for their entries.
    async fn add_pending_closures(
        &mut self,
        till_id: &str,
        closures: &[PendingClosure],
    ) -> Result<()>;
    /// The till's day closures waiting for their entries, by closure sequence.
    async fn pending_closures(&mut self, till_id: &str) -> Result<Vec<PendingClosure>>;
    /// The `through_cash` of the till's last entry posted before closure `closure_seq` (0 if
    /// none).
    async fn posted_through_cash(&mut self, till_id: &str, closure_seq: u64) -> Result<u64>;
    /// The stored bodies of the till's records of `chain` with `after < seq <= through`, by
    /// sequence.
    async fn record_bodies(
        &mut self,
        till_id: &str,
        chain: Chain,
        after: u64,
        through: u64,
    ) -> Result<Vec<Vec<u8>>>;
    /// Stores a closure's daily entry and drops it from the pending ones.
    async fn post_entry(&mut self, posted: &PostedEntry<'_>) -> Result<()>;
    /// The stored states of the customers `ids` (contact details included), by id. Customers
    /// are shared by every till: the backend serializes this read with its write, customer by
    /// customer (two uploads naming different customers do not wait for each other).
    async fn customer_states(&mut self, ids: &[&str]) -> Result<BTreeMap<String, CustomerState>>;
    /// Stores customers' figures (first shop and visit, last purchase, tickets, total,
    /// version), leaving their contact details.
    async fn save_customer_figures(&mut self, states: &[&CustomerState]) -> Result<()>;
    /// The products among `ids` whose stock the catalog says is not kept (services, fees).
    async fn products_not_kept(&mut self, ids: &[&str]) -> Result<BTreeSet<String>>;
    /// The stored stock lines among `keys` (serialized line by line, as customers are).
    async fn stock_lines(
        &mut self,
        keys: &[&StockKey],
    ) -> Result<BTreeMap<StockKey, stock::Stored>>;
    /// Stores stock lines.
    async fn save_stock_lines(&mut self, lines: &BTreeMap<StockKey, stock::Stored>) -> Result<()>;
    /// Per (line, count start), the sum of the on-hand movements stored for the line dated
    /// after the start (lines without any are left out).
    async fn stock_moved_after(
        &mut self,
        starts: &[(StockKey, String)],
    ) -> Result<BTreeMap<(StockKey, String), i64>>;
    /// What each of the web orders `order_ids` still holds reserved, per stock line (orders
    /// holding nothing are left out).
    async fn stock_reserved_for(
        &mut self,
        order_ids: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<StockKey, i64>>>;
    /// The handsets among `imeis` head office holds, by IMEI.
    async fn serials(&mut self, imeis: &[String]) -> Result<BTreeMap<String, stock::SerialState>>;
    /// Stores handsets' states.
    async fn save_serials(&mut self, serials: &BTreeMap<String, stock::SerialState>) -> Result<()>;
    /// Records the goods receipts naming a shipping notice, each measured against head
    /// office's copy of its notice; returns each notice with its receipt newly recorded (the
    /// first receipt of a notice is kept; one naming an unknown notice is left out).
    async fn record_notice_receipts(
        &mut self,
        receipts: &[pos_hq_core::logistics::ReceiptAgainstNotice],
        recorded_at: &str,
    ) -> Result<
        Vec<(
            pos_domain::stock::ShippingNotice,
            pos_hq_core::logistics::NoticeReceipt,
        )>,
    >;
    /// Appends stock movements (each with its kind and source), recorded at `recorded_at`.
    async fn insert_stock_movements(
        &mut self,
        movements: &[stock::Movement],
        recorded_at: &str,
    ) -> Result<()>;
    /// The stored credit notes and gift cards among `numbers`, by number, each held until the
    /// transaction ends (instruments are shared by every till, as customers are).
    async fn instruments(&mut self, numbers: &[String]) -> Result<BTreeMap<String, Instrument>>;
    /// Stores instruments' new states and appends their history rows.
    async fn save_instruments(
        &mut self,
        instruments: &BTreeMap<String, Instrument>,
        history: &[HistoryRow],
    ) -> Result<()>;
    /// Ends, per redemption the till recorded, the online hold it names (else the till's
    /// oldest hold of that number): the redemption it held for is recorded, the balance now
    /// counts it.
    async fn settle_holds(
        &mut self,
        till_id: &str,
        redeemed: &[pos_hq_core::stored_value::Redeemed],
    ) -> Result<()>;
    /// Indexes returns under their original ticket and ends the reservations of this till
    /// on those originals (the return they reserved for is recorded).
    async fn index_returns(
        &mut self,
        till_id: &str,
        returns: &[pos_hq_core::returns::NamedReturn],
    ) -> Result<()>;
    /// The (till, ticket sequence) of every return indexed under each of the original
    /// tickets `originals` (till, sequence), by original (originals without any are left out).
    async fn returns_of(
        &mut self,
        originals: &[TicketRef],
    ) -> Result<BTreeMap<TicketRef, Vec<TicketRef>>>;
    /// The stored bodies of the held tickets among `tickets` (till, sequence), by ticket.
    async fn ticket_bodies(
        &mut self,
        tickets: &[TicketRef],
    ) -> Result<BTreeMap<TicketRef, Vec<u8>>>;
    /// Which of the till's tickets `seqs` have returns indexed under them.
    async fn tickets_with_returns(&mut self, till_id: &str, seqs: &[u64]) -> Result<Vec<u64>>;
    /// Appends events to the outbox, in order (an event id already written is skipped).
    async fn insert_outbox_events(&mut self, events: &[OutboxRow]) -> Result<()>;

    // The customers a till uploads (see [`put_customers`]).

    /// Serializes writers of the changes feed until the transaction ends. Taken before
    /// anything shared by every till (customers), in the order every writer takes them.
    async fn lock_feed(&mut self) -> Result<()>;
    /// The customers among `ids` erased at head office.
    async fn erased_customers(&mut self, ids: &[&str]) -> Result<BTreeSet<String>>;
    /// Stores customers' contact details (and their version), made by the till of `origin`.
    async fn save_customer_contacts(
        &mut self,
        states: &[&CustomerState],
        origin: &ContactOrigin,
    ) -> Result<()>;
    /// Stores the alarms of changes of details dated too far ahead, each unless the same one
    /// is held; says, per alarm, whether it was new.
    async fn insert_clock_alarms(
        &mut self,
        till_id: &str,
        alarms: &[ClockAlarm],
        raised_at: &str,
    ) -> Result<Vec<bool>>;
}

/// A ticket of any till: (till, sequence in its ticket chain).
pub type TicketRef = (String, u64);

/// A daily entry to store (see [`IngestTx::post_entry`]).
pub struct PostedEntry<'a> {
    pub till_id: &'a str,
    pub shop_id: &'a str,
    pub closure_seq: u64,
    pub through_cash: u64,
    pub entry: &'a JournalEntry,
    pub posted_at: &'a str,
}

/// The fewest records an upload has for its signatures to be checked beside its writes
/// ([`CheckedUpload::read`]) rather than before its transaction ([`CheckedUpload::check`]).
const CHECK_BESIDE_FROM: usize = 64;

/// Whether the signatures of `batches` are best checked beside the upload's writes: for a
/// large upload (a catch-up), the writes then take the time of the checks instead of adding
/// to it; a small one (a till in step, a few records a minute) is checked first, so its
/// transaction, and the till's lock it holds, is not kept open while they are.
pub fn check_beside_writes(batches: &[ChainBatch]) -> bool {
    batches.iter().map(|b| b.records.len()).sum::<usize>() >= CHECK_BESIDE_FROM
}

/// A verdict on an upload's signatures (true: all valid), which [`ingest()`] awaits before the
/// writes every upload shares.
pub type Verdict = std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>;

/// Checks and ingests an upload of `till`: the order of an upload's checks, written once for
/// every backend. `write` runs [`ingest()`] in one transaction of the backend with the verdict
/// it is given, and commits when it answers `Some`. A catch-up ([`check_beside_writes`]) is
/// read, then written while its signatures are checked on other threads; if one fails, the
/// writes are undone and the upload is checked record by record and written again. Any other
/// upload is checked first. Reading and checking run on the blocking pool, off the async
/// workers, as soon as the upload arrives; writing waits for the till's uploads that arrived
/// before it ([`crate::arrival`]). An upload that arrived before the one it follows (a till
/// sends two at once) finds a gap: it goes behind the uploads of its till that arrived after
/// it and is written again.
pub async fn check_and_ingest<W, F>(
    till: &TillAuth,
    batches: Vec<ChainBatch>,
    mut write: W,
) -> Result<UploadResponse>
where
    W: FnMut(CheckedUpload, Verdict) -> F,
    F: std::future::Future<Output = Result<Option<UploadResponse>>>,
{
    let mut place = Place::take(&till.till_id);
    for _ in 1..OVERTAKEN_RETRIES {
        let answer = check_and_write(till, batches.clone(), &mut place, &mut write).await?;
        if !(has_gap(&answer) && place.someone_behind()) {
            return Ok(answer);
        }
        // Behind them now; the old place, dropped here, lets them write.
        place = Place::take(&till.till_id);
    }
    check_and_write(till, batches, &mut place, &mut write).await
}

/// How many times an upload that found a gap, with uploads of its till queued behind it, is
/// written: one of those is the upload it follows, at most one upload back when a till sends
/// two at once.
const OVERTAKEN_RETRIES: usize = 3;

fn has_gap(answer: &UploadResponse) -> bool {
    answer
        .chains
        .iter()
        .any(|c| matches!(c.outcome, pos_domain::wire::ChainOutcome::Gap { .. }))
}

/// One attempt of [`check_and_ingest`]: reads or checks the upload, waits for its turn, writes.
async fn check_and_write<W, F>(
    till: &TillAuth,
    mut batches: Vec<ChainBatch>,
    place: &mut Place,
    write: &mut W,
) -> Result<UploadResponse>
where
    W: FnMut(CheckedUpload, Verdict) -> F,
    F: std::future::Future<Output = Result<Option<UploadResponse>>>,
{
    let mut timer = StepTimer::start();
    if check_beside_writes(&batches) {
        // Kept for the rare upload with a bad signature, ingested again from a full check.
        let again = batches.clone();
        let reading = till.clone();
        let (upload, signatures) =
            on_blocking_pool(move || CheckedUpload::read(&reading, batches)).await?;
        timer.mark("read");
        let valid = tokio::task::spawn_blocking(move || {
            signatures
                .verify(pos_hq_core::signatures::default_threads())
                .all_valid()
        });
        place.turn().await;
        timer.mark("turn");
        let answer = write(upload, Box::pin(async { valid.await.unwrap_or(false) })).await?;
        timer.mark("write+commit");
        if let Some(answer) = answer {
            timer.report(&till.till_id);
            return Ok(answer);
        }
        batches = again;
    }
    let checking = till.clone();
    let checked = on_blocking_pool(move || CheckedUpload::check(&checking, batches)).await?;
    timer.mark("check");
    place.turn().await;
    timer.mark("turn");
    let answer = write(checked, Box::pin(async { true }))
        .await?
        .ok_or_else(|| StoreError::Database("a checked upload was refused".into()))?;
    timer.mark("write+commit");
    timer.report(&till.till_id);
    Ok(answer)
}

async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Database(e.to_string()))
}

/// An upload whose signatures were checked, ready for [`ingest()`].
pub struct CheckedUpload {
    pub batches: Vec<ChainBatch>,
    pub checked: CheckedBatches,
}

impl CheckedUpload {
    /// Checks the signatures of an upload of `till` (CPU work, on every core: run it off the
    /// async workers and before the transaction).
    pub fn check(till: &TillAuth, batches: Vec<ChainBatch>) -> CheckedUpload {
        let checked = CheckedBatches::check(&till.public_key, &batches);
        CheckedUpload { batches, checked }
    }

    /// Reads an upload of `till` with every signature taken as valid (CPU work, on every core:
    /// run it off the async workers and before the transaction), for
    /// [`ingest()`] with the [`PendingSignatures`] returned being checked.
    pub fn read(till: &TillAuth, batches: Vec<ChainBatch>) -> (CheckedUpload, PendingSignatures) {
        let (checked, pending) = CheckedBatches::read(&till.public_key, &batches);
        (CheckedUpload { batches, checked }, pending)
    }
}

/// Ingests an upload in the caller's transaction (see the module docs); the caller commits.
/// `till_clock` is the till's clock when it sent the upload, if it said. `signatures` says
/// whether every signature of the upload is valid: `async { true }` for an upload from
/// [`CheckedUpload::check`], or the check of the [`PendingSignatures`] of
/// [`CheckedUpload::read`], running meanwhile. It is awaited before the writes every upload
/// shares; `None` when a signature is not valid: the caller rolls the transaction back and
/// ingests the upload again from [`CheckedUpload::check`], which judges each record.
pub async fn ingest(
    tx: &mut impl IngestTx,
    till: &TillAuth,
    upload: CheckedUpload,
    signatures: impl std::future::Future<Output = bool>,
    now: DateTime<Utc>,
    till_clock: Option<DateTime<Utc>>,
) -> Result<Option<UploadResponse>> {
    let mut timer = StepTimer::start();
    tx.lock_till(&till.till_id).await?;
    timer.mark("lock");
    let plans = plan(tx, till, upload).await?;
    timer.mark("plan");
    let writes = ingest_writes(&till.shop_id, &plans);
    timer.mark("derive");
    let received_at = timestamp::format(&now);
    store_records(tx, till, &plans, &received_at).await?;
    timer.mark("records");
    let orders = apply_till_actions(tx, till, &plans, now).await?;
    timer.mark("orders");
    let mut feed_events = apply_customers(tx, &writes).await?;
    timer.mark("customers");
    feed_events.extend(apply_stock(tx, &writes, &orders, &received_at).await?);
    timer.mark("stock");
    let mut money = apply_stored_value(tx, till, &writes, &received_at).await?;
    timer.mark("stored value");
    money.alarms.extend(index_returns(tx, till, &writes).await?);
    timer.mark("returns");
    money.alarms.extend(apply_serials(tx, &writes).await?);
    timer.mark("serials");
    if !writes.notice_receipts.is_empty() {
        let received = tx
            .record_notice_receipts(&writes.notice_receipts, &received_at)
            .await?;
        money.events.extend(
            received
                .iter()
                .map(|(notice, receipt)| pos_hq_core::logistics::notice_received(notice, receipt)),
        );
        timer.mark("notices");
    }
    let alarm_events = raise_alarms(tx, till, &writes, &orders, &money.alarms, now).await?;
    timer.mark("alarms");
    tx.touch_till(
        &till.till_id,
        &received_at,
        clock_skew_ms(now, till_clock),
        writes.software.as_deref(),
    )
    .await?;
    let entry_events = post_entries(tx, till, &plans, &received_at).await?;
    timer.mark("till+entries");
    if !signatures.await {
        return Ok(None);
    }
    timer.mark("signatures");
    // What every upload shares, last (see the module docs).
    if !writes.rollups.is_empty() {
        tx.add_rollups(&writes.rollups).await?;
    }
    timer.mark("rollups");
    let mut events = writes.events;
    events.extend(
        money
            .events
            .into_iter()
            .chain(alarm_events)
            .chain(entry_events)
            .chain(orders.events)
            .chain(feed_events)
            .map(OutboxEvent::into_row),
    );
    if !events.is_empty() {
        tx.insert_outbox_events(&events).await?;
    }
    timer.mark("outbox");
    timer.report(&till.till_id);
    Ok(Some(UploadResponse {
        chains: plans.into_iter().map(|p| p.ack).collect(),
    }))
}

/// Where an upload's time goes, step by step, printed to standard error (one line per upload)
/// when the environment variable `SYNC_SERVER_INGEST_TIMING` is set: a profile of ingest
/// without a profiler. Costs nothing otherwise. Backends time their own steps around
/// [`ingest()`] (the signature checks, the commit) with it too.
pub struct StepTimer {
    last: Instant,
    steps: Vec<(&'static str, Duration)>,
}

impl StepTimer {
    /// Starts timing (a no-op unless `SYNC_SERVER_INGEST_TIMING` is set).
    pub fn start() -> StepTimer {
        StepTimer {
            last: Instant::now(),
            steps: Vec::new(),
        }
    }

    /// Ends the step `name`, started when the previous one ended.
    pub fn mark(&mut self, name: &'static str) {
        if timing_on() {
            let now = Instant::now();
            self.steps.push((name, now - self.last));
            self.last = now;
        }
    }

    /// Prints the steps of `what` (`ingest TILL: plan 1.2 ms, ...`).
    pub fn report(&self, what: &str) {
        if timing_on() {
            let steps: Vec<String> = self
                .steps
                .iter()
                .map(|(name, took)| format!("{name} {:.2} ms", took.as_secs_f64() * 1e3))
                .collect();
            eprintln!("ingest {what}: {}", steps.join(", "));
        }
    }
}

fn timing_on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("SYNC_SERVER_INGEST_TIMING").is_some())
}

/// Reads what is held of each chain of the upload and plans it.
async fn plan(
    tx: &mut impl IngestTx,
    till: &TillAuth,
    mut upload: CheckedUpload,
) -> Result<Vec<ChainPlan>> {
    let chains: Vec<Chain> = upload.batches.iter().map(|b| b.chain).collect();
    let heads = tx.chain_heads(&till.till_id, &chains).await?;
    let mut plans = Vec::with_capacity(upload.batches.len());
    for (index, (batch, head)) in upload.batches.iter().zip(heads).enumerate() {
        let head_seq = head.as_ref().map(|h| h.0).unwrap_or(0);
        let seqs = ingest::held_sequences(&batch.records, head_seq);
        let hashes = if seqs.is_empty() {
            BTreeMap::new()
        } else {
            tx.record_hashes(&till.till_id, batch.chain, &seqs).await?
        };
        plans.push(ingest::plan_chain(
            till.public_key,
            &till.till_id,
            batch.chain,
            &Held { head, hashes },
            &batch.records,
            upload.checked.take_batch(index),
        ));
    }
    Ok(plans)
}

/// Stores the accepted records and moves the chain heads.
async fn store_records(
    tx: &mut impl IngestTx,
    till: &TillAuth,
    plans: &[ChainPlan],
    received_at: &str,
) -> Result<()> {
    for plan in plans.iter().filter(|p| !p.accepted.is_empty()) {
        tx.insert_records(&till.till_id, plan.chain, &plan.accepted, received_at)
            .await?;
    }
    let heads: Vec<(Chain, u64, &str)> = plans
        .iter()
        .filter_map(|p| p.new_head().map(|(seq, hash)| (p.chain, seq, hash)))
        .collect();
    if !heads.is_empty() {
        tx.upsert_heads(&till.till_id, &heads).await?;
    }
    Ok(())
}

/// Applies the web-order records of an upload: loads the orders they name, plans (see
/// [`web_orders::plan_till_actions`]), and saves the orders and feed entries. The caller
/// writes the returned events and alarms.
async fn apply_till_actions(
    tx: &mut impl IngestTx,
    till: &TillAuth,
    plans: &[ChainPlan],
    now: DateTime<Utc>,
) -> Result<TillActionWrites> {
    let mut ids = web_orders::orders_named(plans);
    if ids.is_empty() {
        return Ok(TillActionWrites::default());
    }
    ids.sort();
    ids.dedup();
    let known = web_orders::known_orders(tx.web_order_bodies(&ids).await?);
    let writes = web_orders::plan_till_actions(till, plans, known, now);
    if !writes.orders.is_empty() {
        tx.save_web_orders(&writes.orders, now).await?;
    }
    tx.put_changes(&writes.changes).await?;
    Ok(writes)
}

/// Applies the upload's stored-value movements to the instruments' balances and history and
/// settles the holds its redemptions were made under (see [`pos_hq_core::stored_value`]); the
/// caller writes the returned events and alarms.
async fn apply_stored_value(
    tx: &mut impl IngestTx,
    till: &TillAuth,
    writes: &IngestWrites,
    now: &str,
) -> Result<stored_value::Applied> {
    let moves = &writes.instrument_moves;
    if moves.is_empty() {
        return Ok(stored_value::Applied::default());
    }
    let mut instruments = tx.instruments(&stored_value::numbers(moves)).await?;
    let applied = stored_value::apply(&mut instruments, moves, now);
    tx.save_instruments(&instruments, &applied.history).await?;
    if !applied.redeemed.is_empty() {
        tx.settle_holds(&till.till_id, &applied.redeemed).await?;
    }
    Ok(applied)
}

/// Indexes the upload's returns under their originals and checks each original they name,
/// and each sale of the upload that returns synced earlier name, against every return the
/// chain holds; returns an over-return alarm per ticket the chain gave back more of than it
/// sold.
async fn index_returns(
    tx: &mut impl IngestTx,
    till: &TillAuth,
    writes: &IngestWrites,
) -> Result<Vec<NewAlarm>> {
    use pos_hq_core::returns::NamedReturn;
    let mut checks: Vec<NamedReturn> = writes.returns.clone();
    if !writes.returns.is_empty() {
        tx.index_returns(&till.till_id, &writes.returns).await?;
    }
    // A sale synced after returns made against it elsewhere is checked now.
    if !writes.sold.is_empty() {
        let seqs: Vec<u64> = writes.sold.iter().map(|(seq, _)| *seq).collect();
        let returned = tx.tickets_with_returns(&till.till_id, &seqs).await?;
        checks.extend(
            writes
                .sold
                .iter()
                .filter(|(seq, _)| returned.contains(seq))
                .map(|(seq, hash)| NamedReturn {
                    original_till: till.till_id.clone(),
                    original_ticket: *seq,
                    seq: *seq,
                    hash: hash.clone(),
                }),
        );
    }
    over_return_alarms(tx, &checks).await
}

/// The over-return alarm of each original `checks` name, on the check's record, if the returns
/// held give back more than it sold (an original not held yet is checked when it arrives).
/// Two reads whatever the number of checks: the returns of every original, then the bodies of
/// the originals and their returns.
async fn over_return_alarms(
    tx: &mut impl IngestTx,
    checks: &[pos_hq_core::returns::NamedReturn],
) -> Result<Vec<NewAlarm>> {
    if checks.is_empty() {
        return Ok(Vec::new());
    }
    let originals: BTreeSet<TicketRef> = checks
        .iter()
        .map(|r| (r.original_till.clone(), r.original_ticket))
        .collect();
    let originals: Vec<TicketRef> = originals.into_iter().collect();
    let returns = tx.returns_of(&originals).await?;
    let mut wanted: BTreeSet<TicketRef> = originals.iter().cloned().collect();
    wanted.extend(returns.values().flatten().cloned());
    let wanted: Vec<TicketRef> = wanted.into_iter().collect();
    let tickets: BTreeMap<TicketRef, pos_domain::ticket::Ticket> = tx
        .ticket_bodies(&wanted)
        .await?
        .into_iter()
        .filter_map(|(key, body)| Some((key, read_ticket(&body)?)))
        .collect();
    let mut alarms = Vec::new();
    for r in checks {
        let key = (r.original_till.clone(), r.original_ticket);
        let Some(original) = tickets.get(&key) else {
            continue;
        };
        let held: Vec<pos_domain::ticket::Ticket> = returns
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|k| tickets.get(k).cloned())
            .collect();
        alarms.extend(over_return_alarm(r, original, &held));
    }
    Ok(alarms)
}

/// The over-return alarm of the original `r` names, on `r`'s record, if the `returns` held
/// give back more than `original` sold.
fn over_return_alarm(
    r: &pos_hq_core::returns::NamedReturn,
    original: &pos_domain::ticket::Ticket,
    returns: &[pos_domain::ticket::Ticket],
) -> Option<NewAlarm> {
    let over = pos_hq_core::returns::over_returned(original, returns);
    if over.is_empty() {
        return None;
    }
    let lines: Vec<String> = over
        .iter()
        .map(|(line, n)| format!("line {line}: {n} more than sold"))
        .collect();
    Some(NewAlarm {
        chain: Chain::Ticket,
        seq: r.seq,
        kind: ingest::AlarmKind::OverReturned,
        reason: format!(
            "ticket {} of till {} was returned beyond what it sold ({}), by returns made at \
             several tills without head office's answer: the refunds were given, check the \
             goods taken back",
            r.original_ticket,
            r.original_till,
            lines.join(", ")
        ),
        received: Vec::new(),
        received_hash: r.hash.clone(),
    })
}

/// A held ticket read from its stored record (`None`: not a ticket).
fn read_ticket(body: &[u8]) -> Option<pos_domain::ticket::Ticket> {
    pos_domain::record::SignedRecord::from_stored(body)
        .ok()
        .and_then(|signed| pos_hq_core::rollup::parse_ticket(&signed).ok().flatten())
}

/// Moves the handsets the upload's records name (see [`stock::apply_serials`]); returns the
/// alarm of each handset sold again.
async fn apply_serials(tx: &mut impl IngestTx, writes: &IngestWrites) -> Result<Vec<NewAlarm>> {
    if writes.serials.is_empty() {
        return Ok(Vec::new());
    }
    let mut imeis: Vec<String> = writes.serials.iter().map(|m| m.imei.clone()).collect();
    imeis.sort();
    imeis.dedup();
    let mut held = tx.serials(&imeis).await?;
    let alarms = stock::apply_serials(&mut held, &writes.serials);
    tx.save_serials(&held).await?;
    Ok(alarms)
}

/// Stores the upload's alarms and the orders', within the till's hourly bound; returns the
/// events of the new ones.
async fn raise_alarms(
    tx: &mut impl IngestTx,
    till: &TillAuth,
    writes: &IngestWrites,
    orders: &TillActionWrites,
    money: &[NewAlarm],
    now: DateTime<Utc>,
) -> Result<Vec<OutboxEvent>> {
    let raised: Vec<&NewAlarm> = writes
        .alarms
        .iter()
        .chain(&orders.alarms)
        .chain(money)
        .collect();
    if raised.is_empty() {
        return Ok(Vec::new());
    }
    let last_hour = timestamp::format(&(now - chrono::Duration::hours(1)));
    let raised_last_hour = tx.alarms_raised_since(&till.till_id, &last_hour).await?;
    let hour = now.format("%Y-%m-%dT%H").to_string();
    let admitted = ingest::admit_alarms(&till.till_id, raised, raised_last_hour, &hour);
    let new = tx
        .insert_alarms(&till.till_id, &admitted, &timestamp::format(&now))
        .await?;
    Ok(admitted
        .iter()
        .zip(new)
        .filter(|(_, new)| *new)
        .map(|(alarm, _)| events::alarm_raised(&till.shop_id, &till.till_id, alarm, now))
        .collect())
}

/// Records the day closures of this upload as pending and posts every pending closure of the
/// till whose cash records are now held (see [`pos_hq_core::accounting`]); returns their events.
async fn post_entries(
    tx: &mut impl IngestTx,
    till: &TillAuth,
    plans: &[ChainPlan],
    posted_at: &str,
) -> Result<Vec<OutboxEvent>> {
    let closures: Vec<PendingClosure> = plans
        .iter()
        .flat_map(|p| &p.accepted)
        .filter_map(|a| accounting::day_closure(&a.record))
        .collect();
    if !closures.is_empty() {
        tx.add_pending_closures(&till.till_id, &closures).await?;
    }
    let cash_head = tx.chain_heads(&till.till_id, &[Chain::Cash]).await?;
    let cash_head = cash_head.first().cloned().flatten().map_or(0, |h| h.0);
    let mut out = Vec::new();
    for pending in tx.pending_closures(&till.till_id).await? {
        if pending.through_cash > cash_head {
            break;
        }
        let previous = tx.posted_through_cash(&till.till_id, pending.seq).await?;
        let closure = tx
            .record_bodies(&till.till_id, Chain::Closure, pending.seq - 1, pending.seq)
            .await?
            .pop()
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "till {}: the day closure {} waits for its entry but is not stored",
                    till.till_id, pending.seq
                ))
            })?;
        let cash = tx
            .record_bodies(&till.till_id, Chain::Cash, previous, pending.through_cash)
            .await?;
        let (_, _, entry) = match accounting::post(&till.till_id, &till.shop_id, &closure, &cash) {
            Ok(posted) => posted,
            Err(e) => {
                tracing::warn!(till = %till.till_id, seq = pending.seq, "day closure left pending: {e}");
                break;
            }
        };
        tx.post_entry(&PostedEntry {
            till_id: &till.till_id,
            shop_id: &till.shop_id,
            closure_seq: pending.seq,
            through_cash: pending.through_cash,
            entry: &entry,
            posted_at,
        })
        .await?;
        out.push(accounting::entry_posted(
            &till.shop_id,
            &till.till_id,
            pending.seq,
            &entry,
        ));
    }
    Ok(out)
}

/// Applies the upload's customer tickets to the stored customers (see [`pos_hq_core::crm`]);
/// returns their events.
async fn apply_customers(
    tx: &mut impl IngestTx,
    writes: &IngestWrites,
) -> Result<Vec<OutboxEvent>> {
    let mut out = Vec::new();
    if !writes.customers.is_empty() {
        let ids: Vec<&str> = writes
            .customers
            .iter()
            .map(|t| t.customer.as_str())
            .collect();
        let mut states = tx.customer_states(&ids).await?;
        out.extend(crm::apply(&mut states, &writes.customers));
        let states: Vec<&CustomerState> = states.values().collect();
        tx.save_customer_figures(&states).await?;
    }
    Ok(out)
}

/// Applies the upload's stock movements, counts and the reservations of the web orders it
/// ends to the stored stock lines (see [`pos_hq_core::stock`]); returns their events.
async fn apply_stock(
    tx: &mut impl IngestTx,
    writes: &IngestWrites,
    orders: &TillActionWrites,
    now: &str,
) -> Result<Vec<OutboxEvent>> {
    let mut out = Vec::new();
    let mut planned = writes.stock.clone();
    if !planned.is_empty() {
        let products = stock::products(planned.iter().map(stock::Planned::key));
        let not_kept = tx.products_not_kept(&products).await?;
        if !not_kept.is_empty() {
            planned.retain(|p| !not_kept.contains(&p.key().product_id));
        }
    }
    // A reservation made before its product stopped being kept is still ended.
    let ends = stock::reservation_ends(&orders.orders);
    if !ends.is_empty() {
        let ids: Vec<String> = ends.iter().map(|(id, _, _)| id.clone()).collect();
        let held = tx.stock_reserved_for(&ids).await?;
        for (id, kind, paid_online) in &ends {
            let Some(held) = held.get(id) else { continue };
            planned.extend(
                stock::end_reservation(id, held, *kind, *paid_online, now)
                    .into_iter()
                    .map(stock::Planned::Move),
            );
        }
    }
    if !planned.is_empty() {
        // Each line once: a catch-up moves a few dozen lines a thousand times.
        let keys: BTreeSet<&StockKey> = planned.iter().map(stock::Planned::key).collect();
        let keys: Vec<&StockKey> = keys.into_iter().collect();
        let mut lines = tx.stock_lines(&keys).await?;
        let starts = stock::count_starts(&planned);
        let moved_after = if starts.is_empty() {
            BTreeMap::new()
        } else {
            tx.stock_moved_after(&starts).await?
        };
        let applied = stock::apply(&mut lines, &moved_after, planned, now);
        tx.save_stock_lines(&lines).await?;
        tx.insert_stock_movements(&applied.movements, now).await?;
        out.extend(applied.events);
    }
    Ok(out)
}

/// Stores the customers a till uploaded, in the caller's transaction (see
/// [`super::Store::put_customers`]): each one later than head office's copy replaces it, with
/// the shop and till that sent it, goes to the till's shop through the changes feed and makes
/// a customer event; one dated too far past `now` is taken as made at `now` and alarmed
/// ([`crm::apply_contacts`]); an erased customer or an older change changes nothing.
pub async fn put_customers(
    tx: &mut impl IngestTx,
    till: &TillAuth,
    uploaded: &[Customer],
    now: DateTime<Utc>,
) -> Result<CustomersUploadResponse> {
    tx.lock_feed().await?;
    let ids: Vec<&str> = uploaded.iter().map(|c| c.id.as_str()).collect();
    let erased = tx.erased_customers(&ids).await?;
    let kept: Vec<Customer> = uploaded
        .iter()
        .filter(|c| !erased.contains(&c.id))
        .cloned()
        .collect();
    let kept_ids: Vec<&str> = kept.iter().map(|c| c.id.as_str()).collect();
    let mut states = tx.customer_states(&kept_ids).await?;
    let origin = ContactOrigin::new(&till.shop_id, &till.till_id, now);
    let crm::AppliedContacts {
        mut events,
        changed,
        alarms,
    } = crm::apply_contacts(&mut states, &origin, now, &kept);
    let mut saved = BTreeSet::new();
    let to_save: Vec<&CustomerState> = changed
        .iter()
        .filter(|c| saved.insert(c.id.clone()))
        .map(|c| &states[&c.id])
        .collect();
    if !to_save.is_empty() {
        tx.save_customer_contacts(&to_save, &origin).await?;
    }
    if !alarms.is_empty() {
        let new = tx
            .insert_clock_alarms(&till.till_id, &alarms, &origin.received_at)
            .await?;
        for (alarm, _) in alarms.iter().zip(new).filter(|(_, new)| *new) {
            tracing::warn!(till = %till.till_id, customer = %alarm.customer, "{}", alarm.reason);
            events.push(alarm.event(&origin));
        }
    }
    let feed: Vec<NewChange> = changed
        .iter()
        .map(|c| pos_hq_core::distribution::customer_change(&till.shop_id, c))
        .collect();
    tx.put_changes(&feed).await?;
    if !events.is_empty() {
        let rows: Vec<OutboxRow> = events.into_iter().map(OutboxEvent::into_row).collect();
        tx.insert_outbox_events(&rows).await?;
    }
    Ok(CustomersUploadResponse {
        stored: changed.len() as u64,
        unchanged: (uploaded.len() - changed.len()) as u64,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use pos_domain::record::{Signer, SoftwareKey};
    use pos_domain::wire::{ChainAck, ChainOutcome};

    use super::*;

    fn till(till_id: &str) -> TillAuth {
        TillAuth {
            till_id: till_id.into(),
            shop_id: "S".into(),
            public_key: SoftwareKey::from_secret_bytes(&[7; 32])
                .unwrap()
                .public_key(),
        }
    }

    fn answer(outcome: ChainOutcome) -> UploadResponse {
        UploadResponse {
            chains: vec![ChainAck {
                chain: Chain::Ticket,
                held: 0,
                stored: 0,
                duplicates: 0,
                outcome,
            }],
        }
    }

    #[tokio::test]
    async fn an_upload_that_overtook_the_one_it_follows_is_written_again_after_it() {
        let till = till("T-overtaken");
        let attempts = Arc::new(Mutex::new(Vec::new()));
        // The upload it follows arrives while it is being written, and is written before its
        // second attempt.
        let follows: Arc<Mutex<Option<Place>>> = Arc::new(Mutex::new(None));
        let answer = check_and_ingest(&till, Vec::new(), |_, _| {
            let (attempts, follows) = (attempts.clone(), follows.clone());
            async move {
                let mut attempts = attempts.lock().unwrap();
                attempts.push(follows.lock().unwrap().is_some());
                if attempts.len() == 1 {
                    *follows.lock().unwrap() = Some(Place::take("T-overtaken"));
                    let follows = follows.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        // Written: its place is dropped.
                        follows.lock().unwrap().take();
                    });
                    return Ok(Some(answer(ChainOutcome::Gap { expected: 1 })));
                }
                Ok(Some(answer(ChainOutcome::Ok)))
            }
        })
        .await
        .unwrap();
        assert_eq!(answer.chains[0].outcome, ChainOutcome::Ok);
        // Written a second time only once the upload it follows was.
        assert_eq!(*attempts.lock().unwrap(), vec![false, false]);
    }

    #[tokio::test]
    async fn a_gap_with_no_upload_of_the_till_behind_is_answered_at_once() {
        let till = till("T-gap");
        let mut attempts = 0;
        let answer = check_and_ingest(&till, Vec::new(), |_, _| {
            attempts += 1;
            async { Ok(Some(answer(ChainOutcome::Gap { expected: 1 }))) }
        })
        .await
        .unwrap();
        assert_eq!(answer.chains[0].outcome, ChainOutcome::Gap { expected: 1 });
        assert_eq!(attempts, 1);
    }
}
