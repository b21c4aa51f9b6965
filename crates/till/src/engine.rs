//! The till engine's API: one struct, [`Till`], that the CLI, the app and the tests all call.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction: input is checked and computed first (so a
//! refused sale writes nothing), then the record is chained, signed and committed. With WAL and
//! `synchronous=FULL`, a method that returned `Ok` has its record on disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pos_domain::clock::Clock;
use pos_domain::exchange::{ExchangeDraft, compute_exchange, quote_exchange};
use pos_domain::journal::{CashMovement, CashMovementKind, Duplicate, Event, EventKind};
use pos_domain::product::{Product, SoldBy};
use pos_domain::promotion::{Promotion, best_for};
use pos_domain::record::{Chain, Depth, PublicKey, SignedRecord, Signer, SoftwareKey, timestamp};
use pos_domain::stored_value::{InstrumentState, movements_from_tenders};
use pos_domain::ticket::{
    LineDraft, Quantity, SaleDraft, Ticket, compute_cancellation, compute_return, compute_sale,
    compute_sale_with_stored_value, default_refund, quote_sale,
};
use pos_domain::{Money, SaleError};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use serde_json::{Value, json};

use crate::catalog;
use crate::db;
use crate::error::{Result, TillError};
use crate::identity::{self, Identity, InitOptions, SettingsChange};
use crate::ledger::{self, Author, VerifyReport};
use crate::requests::{
    ExchangeRequest, RecordedTicket, ReturnRequest, SaleLineRequest, SaleRequest,
};
use crate::shop_rules;
use crate::stored_value::StoredValueRequest;

/// The software name and version written into every record.
pub const SOFTWARE: &str = concat!("pos-till ", env!("CARGO_PKG_VERSION"));

/// The most units (or grams) one line may hold (the domain's limit, see
/// [`pos_domain::limits`]).
pub use pos_domain::limits::MAX_QUANTITY;

/// Operator recorded when none is given.
pub const SYSTEM_OPERATOR: &str = "system";

/// The shop's rules a line is priced with, read once per ticket.
struct LineRules {
    vat: shop_rules::VatTable,
    promotions: Vec<Promotion>,
    day: chrono::NaiveDate,
}

/// A sale the engine priced, ready to record ([`Till::price_sale`], [`Till::record_sale`]).
/// Only the engine makes one, so a front end can read the ticket but never record one it
/// computed itself.
#[derive(Debug)]
pub struct PricedSale {
    ticket: Ticket,
    chain: Chain,
    operator: String,
    /// Head office's balances of the instruments the sale spends, checked again on record.
    balances: Vec<InstrumentState>,
}

impl PricedSale {
    /// The ticket as it will be recorded (before its chain totals).
    pub fn ticket(&self) -> &Ticket {
        &self.ticket
    }
}

/// A till: its ledger, identity, signing key and clock.
pub struct Till {
    pub(crate) conn: Connection,
    pub(crate) identity: Identity,
    key: SoftwareKey,
    pub(crate) clock: Arc<dyn Clock>,
    path: PathBuf,
    /// Perpetual totals at the head of the ticket and training chains, as last written here,
    /// so recording a ticket need not re-read and re-parse the previous one.
    ticket_heads: HashMap<Chain, TicketHead>,
    /// Where new credit-note and gift-card numbers get their randomness (injected).
    pub(crate) random: Box<dyn FnMut() -> Result<[u8; 16]> + Send>,
}

#[derive(Clone, Debug)]
struct TicketHead {
    seq: u64,
    hash: String,
    grand_total: Money,
    absolute: Money,
}

/// What a catalog import did.
#[derive(Clone, Debug, Serialize)]
pub struct ImportSummary {
    pub imported: u64,
    pub catalog_size: u64,
}

