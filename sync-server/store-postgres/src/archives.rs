//! [`ArchiveStore`] on PostgreSQL: archives and their checks in append-only tables
//! (migration `0015_till_archives.sql`), an archive's failed check and its alarm in one
//! transaction.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use pos_hq_core::archives::{ALARM_CHAIN, ALARM_KIND};
use pos_hq_core::ingest::MAX_ALARM_EVIDENCE_BYTES;
use pos_hq_store::archives::{
    ArchiveInfo, ArchiveStore, NewArchive, NewArchiveCheck, PutArchive, alarm_reason,
};
use pos_hq_store::{Page, Result, ShopSelection};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// A query parameter.
type Param<'a> = &'a (dyn ToSql + Sync);

use crate::PgStore;

/// The columns of [`ArchiveInfo`], the latest check joined.
const INFO: &str =
    "SELECT a.id, a.till_id, t.shop_id, a.period_from, a.period_to, a.sha256, a.size,
        a.received_at, c.intact, c.defect, c.checked_at
     FROM till_archives a JOIN tills t ON t.id = a.till_id
     JOIN archive_checks c ON c.id = (SELECT max(id) FROM archive_checks WHERE archive_id = a.id)";

fn info(r: &Row) -> ArchiveInfo {
    ArchiveInfo {
        id: r.get(0),
        till_id: r.get(1),
        shop_id: r.get(2),
        from: r.get(3),
        to: r.get(4),
        sha256: r.get(5),
        size: r.get::<_, i64>(6) as u64,
        received_at: r.get(7),
        intact: r.get(8),
        defect: r.get(9),
        checked_at: r.get(10),
    }
}

/// Appends a check of archive `id`, and its alarm if it failed; whether an alarm is new.
async fn append_check(
    tx: &Transaction<'_>,
    id: i64,
    check: &NewArchiveCheck,
    evidence: &[u8],
) -> Result<bool> {
    tx.execute(
        "INSERT INTO archive_checks (archive_id, checked_at, intact, defect) VALUES ($1, $2, $3, $4)",
        &[&id as Param, &check.checked_at, &check.intact, &check.defect],
    )
    .await?;
    if check.intact {
        return Ok(false);
    }
    let row = tx
        .query_one(
            "SELECT till_id, period_from, period_to FROM till_archives WHERE id = $1",
            &[&id],
        )
        .await?;
    let (till_id, from, to): (String, String, String) = (row.get(0), row.get(1), row.get(2));
    let evidence = &evidence[..evidence.len().min(MAX_ALARM_EVIDENCE_BYTES)];
    let raised = tx
        .execute(
            "INSERT INTO alarms (till_id, chain, seq, kind, reason, received_hash, received, raised_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &till_id as Param,
                &ALARM_CHAIN,
                &id,
                &ALARM_KIND,
                &alarm_reason(check, &from, &to),
                &check.judged_sha256,
                &evidence,
                &check.checked_at,
            ],
        )
        .await?;
    Ok(raised == 1)
}

#[async_trait]
impl ArchiveStore for PgStore {
    async fn put_archive(&self, archive: &NewArchive) -> Result<PutArchive> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Two uploads of one archive at once: the second waits here, then finds it held.
        let inserted = tx
            .query_opt(
                "INSERT INTO till_archives (till_id, period_from, period_to, sha256, size, content, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (till_id, sha256) DO NOTHING RETURNING id",
                &[
                    &archive.till_id as Param,
                    &archive.period_from,
                    &archive.period_to,
                    &archive.sha256,
                    &(archive.content.len() as i64),
                    &archive.content,
                    &archive.received_at,
                ],
            )
            .await?;
        let Some(row) = inserted else {
            let id: i64 = tx
                .query_one(
                    "SELECT id FROM till_archives WHERE till_id = $1 AND sha256 = $2",
                    &[&archive.till_id, &archive.sha256],
                )
                .await?
                .get(0);
            return Ok(PutArchive {
                id,
                already_held: true,
            });
        };
        let id: i64 = row.get(0);
        append_check(&tx, id, &archive.check, &archive.content).await?;
        tx.commit().await?;
        Ok(PutArchive {
            id,
            already_held: false,
        })
    }

    async fn archives(&self, shops: &ShopSelection, page: &Page<i64>) -> Result<Vec<ArchiveInfo>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "{INFO} WHERE {} AND a.id > $3 ORDER BY a.id LIMIT $4",
                    ShopSelection::condition("t.shop_id", "$1::TEXT", "$2::TEXT")
                ),
                &[
                    &shops.shop as Param,
                    &shops.region,
                    &page.after.unwrap_or(0),
                    &i64::from(page.limit),
                ],
            )
            .await?;
        Ok(rows.iter().map(info).collect())
    }

    async fn archive_content(&self, id: i64) -> Result<Option<(ArchiveInfo, Vec<u8>)>> {
        let client = self.pool.get().await?;
        let Some(row) = client
            .query_opt(&format!("{INFO} WHERE a.id = $1"), &[&id])
            .await?
        else {
            return Ok(None);
        };
        let content: Vec<u8> = client
            .query_one("SELECT content FROM till_archives WHERE id = $1", &[&id])
            .await?
            .get(0);
        Ok(Some((info(&row), content)))
    }

    async fn record_archive_check(&self, id: i64, check: &NewArchiveCheck) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let evidence: Vec<u8> = tx
            .query_one(
                "SELECT substring(content FROM 1 FOR $2) FROM till_archives WHERE id = $1",
                &[&id as Param, &(MAX_ALARM_EVIDENCE_BYTES as i32)],
            )
            .await?
            .get(0);
        let raised = append_check(&tx, id, check, &evidence).await?;
        tx.commit().await?;
        Ok(raised)
    }
}
