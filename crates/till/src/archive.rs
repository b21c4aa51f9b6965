//! Signed archives of a period: every record of every chain timestamped in the period, in an
//! open format (JSON, described by `schema/archive.schema.json`), signed with the till's key
//! and verifiable offline with nothing but the file.
//!
//! Each archived record is its stored canonical JSON object, so an auditor re-serializes it
//! canonically (see `pos_domain::record`), checks its signature with the archive's public key
//! and its link to the previous archived record of the chain. The archive's own signature
//! covers the canonical bytes of the whole archive object without its `signature` key. The
//! format and its verification live in [`pos_domain::archive`], which head office applies
//! to every archive a till uploads.
//!
//! The till archives each closed month, and each fiscal year at its closure, by itself
//! ([`Till::make_due_archives`], after the closure and again at each sync pass), into an
//! owner-only folder beside the ledger; [`crate::archive_upload`] sends them to head office.
//! An archive covers one month or one fiscal year, so it never spans two fiscal years.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use pos_domain::archive::ArchiveUnreadable;
use pos_domain::closure::{Closure, ClosureLevel};
use pos_domain::journal::{ArchiveMade, EventKind};
use pos_domain::record::{Chain, Depth, sha256_hex};
use serde::Serialize;
use serde_json::json;

use crate::engine::{SYSTEM_OPERATOR, Till, append_event, payload_of};
use crate::error::{Result, TillError};
use crate::ledger;

pub use pos_domain::archive::{Archive, ArchiveCheck, ArchivedChain, FORMAT};

/// What an export wrote.
#[derive(Clone, Debug, Serialize)]
pub struct ArchiveSummary {
    pub path: String,
    pub sha256: String,
    pub records: u64,
    pub archive_record: u64,
}

fn unsigned_bytes(archive: &Archive) -> Result<Vec<u8>> {
    pos_domain::archive::unsigned_bytes(archive).map_err(|e| TillError::Corrupt(e.to_string()))
}

impl Till {
    fn local_midnight(&self, day: NaiveDate) -> Result<DateTime<Utc>> {
        let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        self.identity
            .timezone
            .from_local_datetime(&naive)
            .earliest()
            .map(|at| at.with_timezone(&Utc))
            .ok_or_else(|| {
                TillError::invalid(
                    "date_invalid",
                    format!("{day} has no midnight in {}", self.identity.timezone),
                )
            })
    }

    /// Exports the records of the local days `from..=to` to `out`, after verifying the ledger,
    /// and records the archive in the archive chain and the event journal.
    pub fn archive_export(
        &mut self,
        operator: &str,
        from: NaiveDate,
        to: NaiveDate,
        out: &Path,
    ) -> Result<ArchiveSummary> {
        if to < from {
            return Err(TillError::invalid(
                "period_invalid",
                format!("the period ends ({to}) before it starts ({from})"),
            ));
        }
        let report = self.verify(Depth::Full)?;
        if !report.intact() {
            return Err(TillError::invalid(
                "ledger_broken",
                "the ledger fails verification: run `till verify`, keep the file and call support before archiving",
            ));
        }
        let (start, end) = (
            self.local_midnight(from)?,
            self.local_midnight(to.succ_opt().unwrap_or(to))?,
        );
        let mut chains = Vec::new();
        let mut count = 0;
        for chain in Chain::ALL {
            let Some((first, last)) = ledger::seq_range_between(&self.conn, chain, start, end)?
            else {
                continue;
            };
            let mut records = Vec::new();
            ledger::for_each_in(&self.conn, chain, first, last, |record| {
                records.push(
                    serde_json::from_slice(&record.stored)
                        .map_err(|e| TillError::Corrupt(e.to_string()))?,
                );
                Ok(())
            })?;
            count += records.len() as u64;
            chains.push(ArchivedChain {
                chain,
                first_seq: first,
                last_seq: last,
                records,
            });
        }
        let mut archive = Archive {
            format: FORMAT.into(),
            till_id: self.identity.till_id.clone(),
            shop_name: self.identity.shop_name.clone(),
            public_key: self.identity.public_key.clone(),
            from: from.to_string(),
            to: to.to_string(),
            timezone: self.identity.timezone.name().into(),
            created_at: self.clock.now(),
            software: crate::engine::SOFTWARE.into(),
            chains,
            signature: String::new(),
        };
        archive.signature = self.sign_bytes(&unsigned_bytes(&archive)?)?;
        let mut bytes =
            serde_json::to_vec_pretty(&archive).map_err(|e| TillError::Corrupt(e.to_string()))?;
        bytes.push(b'\n');
        write_durably(out, &bytes)?;
        let sha256 = sha256_hex(&bytes);
        let made = ArchiveMade {
            from: archive.from.clone(),
            to: archive.to.clone(),
            file_sha256: sha256.clone(),
            records: count,
        };
        let payload = serde_json::to_value(&made).map_err(|e| TillError::Corrupt(e.to_string()))?;
        let record = self.write(operator, |tx, author| {
            let record = ledger::append(tx, author, Chain::Archive, payload, None)?;
            append_event(
                tx,
                author,
                EventKind::ArchiveMade,
                json!({"from": made.from, "to": made.to, "sha256": made.file_sha256}),
            )?;
            Ok(record)
        })?;
        Ok(ArchiveSummary {
            path: out.display().to_string(),
            sha256,
            records: count,
            archive_record: record.record.seq,
        })
    }
}