impl Till {
    /// Creates a new ledger at `path` with a key made from `secret` (32 random bytes supplied by
    /// the caller, so randomness is injected), and records the `initialized` event.
    pub fn init(
        path: &Path,
        options: InitOptions,
        clock: Arc<dyn Clock>,
        secret: [u8; 32],
    ) -> Result<Till> {
        identity::parse_timezone(&options.timezone)?;
        let key = SoftwareKey::from_secret_bytes(&secret).ok_or_else(|| {
            TillError::invalid(
                "key_invalid",
                "the random bytes do not make a key: try again",
            )
        })?;
        let mut conn = db::open(path)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: i64 = tx.query_row("SELECT count(*) FROM identity", [], |r| r.get(0))?;
        if exists > 0 {
            return Err(TillError::AlreadyInitialized(path.display().to_string()));
        }
        identity::store(&tx, &options, &key, &timestamp::format(&clock.now()))?;
        tx.commit()?;
        let mut till = Till::open(path, clock)?;
        let detail = json!({"shop": options.shop_name, "till": options.till_name, "public_key": till.identity.public_key});
        till.log_event(SYSTEM_OPERATOR, EventKind::Initialized, detail)?;
        Ok(till)
    }

    /// Opens an existing ledger.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Till> {
        if !path.exists() {
            return Err(TillError::NotInitialized(path.display().to_string()));
        }
        let conn = db::open(path)?;
        let (identity, key) = identity::load(&conn, &path.display().to_string())?;
        Ok(Till {
            conn,
            identity,
            key,
            clock,
            path: path.to_path_buf(),
            ticket_heads: HashMap::new(),
            random: Box::new(crate::system::random_id),
        })
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    pub(crate) fn signer(&self) -> &dyn Signer {
        &self.key
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Copies the write-ahead log into the database file without blocking writers. Call it
    /// when the till is idle; closures do.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Runs `write` in one immediate transaction with an [`Author`] stamped now.
    pub(crate) fn write<T>(
        &mut self,
        operator: &str,
        write: impl FnOnce(&Transaction<'_>, &Author<'_>) -> Result<T>,
    ) -> Result<T> {
        // Every record names its operator: bounded like any id, so every reader reads it.
        pos_domain::limits::check_text("the operator", operator, pos_domain::limits::MAX_ID_CHARS)
            .map_err(SaleError::from)?;
        let at = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let author = Author {
            till_id: &self.identity.till_id,
            timezone: self.identity.timezone.name(),
            software: SOFTWARE,
            operator,
            at,
            signer: &self.key,
        };
        let out = write(&tx, &author)?;
        tx.commit()?;
        Ok(out)
    }

    /// Records a technical event in the event journal.
    pub fn log_event(
        &mut self,
        operator: &str,
        kind: EventKind,
        detail: Value,
    ) -> Result<SignedRecord> {
        self.write(operator, |tx, author| {
            append_event(tx, author, kind, detail)
        })
    }

    /// What the till does when the app starts: records the start-up (and a software change if
    /// the version differs from the last start-up), then checks every chain's links and newest
    /// signature. A defect is logged as an event and returned in the report.
    pub fn start_up(&mut self) -> Result<VerifyReport> {
        // A download killed before its end left the search index to rebuild.
        self.write(SYSTEM_OPERATOR, |tx, _| {
            catalog::rebuild_search_if_stale(tx)
        })?;
        let previous = self.last_software_started()?;
        self.log_event(
            SYSTEM_OPERATOR,
            EventKind::StartUp,
            json!({"software": SOFTWARE}),
        )?;
        if let Some(previous) = previous.filter(|p| p != SOFTWARE) {
            self.log_event(
                SYSTEM_OPERATOR,
                EventKind::SoftwareVersionChanged,
                json!({"from": previous, "to": SOFTWARE}),
            )?;
        }
        self.verify(Depth::Links)
    }

    fn last_software_started(&self) -> Result<Option<String>> {
        let Some((head, _)) = ledger::head(&self.conn, Chain::Event)? else {
            return Ok(None);
        };
        for seq in (1..=head).rev() {
            if let Some(record) = ledger::get(&self.conn, Chain::Event, seq)?
                && record.record.payload.get("kind").and_then(Value::as_str) == Some("start_up")
            {
                return Ok(Some(record.record.software));
            }
        }
        Ok(None)
    }

    /// Verifies every chain; a defect is logged as an integrity-defect event.
    pub fn verify(&mut self, depth: Depth) -> Result<VerifyReport> {
        let report = ledger::verify(&self.conn, self.public_key(), &self.identity.till_id, depth)?;
        if !report.intact() {
            let defects: Vec<Value> = report
                .chains
                .iter()
                .filter_map(|c| c.defect.as_ref())
                .map(|d| json!({"chain": d.chain, "seq": d.seq, "reason": d.reason}))
                .collect();
            let detail = json!({"defects": defects, "stray_rows": report.stray_rows});
            // The report matters more than the event: if the journal itself cannot be
            // extended (its head was tampered with), still return what was found.
            if let Err(error) = self.log_event(SYSTEM_OPERATOR, EventKind::IntegrityDefect, detail)
            {
                tracing::warn!(%error, "could not log the integrity defect");
            }
        }
        Ok(report)
    }

    /// Changes shop settings and records a settings-changed event with old and new values, in
    /// one transaction. Returns what changed (nothing is recorded when nothing changes).
    pub fn change_settings(&mut self, operator: &str, change: &SettingsChange) -> Result<Value> {
        let path = self.path.display().to_string();
        let mut identity = self.identity.clone();
        let changed = self.write(operator, |tx, author| {
            // Start from the settings as stored now: another process may have changed them.
            identity = identity::load(tx, &path)?.0;
            let changed = identity::apply(tx, &mut identity, change)?;
            if changed.as_object().is_some_and(|m| !m.is_empty()) {
                append_event(tx, author, EventKind::SettingsChanged, changed.clone())?;
            }
            Ok(changed)
        })?;
        self.identity = identity;
        Ok(changed)
    }

    /// Imports products (insert or replace) and records the import as an event. A product
    /// beyond the domain's limits (see [`pos_domain::limits`]) refuses the whole import.
    pub fn import_catalog(&mut self, products: &[Product], source: &str) -> Result<ImportSummary> {
        catalog::check_limits(products)?;
        self.write(SYSTEM_OPERATOR, |tx, author| {
            catalog::upsert(tx, products, &timestamp::format(&author.at))?;
            let size = catalog::count(tx)?;
            append_event(
                tx,
                author,
                EventKind::CatalogImported,
                json!({"source": source, "products": products.len(), "catalog_size": size}),
            )?;
            Ok(ImportSummary {
                imported: products.len() as u64,
                catalog_size: size,
            })
        })
    }

    pub fn product_by_barcode(&self, code: &str) -> Result<Option<Product>> {
        catalog::by_barcode(&self.conn, code)
    }

    pub fn product_by_id(&self, id: &str) -> Result<Option<Product>> {
        catalog::by_id(&self.conn, id)
    }

    pub fn search_products(&self, text: &str, limit: usize) -> Result<Vec<Product>> {
        catalog::search(&self.conn, text, limit)
    }

    /// Categories of the catalog with their product counts.
    pub fn categories(&self) -> Result<Vec<(String, u64)>> {
        catalog::categories(&self.conn)
    }

    /// Products of one category, by label, a page at a time.
    pub fn products_in_category(
        &self,
        category: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Product>> {
        catalog::in_category(&self.conn, category, limit, offset)
    }

    /// What pricing a line needs beyond the catalog: today's VAT rates and promotions.
    fn line_rules(&self) -> Result<LineRules> {
        Ok(LineRules {
            vat: self.vat_table()?,
            promotions: self.promotions()?,
            day: self.shop_day(),
        })
    }

    fn resolve_line(
        &self,
        index: usize,
        line: &SaleLineRequest,
        rules: &LineRules,
    ) -> Result<LineDraft> {
        let product = match (&line.barcode, &line.product_id) {
            (Some(code), _) => self
                .product_by_barcode(code)?
                .ok_or_else(|| TillError::UnknownBarcode(code.clone()))?,
            (None, Some(id)) => self
                .product_by_id(id)?
                .ok_or_else(|| TillError::UnknownProduct(id.clone()))?,
            (None, None) => {
                return Err(TillError::invalid(
                    "line_without_product",
                    format!("line {}: give a barcode or a product_id", index + 1),
                ));
            }
        };
        let line_no = index as u32 + 1;
        let count = |n: i64| -> Result<u32> {
            if n <= 0 {
                return Err(SaleError::ZeroQuantity { line: line_no }.into());
            }
            if n > MAX_QUANTITY as i64 {
                let error = SaleError::QuantityTooLarge {
                    line: line_no,
                    quantity: n,
                    max: MAX_QUANTITY,
                };
                return Err(error.into());
            }
            u32::try_from(n).map_err(|_| {
                TillError::invalid(
                    "quantity_too_large",
                    format!("line {line_no}: quantity {n} is too large"),
                )
            })
        };
        let quantity = match (line.quantity, line.grams, product.sold_by) {
            (Some(_), Some(_), _) => {
                return Err(TillError::invalid(
                    "quantity_ambiguous",
                    format!("line {line_no}: give quantity or grams, not both"),
                ));
            }
            (_, Some(g), _) => Quantity::Grams(count(g)?),
            (Some(n), None, _) => Quantity::Units(count(n)?),
            (None, None, SoldBy::Unit) => Quantity::Units(1),
            (None, None, SoldBy::Weight) => {
                return Err(TillError::invalid(
                    "quantity_missing",
                    format!("line {line_no}: `{}` is weighed: give grams", product.label),
                ));
            }
        };
        let unit_price = line.unit_price.unwrap_or(product.price);
        // A discount or a price the cashier entered replaces any promotion on the line.
        let (discount, promotion) = match (line.discount, line.unit_price) {
            (None, None) => {
                match best_for(&rules.promotions, &product, quantity, unit_price, rules.day) {
                    Some((discount, promotion)) => (Some(discount), Some(promotion)),
                    None => (None, None),
                }
            }
            (discount, _) => (discount, None),
        };
        Ok(LineDraft {
            vat_rate: rules.vat.rate(product.vat_code),
            unit_price,
            quantity,
            discount,
            promotion,
            seller: line.seller.clone(),
            serials: line.serials.clone(),
            product,
        })
    }

    pub(crate) fn draft(&self, request: &SaleRequest) -> Result<SaleDraft> {
        let rules = self.line_rules()?;
        let lines = request
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| self.resolve_line(i, l, &rules))
            .collect::<Result<Vec<_>>>()?;
        // A ticket names a customer of the directory by id, never free text: their details
        // stay out of the signed record, so they can be changed or erased.
        if let Some(id) = &request.customer
            && crate::customers::by_id(&self.conn, id)?.is_none()
        {
            return Err(crate::customers::unknown(id));
        }
        Ok(SaleDraft {
            lines,
            ticket_discount: request.discount,
            tenders: request.tenders.clone(),
            customer: request.customer.clone(),
        })
    }

    /// Prices a sale without recording it or checking its tenders: what the cart shows.
    pub fn quote(&self, request: &SaleRequest) -> Result<Ticket> {
        Ok(quote_sale(self.draft(request)?)?)
    }

    /// Records a sale (or a training sale). Nothing is written if the sale is refused.
    pub fn sell(&mut self, request: &SaleRequest) -> Result<RecordedTicket> {
        let priced = self.price_sale(request)?;
        self.record_sale(priced)
    }

    /// Prices a sale with its tenders, checked as [`Till::sell`] checks them, without
    /// recording it: a front end looks at the ticket (what needs a manager) and then records
    /// this very ticket with [`Till::record_sale`], so a sale is priced once.
    pub fn price_sale(&self, request: &SaleRequest) -> Result<PricedSale> {
        self.price_sale_with(request, &StoredValueRequest::default())
    }

    /// [`Till::price_sale`] for a sale that also sells or tops up gift cards, or spends credit
    /// notes and gift cards its tenders name, with head office's balances when it answered
    /// (see [`crate::stored_value`]).
    pub fn price_sale_with(
        &self,
        request: &SaleRequest,
        stored: &StoredValueRequest,
    ) -> Result<PricedSale> {
        let mut draft = self.draft(request)?;
        let mut movements = crate::stored_value::loads(stored)?;
        movements.extend(movements_from_tenders(&mut draft.tenders, None));
        let ticket = if movements.is_empty() {
            compute_sale(draft)?
        } else {
            let rules = crate::stored_value::rules(&self.conn)?;
            crate::stored_value::check_movements(
                &self.conn,
                &mut movements,
                &stored.balances,
                self.shop_day(),
                &rules,
            )?;
            crate::stored_value::name_holds(&mut movements, &stored.holds);
            compute_sale_with_stored_value(draft, movements)?
        };
        Ok(PricedSale {
            ticket,
            chain: if request.training {
                Chain::Training
            } else {
                Chain::Ticket
            },
            operator: operator(&request.operator).to_string(),
            balances: stored.balances.clone(),
        })
    }

    /// Prices and records a sale with stored value ([`Till::price_sale_with`]).
    pub fn sell_with(
        &mut self,
        request: &SaleRequest,
        stored: &StoredValueRequest,
    ) -> Result<RecordedTicket> {
        let priced = self.price_sale_with(request, stored)?;
        self.record_sale(priced)
    }

    /// Records a sale [`Till::price_sale`] priced. Nothing is written if it is refused.
    pub fn record_sale(&mut self, sale: PricedSale) -> Result<RecordedTicket> {
        let PricedSale {
            ticket,
            chain,
            operator,
            balances,
        } = sale;
        self.record_ticket_with(
            chain,
            &operator,
            &balances,
            |_| Ok(ticket),
            |_, _, _| Ok(()),
        )
    }

    /// Records a return of lines of an earlier sale, or its cancellation.
    pub fn return_items(&mut self, request: &ReturnRequest) -> Result<RecordedTicket> {
        check_return(request)?;
        let note = self.new_credit_note()?;
        // The original and its earlier returns are read inside the write transaction, so two
        // tills processes can never both return the last unit of a line.
        self.record_ticket(Chain::Ticket, operator(&request.operator), |tx| {
            let mut ticket = compute_return_ticket(tx, request)?;
            // A refund to store credit issues a credit note the customer can spend anywhere.
            ticket.stored_value = movements_from_tenders(&mut ticket.tenders, Some(note));
            Ok(ticket)
        })
    }

    /// Computes a return (or cancellation) as [`Till::return_items`] would record it, without
    /// recording anything: what the return screen shows, with the refund tenders the engine
    /// picks when the request gives none.
    pub fn quote_return(&self, request: &ReturnRequest) -> Result<Ticket> {
        check_return(request)?;
        compute_return_ticket(&self.conn, request)
    }

    /// Records an exchange: lines of an earlier ticket back, new items out, the difference
    /// paid or refunded, on one ticket. Nothing is written if it is refused.
    pub fn exchange(&mut self, request: &ExchangeRequest) -> Result<RecordedTicket> {
        let draft = self.exchange_draft(request)?;
        let tenders = request.tenders.clone();
        let note = self.new_credit_note()?;
        // As for a return, the original and what was already given back are read inside the
        // write transaction, so no line goes back twice.
        self.record_ticket(Chain::Ticket, operator(&request.operator), |tx| {
            let (original, earlier) = original_and_returns(tx, request.original)?;
            let mut ticket =
                compute_exchange(request.original, &original, &earlier, draft, tenders)?;
            // As a return does: goods of a web order coming back name the order.
            ticket.web_order = original.web_order.clone();
            // A difference refunded to store credit issues a credit note.
            ticket.stored_value = movements_from_tenders(&mut ticket.tenders, Some(note));
            pos_domain::stored_value::check_ticket_movements(&ticket.tenders, &ticket.stored_value)
                .map_err(SaleError::from)?;
            Ok(ticket)
        })
    }

    /// Prices an exchange as [`Till::exchange`] would record it, without recording anything:
    /// what the exchange screen shows. A negative difference carries the refund tenders the
    /// engine picks when the request gives none; otherwise there are no tenders.
    pub fn quote_exchange(&self, request: &ExchangeRequest) -> Result<Ticket> {
        let draft = self.exchange_draft(request)?;
        let (original, earlier) = original_and_returns(&self.conn, request.original)?;
        let mut ticket = quote_exchange(request.original, &original, &earlier, draft)?;
        if ticket.total.is_negative() {
            ticket.tenders = default_refund(&original, ticket.total);
        }
        Ok(ticket)
    }

    fn exchange_draft(&self, request: &ExchangeRequest) -> Result<ExchangeDraft> {
        let rules = self.line_rules()?;
        let new_lines = request
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| self.resolve_line(request.returned.len() + i, l, &rules))
            .collect::<Result<Vec<_>>>()?;
        Ok(ExchangeDraft {
            returned: request.returned.clone(),
            new_lines,
            customer: request.customer.clone(),
        })
    }

