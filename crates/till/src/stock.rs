//! Stock operations at the till: goods received (against a shipping notice or without one;
//! against a notice the feed brought, the expected quantities are the notice's and it is
//! received once, see [`crate::stock_notices`]), goods sent to another shop and received from
//! one, and stock counts (started, then finished). The rules are [`pos_domain::stock`]'s; head office derives the shop's stock
//! from them.
//!
//! Every operation is a signed record of the non-fiscal `stock` chain, written in one
//! transaction with its line in `stock_operations`, an append-only index (rebuildable from the
//! records) that finds a count's start and refuses the same transfer received twice. Nothing
//! here needs head office: a delivery is received and a shelf counted offline, and the records
//! go up with the next sync, exactly once.

use chrono::{DateTime, Utc};
use pos_domain::codes::Imei;
use pos_domain::product::{Product, SerialCapture, SoldBy};
use pos_domain::record::{Chain, timestamp};
use pos_domain::stock::{
    CountResult, CountScope, CountStart, CountedLine, GoodsReceipt, ReceivedLine, SentLine,
    StockError, StockOperation, StockUnit, TransferIn, TransferOut,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::catalog;
use crate::engine::Till;
use crate::error::{Result, TillError};
use crate::ledger::{self, Author};
use crate::stock_notices;

/// The index of the stock chain's operations (see the module docs).
pub(crate) const MIGRATION: &str = r#"
    CREATE TABLE stock_operations (
        seq INTEGER PRIMARY KEY,
        operation_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX stock_operation_once ON stock_operations (kind, operation_id);
    CREATE TRIGGER stock_operations_no_update BEFORE UPDATE ON stock_operations
    BEGIN SELECT RAISE(ABORT, 'stock operations are append-only'); END;
    CREATE TRIGGER stock_operations_no_delete BEFORE DELETE ON stock_operations
    BEGIN SELECT RAISE(ABORT, 'stock operations are append-only'); END;
"#;

/// A line received, as scanned: the product, what was expected (0 when nothing was
/// announced; taken from the notice when the delivery is received against one), what arrived, how much of it is damaged, and the IMEIs of handsets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveLineRequest {
    pub product_id: String,
    #[serde(default)]
    pub expected: u32,
    pub received: u32,
    #[serde(default)]
    pub damaged: u32,
    #[serde(default)]
    pub serials: Vec<String>,
}

/// Goods received from logistics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveRequest {
    /// The advance shipping notice, if the delivery had one.
    #[serde(default)]
    pub asn: Option<String>,
    pub lines: Vec<ReceiveLineRequest>,
}

/// A line sent to another shop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendLineRequest {
    pub product_id: String,
    pub quantity: u32,
    #[serde(default)]
    pub serials: Vec<String>,
}

/// Goods sent to another shop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    pub to_shop: String,
    pub lines: Vec<SendLineRequest>,
}

/// A transfer from another shop received here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferArrivalRequest {
    pub transfer_id: String,
    pub from_shop: String,
    /// `expected` is what the sending shop sent.
    pub lines: Vec<ReceiveLineRequest>,
}

/// A line counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountLineRequest {
    pub product_id: String,
    pub counted: u32,
}

/// A stock-chain record as the till shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StockRecord {
    pub seq: u64,
    #[serde(with = "timestamp")]
    pub at: DateTime<Utc>,
    pub operator: String,
    pub operation: StockOperation,
}

/// A count started and not finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpenCount {
    pub count_id: String,
    pub scope: CountScope,
    pub blind: bool,
    #[serde(with = "timestamp")]
    pub started_at: DateTime<Utc>,
}

fn refused(e: StockError) -> TillError {
    TillError::invalid(e.code(), e.to_string())
}

fn unit_of(product: &Product) -> StockUnit {
    match product.sold_by {
        SoldBy::Unit => StockUnit::Units,
        SoldBy::Weight => StockUnit::Grams,
    }
}

/// The catalog product of a line, or the till's refusal: unknown, or a product whose stock is
/// not kept (a service), which no stock operation may name.
fn product(conn: &Connection, id: &str) -> Result<Product> {
    let product =
        catalog::by_id(conn, id)?.ok_or_else(|| TillError::UnknownProduct(id.to_string()))?;
    if !product.stock.is_kept() {
        return Err(TillError::invalid(
            "stock_not_kept",
            format!(
                "product `{id}` is not kept in stock (a service or a fee): it cannot be \
                 received, sent or counted; remove the line"
            ),
        ));
    }
    Ok(product)
}

