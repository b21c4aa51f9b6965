//! The logistics spoke on SQLite ([`LogisticsStore`]), over `shipping_notices`,
//! `notice_receipts` and `logistics_files` (migration `0022_logistics.sql`): notices taken in
//! all or nothing with their changes-feed entries, in one immediate transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pos_domain::record::timestamp;
use pos_domain::stock::ShippingNotice;
use pos_domain::wire::kinds;
use pos_hq_core::distribution::EVERY_SHOP;
use pos_hq_core::logistics::{self, NoticeReceipt, NoticeState, ReceiptAgainstNotice};
use pos_hq_store::Result;
use pos_hq_store::logistics::{
    Admitted, AppliedFile, LogisticsStore, StoredNotice, Withdrawal, stored_notice, stored_receipt,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::SqliteStore;

const NOTICE_COLUMNS: &str = "n.id, n.body, n.created_at, n.withdrawn_at,
     r.receipt_id, r.source, r.at, r.lines
     FROM shipping_notices n LEFT JOIN notice_receipts r ON r.notice_id = n.id";

/// A notice's row as read: body, created at, withdrawn at, and its receipt's columns.
type NoticeRow = (String, String, Option<String>, Option<[String; 4]>);

fn notice_of(r: &rusqlite::Row) -> rusqlite::Result<NoticeRow> {
    let receipt = match r.get::<_, Option<String>>(4)? {
        Some(receipt_id) => Some([receipt_id, r.get(5)?, r.get(6)?, r.get(7)?]),
        None => None,
    };
    Ok((r.get(1)?, r.get(2)?, r.get(3)?, receipt))
}

fn stored((body, created_at, withdrawn_at, receipt): NoticeRow) -> Result<StoredNotice> {
    let receipt = receipt
        .map(|[id, source, at, lines]| stored_receipt(id, source, at, &lines))
        .transpose()?;
    stored_notice(&body, created_at, withdrawn_at, receipt)
}

fn read_notice(conn: &Connection, id: &str) -> Result<Option<StoredNotice>> {
    conn.query_row(
        &format!("SELECT {NOTICE_COLUMNS} WHERE n.id = ?1"),
        [id],
        notice_of,
    )
    .optional()?
    .map(stored)
    .transpose()
}

/// Takes one notice in, inside the caller's transaction.
fn admit(tx: &Connection, notice: &ShippingNotice, now: &str) -> Result<Admitted> {
    let shop: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM shops WHERE id = ?1",
            [&notice.shop_id],
            |r| r.get(0),
        )
        .optional()?;
    if shop.is_none() {
        return Ok(Admitted::UnknownShop);
    }
    let mut product = tx.prepare_cached(
        "SELECT 1 FROM distribution WHERE kind = ?1 AND shop_id = ?2 AND key = ?3
            AND data IS NOT NULL",
    )?;
    for line in &notice.lines {
        if !product.exists(params![kinds::PRODUCT, EVERY_SHOP, line.product_id])? {
            return Ok(Admitted::UnknownProduct(line.product_id.clone()));
        }
    }
    let body = logistics::canonical(notice);
    let held: Option<String> = tx
        .query_row(
            "SELECT body FROM shipping_notices WHERE id = ?1",
            [&notice.id],
            |r| r.get(0),
        )
        .optional()?;
    match held {
        Some(held) if held == body => Ok(Admitted::Unchanged),
        Some(_) => Ok(Admitted::Differs),
        None => {
            tx.execute(
                "INSERT INTO shipping_notices (id, shop_id, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![notice.id, notice.shop_id, body, now],
            )?;
            crate::feed::put_changes(tx, &[logistics::notice_change(notice)])?;
            Ok(Admitted::Stored)
        }
    }
}

fn record_file(tx: &Connection, file: &AppliedFile) -> Result<()> {
    tx.execute(
        "INSERT INTO logistics_files (sha256, name, notices, lines, applied_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            file.sha256,
            file.name,
            file.notices as i64,
            file.lines as i64,
            file.applied_at
        ],
    )?;
    Ok(())
}