    /// The returns and cancellations recorded against ticket `number`, oldest first.
    pub fn returns_of(&self, number: u64) -> Result<Vec<RecordedTicket>> {
        ledger::referring_to(&self.conn, Chain::Ticket, number)?
            .iter()
            .map(|r| RecordedTicket::from_record(r).map_err(|e| TillError::Corrupt(e.to_string())))
            .collect()
    }

    /// Records the ticket that `compute` makes from the ledger as it stands inside the write
    /// transaction, chained to the previous ticket of `chain`.
    fn record_ticket(
        &mut self,
        chain: Chain,
        operator: &str,
        compute: impl FnOnce(&Connection) -> Result<Ticket>,
    ) -> Result<RecordedTicket> {
        self.record_ticket_with(chain, operator, &[], compute, |_, _, _| Ok(()))
    }

    /// [`Till::record_ticket`], with `also` run in the same transaction after the ticket is
    /// appended (given its number): what the ticket pays for commits with it.
    pub(crate) fn record_ticket_with(
        &mut self,
        chain: Chain,
        operator: &str,
        balances: &[InstrumentState],
        compute: impl FnOnce(&Connection) -> Result<Ticket>,
        also: impl FnOnce(&Transaction<'_>, &Author<'_>, u64) -> Result<()>,
    ) -> Result<RecordedTicket> {
        let cached = self.ticket_heads.get(&chain).cloned();
        let timezone = self.identity.timezone;
        let mut recorded = None;
        let (signed, hash) = self.write(operator, |tx, author| {
            let mut ticket = compute(tx)?;
            // Every kind of ticket is signed here: nothing beyond the domain's limits is, so
            // every reader reads back what the ledger holds.
            ticket.check_limits().map_err(SaleError::from)?;
            // Every kind of ticket pays through here: the shop's tender rules hold for all.
            pos_domain::tender::check_accepted(&ticket.tenders, &shop_rules::tender_types(tx)?)?;
            let head = ledger::head(tx, chain)?;
            let (grand_total, absolute) = match head.clone() {
                // Another process may have appended since: trust the cache only for this head.
                Some((seq, hash)) => match cached {
                    Some(head) if head.seq == seq && head.hash == hash => {
                        (head.grand_total, head.absolute)
                    }
                    _ => {
                        let previous = ledger::get(tx, chain, seq)?
                            .ok_or_else(|| TillError::Corrupt(format!("{chain} {seq} missing")))?;
                        let previous = ticket_of(&previous)?;
                        (previous.grand_total, previous.perpetual_absolute_total)
                    }
                },
                None => (Money::ZERO, Money::ZERO),
            };
            ticket
                .chain_totals(grand_total, absolute)
                .map_err(SaleError::from)?;
            let payload =
                serde_json::to_value(&ticket).map_err(|e| TillError::Corrupt(e.to_string()))?;
            // A return of another till's ticket names it in its payload only: it must never be
            // found as a return of this till's ticket of the same number.
            let reference = ledger::reference_of(chain, &payload);
            let appended = ledger::append_after(tx, author, chain, head, payload, reference)?;
            consume_card_payments(tx, chain, appended.0.record.seq, &ticket)?;
            // Checked again against the ledger as it stands in this transaction.
            crate::stored_value::record_ticket_movements(
                tx,
                chain,
                appended.0.record.seq,
                author.at.with_timezone(&timezone).date_naive(),
                &ticket,
                balances,
            )?;
            also(tx, author, appended.0.record.seq)?;
            recorded = Some(ticket);
            Ok(appended)
        })?;
        let ticket = recorded.ok_or_else(|| TillError::Corrupt("ticket not computed".into()))?;
        let head = TicketHead {
            seq: signed.record.seq,
            hash,
            grand_total: ticket.grand_total,
            absolute: ticket.perpetual_absolute_total,
        };
        self.ticket_heads.insert(chain, head.clone());
        Ok(RecordedTicket {
            chain,
            number: head.seq,
            at: pos_domain::record::timestamp::format(&signed.record.at),
            operator: signed.record.operator,
            ticket,
            signature: signed.signature.to_string(),
            hash: head.hash,
        })
    }

