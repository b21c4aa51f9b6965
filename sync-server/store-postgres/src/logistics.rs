//! The logistics spoke on PostgreSQL ([`LogisticsStore`]), over `shipping_notices`,
//! `notice_receipts` and `logistics_files` (migration `0022_logistics.sql`): notices taken in
//! all or nothing with their changes-feed entries in one transaction. Two requests bringing the
//! same new id meet at its primary key: the second waits for the first and then compares.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use pos_domain::record::timestamp;
use pos_domain::stock::ShippingNotice;
use pos_domain::wire::kinds;
use pos_hq_core::distribution::EVERY_SHOP;
use pos_hq_core::logistics::{self, NoticeReceipt, NoticeState, ReceiptAgainstNotice};
use pos_hq_store::Result;
use pos_hq_store::logistics::{
    Admitted, AppliedFile, LogisticsStore, StoredNotice, Withdrawal, stored_notice, stored_receipt,
};
use tokio_postgres::Row;

use crate::PgStore;

const NOTICE_COLUMNS: &str = "n.id, n.body, n.created_at, n.withdrawn_at,
     r.receipt_id, r.source, r.at, r.lines
     FROM shipping_notices n LEFT JOIN notice_receipts r ON r.notice_id = n.id";

fn stored(r: &Row) -> Result<StoredNotice> {
    let receipt = match r.get::<_, Option<String>>(4) {
        Some(receipt_id) => Some(stored_receipt(
            receipt_id,
            r.get(5),
            r.get(6),
            r.get::<_, &str>(7),
        )?),
        None => None,
    };
    stored_notice(r.get(1), r.get(2), r.get(3), receipt)
}

async fn read_notice(conn: &impl GenericClient, id: &str) -> Result<Option<StoredNotice>> {
    conn.query_opt(&format!("SELECT {NOTICE_COLUMNS} WHERE n.id = $1"), &[&id])
        .await?
        .as_ref()
        .map(stored)
        .transpose()
}