/// Records the goods receipts naming a notice, inside the ingest's transaction (see
/// [`pos_hq_store::ingest_tx::IngestTx::record_notice_receipts`]).
pub(crate) fn record_receipts(
    tx: &Connection,
    receipts: &[ReceiptAgainstNotice],
    now: &str,
) -> Result<Vec<(ShippingNotice, NoticeReceipt)>> {
    let mut recorded = Vec::new();
    let mut insert = tx.prepare_cached(
        "INSERT INTO notice_receipts (notice_id, receipt_id, source, at, lines, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (notice_id) DO NOTHING",
    )?;
    for r in receipts {
        let Some(notice) = read_notice(tx, &r.notice_id)? else {
            continue;
        };
        let receipt = r.measure(&notice.notice);
        let lines = serde_json::to_string(&receipt.lines)
            .map_err(|e| pos_hq_store::StoreError::Corrupt(e.to_string()))?;
        let inserted = insert.execute(params![
            r.notice_id,
            receipt.receipt_id,
            receipt.source,
            receipt.at,
            lines,
            now
        ])?;
        if inserted == 1 {
            recorded.push((notice.notice, receipt));
        }
    }
    Ok(recorded)
}

#[async_trait]
impl LogisticsStore for SqliteStore {
    async fn admit_notices(
        &self,
        notices: &[ShippingNotice],
        file: Option<&AppliedFile>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Admitted>> {
        let (notices, file) = (notices.to_vec(), file.cloned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = timestamp::format(&now);
            let mut answers = Vec::with_capacity(notices.len());
            for notice in &notices {
                answers.push(admit(&tx, notice, &now)?);
            }
            if answers.iter().any(Admitted::is_refusal) {
                // Dropping the transaction rolls every notice back.
                return Ok(answers);
            }
            if let Some(file) = &file {
                record_file(&tx, file)?;
            }
            tx.commit()?;
            Ok(answers)
        })
        .await
    }

    async fn applied_file(&self, sha256: &str) -> Result<Option<AppliedFile>> {
        let sha256 = sha256.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT sha256, name, notices, lines, applied_at FROM logistics_files WHERE sha256 = ?1",
                [sha256],
                |r| {
                    Ok(AppliedFile {
                        sha256: r.get(0)?,
                        name: r.get(1)?,
                        notices: r.get::<_, i64>(2)? as u64,
                        lines: r.get::<_, i64>(3)? as u64,
                        applied_at: r.get(4)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn notice(&self, id: &str) -> Result<Option<StoredNotice>> {
        let id = id.to_string();
        self.read(move |c| read_notice(c, &id)).await
    }

    async fn notices(
        &self,
        shop: Option<&str>,
        state: Option<NoticeState>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredNotice>> {
        let (shop, after) = (
            shop.map(str::to_string),
            after.unwrap_or_default().to_string(),
        );
        let state = state.map(NoticeState::name);
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {NOTICE_COLUMNS}
                  WHERE (?1 IS NULL OR n.shop_id = ?1) AND n.id > ?2
                    AND (?3 IS NULL
                         OR (?3 = 'received' AND r.notice_id IS NOT NULL)
                         OR (?3 = 'withdrawn' AND r.notice_id IS NULL AND n.withdrawn_at IS NOT NULL)
                         OR (?3 = 'open' AND r.notice_id IS NULL AND n.withdrawn_at IS NULL))
                  ORDER BY n.id LIMIT ?4"
            ))?;
            let rows = stmt.query_map(params![shop, after, state, i64::from(limit)], notice_of)?;
            rows.map(|r| stored(r?)).collect()
        })
        .await
    }

    async fn withdraw_notice(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Withdrawal>> {
        let id = id.to_string();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(notice) = read_notice(&tx, &id)? else {
                return Ok(None);
            };
            let answer = match notice.state {
                NoticeState::Received => Withdrawal::AlreadyReceived(notice),
                NoticeState::Withdrawn => Withdrawal::Withdrawn(notice),
                NoticeState::Open => {
                    tx.execute(
                        "UPDATE shipping_notices SET withdrawn_at = ?2 WHERE id = ?1",
                        params![id, timestamp::format(&now)],
                    )?;
                    crate::feed::put_changes(
                        &tx,
                        &[logistics::withdrawn_change(&notice.notice.shop_id, &id)],
                    )?;
                    let withdrawn = read_notice(&tx, &id)?.expect("the notice just read");
                    tx.commit()?;
                    Withdrawal::Withdrawn(withdrawn)
                }
            };
            Ok(Some(answer))
        })
        .await
    }
}