    /// The ticket that consumed card payment `payment` (a terminal transaction's reference),
    /// if one did.
    pub fn card_payment_ticket(&self, payment: &str) -> Result<Option<u64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT ticket FROM card_payments_used WHERE payment = ?1",
                [payment],
                |row| row.get::<_, i64>(0),
            )
            .optional()?
            .and_then(|n| u64::try_from(n).ok()))
    }

    /// A recorded ticket (chain `ticket` or `training`).
    pub fn ticket(&self, chain: Chain, number: u64) -> Result<RecordedTicket> {
        let record =
            ledger::get(&self.conn, chain, number)?.ok_or(TillError::UnknownTicket(number))?;
        RecordedTicket::from_record(&record).map_err(|e| TillError::Corrupt(e.to_string()))
    }

    /// Records the reprint of ticket `number` and returns its reprint number (1, 2...).
    pub fn record_duplicate(&mut self, operator: &str, number: u64) -> Result<u32> {
        ledger::get(&self.conn, Chain::Ticket, number)?.ok_or(TillError::UnknownTicket(number))?;
        self.write(operator, |tx, author| {
            let reprint = ledger::referring_to(tx, Chain::Duplicate, number)?.len() as u32 + 1;
            let payload = serde_json::to_value(Duplicate {
                chain: Chain::Ticket.to_string(),
                ticket: number,
                reprint,
            })
            .map_err(|e| TillError::Corrupt(e.to_string()))?;
            ledger::append(tx, author, Chain::Duplicate, payload, Some(number))?;
            Ok(reprint)
        })
    }

    /// Records a cash movement. For a count, `amount` is the cash counted; the expected amount
    /// and the difference are computed and recorded with it.
    pub fn cash_movement(
        &mut self,
        operator: &str,
        kind: CashMovementKind,
        amount: Money,
        reason: Option<String>,
    ) -> Result<CashMovement> {
        if amount.is_negative() {
            return Err(TillError::invalid(
                "amount_negative",
                "give a positive amount: the kind says which way the cash goes",
            ));
        }
        if matches!(
            kind,
            CashMovementKind::ShiftOpen | CashMovementKind::ShiftClose
        ) {
            return Err(TillError::invalid(
                "shift_movement",
                "shifts open and close with `open_shift` and `close_shift`",
            ));
        }
        self.write(operator, |tx, author| {
            // The expected cash is computed in the transaction that records the count.
            let (expected, difference) = if kind == CashMovementKind::Count {
                let expected = crate::closing::expected_cash(tx)?;
                (Some(expected), Some(amount - expected))
            } else {
                (None, None)
            };
            let movement = CashMovement {
                expected,
                difference,
                reason,
                ..CashMovement::new(kind, amount)
            };
            movement.check_limits().map_err(SaleError::from)?;
            let payload =
                serde_json::to_value(&movement).map_err(|e| TillError::Corrupt(e.to_string()))?;
            ledger::append(tx, author, Chain::Cash, payload, None)?;
            Ok(movement)
        })
    }

    /// Every record of a chain with sequence in `from..=to`, in order.
    pub fn records(
        &self,
        chain: Chain,
        from: u64,
        to: u64,
        each: impl FnMut(SignedRecord) -> Result<()>,
    ) -> Result<()> {
        ledger::for_each_in(&self.conn, chain, from, to, each)
    }

    /// The newest sequence of a chain (0 when empty).
    pub fn chain_length(&self, chain: Chain) -> Result<u64> {
        Ok(ledger::head(&self.conn, chain)?
            .map(|(seq, _)| seq)
            .unwrap_or(0))
    }
}

