//! The append-only ledger: appending signed records to their chain, reading them back, and
//! verifying every chain.
//!
//! An append reads the chain head, builds the next record (sequence + 1, `prev` = head hash),
//! signs it, inserts it and moves the head, all inside the caller's transaction, so a record and
//! whatever it describes commit together or not at all.

use chrono::{DateTime, Utc};
use pos_domain::record::{
    Chain, ChainReport, ChainVerifier, DefectKind, Depth, PublicKey, Record, SignedRecord, Signer,
    timestamp,
};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Result, TillError};

/// Who writes a record, and when.
pub struct Author<'a> {
    pub till_id: &'a str,
    pub timezone: &'a str,
    pub software: &'a str,
    pub operator: &'a str,
    pub at: DateTime<Utc>,
    pub signer: &'a dyn Signer,
}

/// The sequence and stored-bytes hash of a chain's newest record.
pub fn head(conn: &Connection, chain: Chain) -> Result<Option<(u64, String)>> {
    let mut stmt = conn.prepare_cached("SELECT seq, hash FROM chain_heads WHERE chain = ?1")?;
    Ok(stmt
        .query_row([chain.name()], |row| {
            Ok((row.get::<_, i64>(0)? as u64, row.get(1)?))
        })
        .optional()?)
}

/// Appends a record to `chain` in the open transaction `conn` and returns it signed.
/// `reference` is the ticket a record refers to (original of a return, ticket reprinted).
pub fn append(
    conn: &Connection,
    author: &Author<'_>,
    chain: Chain,
    payload: Value,
    reference: Option<u64>,
) -> Result<SignedRecord> {
    let head = head(conn, chain)?;
    Ok(append_after(conn, author, chain, head, payload, reference)?.0)
}

/// [`append`] for a caller that already read the chain's `head` in this transaction; also
/// returns the new record's hash, the chain's new head.
pub fn append_after(
    conn: &Connection,
    author: &Author<'_>,
    chain: Chain,
    head: Option<(u64, String)>,
    payload: Value,
    reference: Option<u64>,
) -> Result<(SignedRecord, String)> {
    let (seq, prev) = match head {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, String::new()),
    };
    let record = Record {
        till: author.till_id.to_string(),
        chain,
        seq,
        at: author.at,
        tz: author.timezone.to_string(),
        operator: author.operator.to_string(),
        software: author.software.to_string(),
        first: seq == 1,
        prev,
        payload,
    };
    let signed = record.sign(author.signer)?;
    let hash = signed.hash();
    conn.prepare_cached(
        "INSERT INTO records (chain, seq, at, ref, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        chain.name(),
        seq as i64,
        timestamp::format(&author.at),
        reference.map(|r| r as i64),
        signed.stored
    ])?;
    conn.prepare_cached(
        "INSERT INTO chain_heads (chain, seq, hash) VALUES (?1, ?2, ?3)
         ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    )?
    .execute(params![chain.name(), seq as i64, hash])?;
    Ok((signed, hash))
}

/// Reads one record back.
pub fn get(conn: &Connection, chain: Chain, seq: u64) -> Result<Option<SignedRecord>> {
    let body: Option<Vec<u8>> = conn
        .prepare_cached("SELECT body FROM records WHERE chain = ?1 AND seq = ?2")?
        .query_row(params![chain.name(), seq as i64], |row| {
            Ok(row.get_ref(0)?.as_bytes().unwrap_or_default().to_vec())
        })
        .optional()?;
    body.map(|b| parse(&b)).transpose()
}

/// Reads the records of a chain that refer to ticket `reference`, in order.
pub fn referring_to(conn: &Connection, chain: Chain, reference: u64) -> Result<Vec<SignedRecord>> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM records WHERE chain = ?1 AND ref = ?2 ORDER BY seq")?;
    let rows = stmt.query_map(params![chain.name(), reference as i64], |row| {
        Ok(row.get_ref(0)?.as_bytes().unwrap_or_default().to_vec())
    })?;
    rows.map(|body| parse(&body?)).collect()
}

/// Calls `each` for every record of `chain` with sequence in `from..=to`, in order.
pub fn for_each_in(
    conn: &Connection,
    chain: Chain,
    from: u64,
    to: u64,
    mut each: impl FnMut(SignedRecord) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM records WHERE chain = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq",
    )?;
    let mut rows = stmt.query(params![chain.name(), from as i64, to as i64])?;
    while let Some(row) = rows.next()? {
        each(parse(row.get_ref(0)?.as_bytes().unwrap_or_default())?)?;
    }
    Ok(())
}