/// Takes one notice in, inside the caller's transaction.
async fn admit(tx: &impl GenericClient, notice: &ShippingNotice, now: &str) -> Result<Admitted> {
    let shop = tx
        .query_opt("SELECT 1 FROM shops WHERE id = $1", &[&notice.shop_id])
        .await?;
    if shop.is_none() {
        return Ok(Admitted::UnknownShop);
    }
    let products: Vec<&str> = notice.lines.iter().map(|l| l.product_id.as_str()).collect();
    let known: Vec<String> = tx
        .query(
            "SELECT key FROM distribution WHERE kind = $1 AND shop_id = $2
                AND key = ANY($3::TEXT[]) AND data IS NOT NULL",
            &[&kinds::PRODUCT, &EVERY_SHOP, &products],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(unknown) = products.iter().find(|p| !known.iter().any(|k| k == *p)) {
        return Ok(Admitted::UnknownProduct(unknown.to_string()));
    }
    let body = logistics::canonical(notice);
    let inserted = tx
        .execute(
            "INSERT INTO shipping_notices (id, shop_id, body, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
            &[&notice.id, &notice.shop_id, &body, &now],
        )
        .await?;
    if inserted == 1 {
        crate::feed::put_changes(tx, &[logistics::notice_change(notice)]).await?;
        return Ok(Admitted::Stored);
    }
    let held: String = tx
        .query_one(
            "SELECT body FROM shipping_notices WHERE id = $1",
            &[&notice.id],
        )
        .await?
        .get(0);
    Ok(if held == body {
        Admitted::Unchanged
    } else {
        Admitted::Differs
    })
}

/// Records the goods receipts naming a notice, inside the ingest's transaction (see
/// [`pos_hq_store::ingest_tx::IngestTx::record_notice_receipts`]).
pub(crate) async fn record_receipts(
    tx: &impl GenericClient,
    receipts: &[ReceiptAgainstNotice],
    now: &str,
) -> Result<Vec<(ShippingNotice, NoticeReceipt)>> {
    let mut recorded = Vec::new();
    for r in receipts {
        let Some(notice) = read_notice(tx, &r.notice_id).await? else {
            continue;
        };
        let receipt = r.measure(&notice.notice);
        let lines = serde_json::to_string(&receipt.lines)
            .map_err(|e| pos_hq_store::StoreError::Corrupt(e.to_string()))?;
        let inserted = tx
            .execute(
                "INSERT INTO notice_receipts (notice_id, receipt_id, source, at, lines, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (notice_id) DO NOTHING",
                &[
                    &r.notice_id,
                    &receipt.receipt_id,
                    &receipt.source,
                    &receipt.at,
                    &lines,
                    &now,
                ],
            )
            .await?;
        if inserted == 1 {
            recorded.push((notice.notice, receipt));
        }
    }
    Ok(recorded)
}

#[async_trait]
impl LogisticsStore for PgStore {
    async fn admit_notices(
        &self,
        notices: &[ShippingNotice],
        file: Option<&AppliedFile>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Admitted>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let now = timestamp::format(&now);
        let mut answers = Vec::with_capacity(notices.len());
        for notice in notices {
            answers.push(admit(&tx, notice, &now).await?);
        }
        if answers.iter().any(Admitted::is_refusal) {
            tx.rollback().await?;
            return Ok(answers);
        }
        if let Some(file) = file {
            tx.execute(
                "INSERT INTO logistics_files (sha256, name, notices, lines, applied_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &file.sha256,
                    &file.name,
                    &(file.notices as i64),
                    &(file.lines as i64),
                    &file.applied_at,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(answers)
    }

    async fn applied_file(&self, sha256: &str) -> Result<Option<AppliedFile>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT sha256, name, notices, lines, applied_at FROM logistics_files WHERE sha256 = $1",
                &[&sha256],
            )
            .await?;
        Ok(row.map(|r| AppliedFile {
            sha256: r.get(0),
            name: r.get(1),
            notices: r.get::<_, i64>(2) as u64,
            lines: r.get::<_, i64>(3) as u64,
            applied_at: r.get(4),
        }))
    }

    async fn notice(&self, id: &str) -> Result<Option<StoredNotice>> {
        let client = self.pool.get().await?;
        read_notice(&client, id).await
    }

    async fn notices(
        &self,
        shop: Option<&str>,
        state: Option<NoticeState>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredNotice>> {
        let client = self.pool.get().await?;
        let state = state.map(NoticeState::name);
        let rows = client
            .query(
                &format!(
                    "SELECT {NOTICE_COLUMNS}
                      WHERE ($1::TEXT IS NULL OR n.shop_id = $1) AND n.id > $2
                        AND ($3::TEXT IS NULL
                             OR ($3 = 'received' AND r.notice_id IS NOT NULL)
                             OR ($3 = 'withdrawn' AND r.notice_id IS NULL AND n.withdrawn_at IS NOT NULL)
                             OR ($3 = 'open' AND r.notice_id IS NULL AND n.withdrawn_at IS NULL))
                      ORDER BY n.id LIMIT $4"
                ),
                &[&shop, &after.unwrap_or_default(), &state, &i64::from(limit)],
            )
            .await?;
        rows.iter().map(stored).collect()
    }

    async fn withdraw_notice(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Withdrawal>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if tx
            .query_opt(
                "SELECT 1 FROM shipping_notices WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let notice = read_notice(&tx, id).await?.expect("the notice just locked");
        let answer = match notice.state {
            NoticeState::Received => Withdrawal::AlreadyReceived(notice),
            NoticeState::Withdrawn => Withdrawal::Withdrawn(notice),
            NoticeState::Open => {
                tx.execute(
                    "UPDATE shipping_notices SET withdrawn_at = $2 WHERE id = $1",
                    &[&id, &timestamp::format(&now)],
                )
                .await?;
                crate::feed::put_changes(
                    &tx,
                    &[logistics::withdrawn_change(&notice.notice.shop_id, id)],
                )
                .await?;
                let withdrawn = read_notice(&tx, id).await?.expect("the notice just read");
                tx.commit().await?;
                Withdrawal::Withdrawn(withdrawn)
            }
        };
        Ok(Some(answer))
    }
}