fn check_return(request: &ReturnRequest) -> Result<()> {
    if request.cancel && !request.lines.is_empty() {
        return Err(TillError::invalid(
            "cancel_with_lines",
            "a cancellation takes back every line: give no lines with cancel",
        ));
    }
    Ok(())
}

/// The return or cancellation ticket for `request`, from the ledger as `conn` sees it.
fn compute_return_ticket(conn: &Connection, request: &ReturnRequest) -> Result<Ticket> {
    let (original, earlier) = original_and_returns(conn, request.original)?;
    let tenders = request.tenders.clone();
    let mut ticket = if request.cancel {
        compute_cancellation(request.original, &original, &earlier, tenders)?
    } else {
        compute_return(
            request.original,
            &original,
            &earlier,
            &request.lines,
            tenders,
        )?
    };
    // A web order paid in the shop and returned: the return names the order too.
    ticket.web_order = original.web_order.clone();
    Ok(ticket)
}

/// Ticket `number` and the tickets recorded against it (returns, cancellations, exchanges).
fn original_and_returns(conn: &Connection, number: u64) -> Result<(Ticket, Vec<Ticket>)> {
    let original =
        ledger::get(conn, Chain::Ticket, number)?.ok_or(TillError::UnknownTicket(number))?;
    let earlier = ledger::referring_to(conn, Chain::Ticket, number)?
        .iter()
        .map(ticket_of)
        .collect::<Result<Vec<_>>>()?;
    Ok((ticket_of(&original)?, earlier))
}