/// The IMEIs of a line, each checked; a handset needs one per unit in good condition.
fn serials(product: &Product, given: &[String], sellable: u32) -> Result<Vec<Imei>> {
    let serials = given
        .iter()
        .map(|s| {
            s.parse::<Imei>()
                .map_err(|e| TillError::invalid("invalid_imei", e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    if product.serial == SerialCapture::Imei && serials.len() != sellable as usize {
        return Err(TillError::invalid(
            "imei_required",
            format!(
                "{}: scan one IMEI per handset in good condition ({sellable} expected, {} \
                 scanned)",
                product.label,
                serials.len()
            ),
        ));
    }
    Ok(serials)
}

fn received_lines(conn: &Connection, lines: &[ReceiveLineRequest]) -> Result<Vec<ReceivedLine>> {
    lines
        .iter()
        .map(|l| {
            let product = product(conn, &l.product_id)?;
            let sellable = l.received.saturating_sub(l.damaged);
            Ok(ReceivedLine {
                product_id: product.id.clone(),
                unit: unit_of(&product),
                expected: l.expected,
                received: l.received,
                damaged: l.damaged,
                serials: serials(&product, &l.serials, sellable)?,
            })
        })
        .collect()
}

/// The id of the operation recorded as `seq` of the stock chain by `till`: unique in the
/// whole chain of shops, because till ids are.
fn operation_id(prefix: &str, till: &str, seq: u64) -> String {
    format!("{prefix}-{till}-{seq}")
}

/// The next sequence of the stock chain, in the write transaction.
fn next_seq(tx: &Transaction<'_>) -> Result<u64> {
    Ok(ledger::head(tx, Chain::Stock)?.map_or(1, |(seq, _)| seq + 1))
}

/// Checks, signs and indexes `operation` in the caller's transaction.
fn record(
    tx: &Transaction<'_>,
    author: &Author<'_>,
    operation: StockOperation,
) -> Result<StockRecord> {
    operation.check().map_err(refused)?;
    let payload =
        serde_json::to_value(&operation).map_err(|e| TillError::Corrupt(e.to_string()))?;
    let signed = ledger::append(tx, author, Chain::Stock, payload, None)?;
    let inserted = tx.execute(
        "INSERT INTO stock_operations (seq, operation_id, kind, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, operation_id) DO NOTHING",
        params![
            signed.record.seq as i64,
            operation.id(),
            operation.kind(),
            timestamp::format(&signed.record.at)
        ],
    )?;
    if inserted == 0 {
        return Err(TillError::invalid(
            "stock_already_recorded",
            format!(
                "{} `{}` is already recorded at this till: nothing was recorded again",
                operation.kind().replace('_', " "),
                operation.id()
            ),
        ));
    }
    Ok(StockRecord {
        seq: signed.record.seq,
        at: signed.record.at,
        operator: signed.record.operator.clone(),
        operation,
    })
}

fn parse_record(signed: &pos_domain::record::SignedRecord) -> Result<StockRecord> {
    let operation: StockOperation = serde_json::from_value(signed.record.payload.clone())
        .map_err(|e| TillError::Corrupt(format!("stock record {}: {e}", signed.record.seq)))?;
    Ok(StockRecord {
        seq: signed.record.seq,
        at: signed.record.at,
        operator: signed.record.operator.clone(),
        operation,
    })
}

/// The shop head office enrolled this till in, if enrolled.
fn own_shop(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT shop_id FROM sync_server WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?)
}

impl Till {
    /// Records goods received from logistics, with the differences to the shipping notice
    /// (missing, extra, damaged) that head office reports to logistics.
    ///
    /// Against a notice this till received from head office (`request.asn`), each line's
    /// expected quantity is the notice's, whatever the request says: a product the notice does
    /// not list is an extra (expected 0), a notice line not scanned is missing. A notice the
    /// feed never brought (a paper one) keeps the expected quantities given. Either way a
    /// notice is received once: a second receipt against it is refused.
    pub fn receive_goods(
        &mut self,
        operator: &str,
        request: &ReceiveRequest,
    ) -> Result<StockRecord> {
        let till = self.identity.till_id.clone();
        let asn = request.asn.clone().filter(|a| !a.trim().is_empty());
        self.write(operator, |tx, author| {
            let mut lines = received_lines(tx, &request.lines)?;
            if let Some(asn) = &asn {
                stock_notices::refuse_if_received(tx, asn)?;
                if let Some(notice) = stock_notices::open_notice(tx, asn)? {
                    lines = stock_notices::expected_from_notice(&notice, lines);
                }
            }
            let operation = StockOperation::GoodsReceipt(GoodsReceipt {
                receipt_id: operation_id("R", &till, next_seq(tx)?),
                asn: asn.clone(),
                lines,
            });
            let recorded = record(tx, author, operation)?;
            if let Some(asn) = &asn {
                stock_notices::mark_received(tx, asn, recorded.seq)?;
            }
            Ok(recorded)
        })
    }

    /// Records goods sent to another shop: off this shop's shelves, in transit until that shop
    /// receives them under the returned transfer id.
    pub fn send_transfer(
        &mut self,
        operator: &str,
        request: &TransferRequest,
    ) -> Result<StockRecord> {
        let till = self.identity.till_id.clone();
        self.write(operator, |tx, author| {
            if own_shop(tx)?.as_deref() == Some(request.to_shop.as_str()) {
                return Err(refused(StockError::TransferToSelf));
            }
            let lines = request
                .lines
                .iter()
                .map(|l| {
                    let product = product(tx, &l.product_id)?;
                    Ok(SentLine {
                        product_id: product.id.clone(),
                        unit: unit_of(&product),
                        quantity: l.quantity,
                        serials: serials(&product, &l.serials, l.quantity)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let operation = StockOperation::TransferOut(TransferOut {
                transfer_id: operation_id("T", &till, next_seq(tx)?),
                to_shop: request.to_shop.clone(),
                lines,
            });
            record(tx, author, operation)
        })
    }

    /// Records a transfer from another shop received here, with the differences on arrival.
    /// The same transfer is received once.
    pub fn receive_transfer(
        &mut self,
        operator: &str,
        request: &TransferArrivalRequest,
    ) -> Result<StockRecord> {
        self.write(operator, |tx, author| {
            let lines = received_lines(tx, &request.lines)?;
            let operation = StockOperation::TransferIn(TransferIn {
                transfer_id: request.transfer_id.clone(),
                from_shop: request.from_shop.clone(),
                lines,
            });
            record(tx, author, operation)
        })
    }

    /// Starts a count: its moment is the record's time, against which head office adjusts.
    pub fn start_count(
        &mut self,
        operator: &str,
        scope: CountScope,
        blind: bool,
    ) -> Result<StockRecord> {
        let till = self.identity.till_id.clone();
        self.write(operator, |tx, author| {
            let operation = StockOperation::CountStarted(CountStart {
                count_id: operation_id("C", &till, next_seq(tx)?),
                scope,
                blind,
            });
            record(tx, author, operation)
        })
    }

    /// Finishes count `count_id` with what was counted (each product once).
    pub fn finish_count(
        &mut self,
        operator: &str,
        count_id: &str,
        lines: &[CountLineRequest],
    ) -> Result<StockRecord> {
        self.write(operator, |tx, author| {
            let start = open_count(tx, count_id)?;
            let lines = lines
                .iter()
                .map(|l| {
                    let product = product(tx, &l.product_id)?;
                    Ok(CountedLine {
                        product_id: product.id.clone(),
                        unit: unit_of(&product),
                        counted: l.counted,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let operation = StockOperation::CountFinished(CountResult {
                count_id: start.count_id,
                scope: start.scope,
                started_at: start.started_at,
                lines,
            });
            record(tx, author, operation)
        })
    }

    /// The counts started at this till and not finished, oldest first.
    pub fn open_counts(&self) -> Result<Vec<OpenCount>> {
        let ids: Vec<String> = self
            .conn
            .prepare(
                "SELECT operation_id FROM stock_operations s WHERE kind = 'count_started'
                   AND NOT EXISTS (SELECT 1 FROM stock_operations f
                                    WHERE f.kind = 'count_finished' AND f.operation_id = s.operation_id)
                 ORDER BY seq",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.iter().map(|id| open_count(&self.conn, id)).collect()
    }

    /// The stock operations recorded at this till, newest first, at most `limit`.
    pub fn stock_records(&self, limit: u64) -> Result<Vec<StockRecord>> {
        let head = self.chain_length(Chain::Stock)?;
        let from = head.saturating_sub(limit.saturating_sub(1)).max(1);
        let mut out = Vec::new();
        ledger::for_each_in(&self.conn, Chain::Stock, from, head, |signed| {
            out.push(parse_record(&signed)?);
            Ok(())
        })?;
        out.reverse();
        Ok(out)
    }
}

/// The start of count `count_id`, if it is open; otherwise the till's refusal.
fn open_count(conn: &Connection, count_id: &str) -> Result<OpenCount> {
    let seqs: Vec<(String, i64)> = conn
        .prepare_cached("SELECT kind, seq FROM stock_operations WHERE operation_id = ?1")?
        .query_map([count_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if seqs.iter().any(|(kind, _)| kind == "count_finished") {
        return Err(TillError::invalid(
            "count_finished",
            format!("count `{count_id}` is already finished: start a new count"),
        ));
    }
    let Some((_, seq)) = seqs.iter().find(|(kind, _)| kind == "count_started") else {
        return Err(TillError::invalid(
            "unknown_count",
            format!("no count `{count_id}` was started at this till: start one first"),
        ));
    };
    let signed = ledger::get(conn, Chain::Stock, *seq as u64)?
        .ok_or_else(|| TillError::Corrupt(format!("stock record {seq} is indexed but missing")))?;
    match parse_record(&signed)?.operation {
        StockOperation::CountStarted(start) => Ok(OpenCount {
            count_id: start.count_id,
            scope: start.scope,
            blind: start.blind,
            started_at: signed.record.at,
        }),
        _ => Err(TillError::Corrupt(format!(
            "stock record {seq} is indexed as a count start but is not one"
        ))),
    }
}
