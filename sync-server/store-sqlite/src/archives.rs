//! [`ArchiveStore`] on SQLite: archives and their checks in append-only tables
//! (migration `0015_till_archives.sql`), an archive's failed check and its alarm in one
//! transaction.

use async_trait::async_trait;
use pos_hq_core::archives::{ALARM_CHAIN, ALARM_KIND};
use pos_hq_core::ingest::MAX_ALARM_EVIDENCE_BYTES;
use pos_hq_store::archives::{
    ArchiveInfo, ArchiveStore, NewArchive, NewArchiveCheck, PutArchive, alarm_reason,
};
use pos_hq_store::{Page, Result, ShopSelection};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::SqliteStore;

/// The columns of [`ArchiveInfo`], the latest check joined.
const INFO: &str =
    "SELECT a.id, a.till_id, t.shop_id, a.period_from, a.period_to, a.sha256, a.size,
        a.received_at, c.intact, c.defect, c.checked_at
     FROM till_archives a JOIN tills t ON t.id = a.till_id
     JOIN archive_checks c ON c.id = (SELECT max(id) FROM archive_checks WHERE archive_id = a.id)";

fn info(r: &rusqlite::Row<'_>) -> rusqlite::Result<ArchiveInfo> {
    Ok(ArchiveInfo {
        id: r.get(0)?,
        till_id: r.get(1)?,
        shop_id: r.get(2)?,
        from: r.get(3)?,
        to: r.get(4)?,
        sha256: r.get(5)?,
        size: r.get::<_, i64>(6)? as u64,
        received_at: r.get(7)?,
        intact: r.get(8)?,
        defect: r.get(9)?,
        checked_at: r.get(10)?,
    })
}

/// Appends a check of archive `id`, and its alarm if it failed; whether an alarm is new.
fn append_check(
    tx: &Connection,
    id: i64,
    check: &NewArchiveCheck,
    evidence: &[u8],
) -> Result<bool> {
    tx.execute(
        "INSERT INTO archive_checks (archive_id, checked_at, intact, defect) VALUES (?1, ?2, ?3, ?4)",
        params![id, check.checked_at, check.intact, check.defect],
    )?;
    if check.intact {
        return Ok(false);
    }
    let (till_id, from, to): (String, String, String) = tx.query_row(
        "SELECT till_id, period_from, period_to FROM till_archives WHERE id = ?1",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let raised = tx.execute(
        "INSERT INTO alarms (till_id, chain, seq, kind, reason, received_hash, received, raised_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        params![
            till_id,
            ALARM_CHAIN,
            id,
            ALARM_KIND,
            alarm_reason(check, &from, &to),
            check.judged_sha256,
            &evidence[..evidence.len().min(MAX_ALARM_EVIDENCE_BYTES)],
            check.checked_at,
        ],
    )?;
    Ok(raised == 1)
}

#[async_trait]
impl ArchiveStore for SqliteStore {
    async fn put_archive(&self, archive: &NewArchive) -> Result<PutArchive> {
        let archive = archive.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let held: Option<i64> = tx
                .query_row(
                    "SELECT id FROM till_archives WHERE till_id = ?1 AND sha256 = ?2",
                    params![archive.till_id, archive.sha256],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = held {
                return Ok(PutArchive {
                    id,
                    already_held: true,
                });
            }
            tx.execute(
                "INSERT INTO till_archives (till_id, period_from, period_to, sha256, size, content, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    archive.till_id,
                    archive.period_from,
                    archive.period_to,
                    archive.sha256,
                    archive.content.len() as i64,
                    archive.content,
                    archive.received_at,
                ],
            )?;
            let id = tx.last_insert_rowid();
            append_check(&tx, id, &archive.check, &archive.content)?;
            tx.commit()?;
            Ok(PutArchive {
                id,
                already_held: false,
            })
        })
        .await
    }

    async fn archives(&self, shops: &ShopSelection, page: &Page<i64>) -> Result<Vec<ArchiveInfo>> {
        let (shops, page) = (shops.clone(), page.clone());
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "{INFO} WHERE {} AND a.id > ?3 ORDER BY a.id LIMIT ?4",
                ShopSelection::condition("t.shop_id", "?1", "?2")
            ))?;
            let rows = stmt.query_map(
                params![
                    shops.shop,
                    shops.region,
                    page.after.unwrap_or(0),
                    page.limit
                ],
                info,
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn archive_content(&self, id: i64) -> Result<Option<(ArchiveInfo, Vec<u8>)>> {
        self.read(move |c| {
            let found = c
                .query_row(&format!("{INFO} WHERE a.id = ?1"), params![id], info)
                .optional()?;
            let Some(found) = found else {
                return Ok(None);
            };
            let content: Vec<u8> = c.query_row(
                "SELECT content FROM till_archives WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )?;
            Ok(Some((found, content)))
        })
        .await
    }

    async fn record_archive_check(&self, id: i64, check: &NewArchiveCheck) -> Result<bool> {
        let check = check.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let evidence: Vec<u8> = tx.query_row(
                "SELECT substr(content, 1, ?2) FROM till_archives WHERE id = ?1",
                params![id, MAX_ALARM_EVIDENCE_BYTES as i64],
                |r| r.get(0),
            )?;
            let raised = append_check(&tx, id, &check, &evidence)?;
            tx.commit()?;
            Ok(raised)
        })
        .await
    }
}