/// Notes the card payments a ticket's tenders consumed, in the ticket's transaction, refusing
/// one that an earlier ticket already consumed: whatever the front end does, one terminal
/// approval can never pay two tickets.
fn consume_card_payments(
    tx: &Connection,
    chain: Chain,
    number: u64,
    ticket: &Ticket,
) -> Result<()> {
    for payment in ticket.tenders.iter().filter_map(|t| t.payment.as_deref()) {
        let earlier: Option<i64> = tx
            .query_row(
                "SELECT ticket FROM card_payments_used WHERE payment = ?1",
                [payment],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(earlier) = earlier {
            return Err(TillError::invalid(
                "payment_already_used",
                format!(
                    "card payment {payment} is already on ticket {earlier}: take a new card payment for this ticket"
                ),
            ));
        }
        tx.execute(
            "INSERT INTO card_payments_used (payment, chain, ticket) VALUES (?1, ?2, ?3)",
            rusqlite::params![
                payment,
                chain.to_string(),
                i64::try_from(number).unwrap_or(i64::MAX)
            ],
        )?;
    }
    Ok(())
}

fn operator(given: &Option<String>) -> &str {
    given
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(SYSTEM_OPERATOR)
}

/// A record's payload read as the type of its chain (a ticket, a closure, a cash movement...).
pub(crate) fn payload_of<T: serde::de::DeserializeOwned>(record: &SignedRecord) -> Result<T> {
    serde_json::from_value(record.record.payload.clone()).map_err(|e| {
        TillError::Corrupt(format!(
            "{} {}: {e}",
            record.record.chain, record.record.seq
        ))
    })
}

pub(crate) fn ticket_of(record: &SignedRecord) -> Result<Ticket> {
    payload_of(record)
}

pub(crate) fn append_event(
    tx: &Connection,
    author: &Author<'_>,
    kind: EventKind,
    detail: Value,
) -> Result<SignedRecord> {
    let payload = serde_json::to_value(Event { kind, detail })
        .map_err(|e| TillError::Corrupt(e.to_string()))?;
    ledger::append(tx, author, Chain::Event, payload, None)
}