/// The period (first and last local day) of a month (`YYYY-MM`) or fiscal-year
/// (`FIRST/LAST`) closure; `None` for a day closure, whose days the month's archive holds.
fn archived_period(closure: &Closure) -> Option<(NaiveDate, NaiveDate)> {
    match closure.level {
        ClosureLevel::Day => None,
        ClosureLevel::Month => {
            let first =
                NaiveDate::parse_from_str(&format!("{}-01", closure.period), "%Y-%m-%d").ok()?;
            let next = first.checked_add_months(chrono::Months::new(1))?;
            Some((first, next.pred_opt()?))
        }
        ClosureLevel::Year => {
            let (first, last) = closure.period.split_once('/')?;
            Some((
                NaiveDate::parse_from_str(first, "%Y-%m-%d").ok()?,
                NaiveDate::parse_from_str(last, "%Y-%m-%d").ok()?,
            ))
        }
    }
}

/// The file name of the automatic archive of `from..=to` in [`Till::archives_dir`].
pub fn archive_file_name(from: NaiveDate, to: NaiveDate) -> String {
    format!("{from}_{to}.json")
}

impl Till {
    /// The folder of the archives the till makes by itself (owner-only): beside the ledger,
    /// named after it (`till.db` keeps them in `till.db-archives/`).
    pub fn archives_dir(&self) -> PathBuf {
        let name = self
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ledger".into());
        self.path().with_file_name(format!("{name}-archives"))
    }

    /// Makes the archive of every closed month and fiscal year that has none yet, oldest
    /// first, into [`Till::archives_dir`]; each is recorded in the archive chain, so the sync
    /// pass uploads it ([`crate::archive_upload`]). Called after a month or year closure and
    /// at each sync pass, so an archive a closure could not make (a full disk) is made later.
    pub fn make_due_archives(&mut self) -> Result<Vec<ArchiveSummary>> {
        let archived = self.archived_periods()?;
        let mut due = Vec::new();
        let head = ledger::head(&self.conn, Chain::Closure)?.map_or(0, |(seq, _)| seq);
        ledger::for_each_in(&self.conn, Chain::Closure, 1, head, |record| {
            let closure: Closure = payload_of(&record)?;
            if let Some(period) = archived_period(&closure)
                && !archived.contains(&period)
                && !due.contains(&period)
            {
                due.push(period);
            }
            Ok(())
        })?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let dir = self.archives_dir();
        create_owner_only_dir(&dir)?;
        let mut made = Vec::new();
        for (from, to) in due {
            let out = dir.join(archive_file_name(from, to));
            made.push(self.archive_export(SYSTEM_OPERATOR, from, to, &out)?);
        }
        Ok(made)
    }

    /// The periods of the archives recorded in the archive chain.
    fn archived_periods(&self) -> Result<HashSet<(NaiveDate, NaiveDate)>> {
        Ok(self
            .archives_made()?
            .into_iter()
            .filter_map(|(_, made)| {
                Some((
                    NaiveDate::parse_from_str(&made.from, "%Y-%m-%d").ok()?,
                    NaiveDate::parse_from_str(&made.to, "%Y-%m-%d").ok()?,
                ))
            })
            .collect())
    }

    /// Every archive recorded in the archive chain, with its sequence, oldest first.
    pub(crate) fn archives_made(&self) -> Result<Vec<(u64, ArchiveMade)>> {
        let mut made = Vec::new();
        let head = ledger::head(&self.conn, Chain::Archive)?.map_or(0, |(seq, _)| seq);
        ledger::for_each_in(&self.conn, Chain::Archive, 1, head, |record| {
            made.push((record.record.seq, payload_of(&record)?));
            Ok(())
        })?;
        Ok(made)
    }
}

fn create_owner_only_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| TillError::File {
        path: dir.display().to_string(),
        source,
    })
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_error = |source| TillError::File {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("partial");
    let mut file = std::fs::File::create(&tmp).map_err(file_error)?;
    file.write_all(bytes).map_err(file_error)?;
    file.sync_all().map_err(file_error)?;
    std::fs::rename(&tmp, path).map_err(file_error)?;
    Ok(())
}

/// Checks an archive file offline: its own signature, and every record's signature and links
/// ([`pos_domain::archive::check`], the rule head office applies too).
pub fn verify_archive(path: &Path) -> Result<ArchiveCheck> {
    let bytes = std::fs::read(path).map_err(|source| TillError::File {
        path: path.display().to_string(),
        source,
    })?;
    pos_domain::archive::check(&bytes).map_err(|e| {
        let code = match e {
            ArchiveUnreadable::Format(_) => "archive_format",
            _ => "archive_invalid",
        };
        TillError::invalid(code, format!("{}: {e}", path.display()))
    })
}

impl Till {
    pub(crate) fn sign_bytes(&self, bytes: &[u8]) -> Result<String> {
        Ok(self.signer().sign(bytes)?.to_string())
    }
}