/// Sequences of the records of `chain` whose timestamp lies in `[from, to)`.
pub fn seq_range_between(
    conn: &Connection,
    chain: Chain,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<(u64, u64)>> {
    let range: (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT min(seq), max(seq) FROM records WHERE chain = ?1 AND at >= ?2 AND at < ?3",
        params![
            chain.name(),
            timestamp::format(&from),
            timestamp::format(&to)
        ],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(match range {
        (Some(a), Some(b)) => Some((a as u64, b as u64)),
        _ => None,
    })
}

fn parse(body: &[u8]) -> Result<SignedRecord> {
    SignedRecord::from_stored(body).map_err(|e| TillError::Corrupt(e.to_string()))
}

/// The result of verifying every chain of a ledger.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub chains: Vec<ChainReport>,
    /// Rows stored under a chain name that does not exist.
    pub stray_rows: Vec<String>,
}

impl VerifyReport {
    pub fn intact(&self) -> bool {
        self.stray_rows.is_empty() && self.chains.iter().all(|c| c.defect.is_none())
    }

    pub fn records(&self) -> u64 {
        self.chains.iter().map(|c| c.records).sum()
    }
}

/// Verifies every chain: canonical bytes, sequence, links, signatures (all of them, or only
/// the newest with [`Depth::Links`]), agreement of the stored columns with the signed record,
/// and the chain heads.
pub fn verify(
    conn: &Connection,
    key: PublicKey,
    till_id: &str,
    depth: Depth,
) -> Result<VerifyReport> {
    // One read transaction: records and chain heads come from the same snapshot, even while
    // another process keeps selling.
    let snapshot = conn.unchecked_transaction()?;
    let conn: &Connection = &snapshot;
    let mut chains = Vec::new();
    for chain in Chain::ALL {
        chains.push(verify_chain(conn, key, till_id, chain, depth)?);
    }
    let names: Vec<String> = Chain::ALL
        .iter()
        .map(|c| format!("'{}'", c.name()))
        .collect();
    let stray_sql = format!(
        "SELECT chain || ' ' || seq FROM records WHERE chain NOT IN ({0})
         UNION ALL SELECT 'head ' || chain FROM chain_heads WHERE chain NOT IN ({0})",
        names.join(",")
    );
    let mut stmt = conn.prepare(&stray_sql)?;
    let stray_rows = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VerifyReport { chains, stray_rows })
}

fn verify_chain(
    conn: &Connection,
    key: PublicKey,
    till_id: &str,
    chain: Chain,
    depth: Depth,
) -> Result<ChainReport> {
    let mut verifier = ChainVerifier::new(key, till_id, chain, depth);
    let mut stmt =
        conn.prepare("SELECT seq, at, ref, body FROM records WHERE chain = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([chain.name()])?;
    while let Some(row) = rows.next()? {
        // Read every column leniently: whatever someone stored there with plain SQL (another
        // type included) must end up as a reported defect, never as an error that hides it.
        let seq = match row.get_ref(0)? {
            ValueRef::Integer(n) if n > 0 => n as u64,
            _ => 0,
        };
        let at =
            String::from_utf8_lossy(row.get_ref(1)?.as_bytes().unwrap_or_default()).into_owned();
        let reference = match row.get_ref(2)? {
            ValueRef::Null => None,
            ValueRef::Integer(n) => Some(n),
            _ => Some(-1),
        };
        let body = row.get_ref(3)?.as_bytes().unwrap_or_default().to_vec();
        let Ok(record) = verifier.push(seq, &body) else {
            break;
        };
        if at != timestamp::format(&record.record.at) {
            verifier.reject(seq, DefectKind::ColumnMismatch { column: "at" });
            break;
        }
        if reference != reference_of(chain, &record.record.payload).map(|r| r as i64) {
            verifier.reject(seq, DefectKind::ColumnMismatch { column: "ref" });
            break;
        }
    }
    let head = head(conn, chain)?;
    let head_seq = head.as_ref().map(|(seq, _)| *seq).unwrap_or(0);
    let mut report = verifier.finish(Some(head_seq));
    if report.defect.is_none()
        && let Some((seq, hash)) = head
        && hash != report.last_hash
    {
        report.defect = Some(pos_domain::record::Defect {
            chain: chain.to_string(),
            seq,
            reason: DefectKind::ColumnMismatch {
                column: "chain_heads.hash",
            }
            .to_string(),
        });
    }
    Ok(report)
}

/// The ticket a record refers to, as stored in the `ref` column. A return of another till's
/// ticket (`original_till`) refers to none of this till's.
pub fn reference_of(chain: Chain, payload: &Value) -> Option<u64> {
    match chain {
        Chain::Ticket | Chain::Training if payload.get("original_till").is_some() => None,
        Chain::Ticket | Chain::Training => payload.get("original").and_then(Value::as_u64),
        Chain::Duplicate => payload.get("ticket").and_then(Value::as_u64),
        _ => None,
    }
}
