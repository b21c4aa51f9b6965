//! What head office makes of a till's archive: whether it verifies, by the one rule of
//! [`pos_domain::archive::check`], with the key head office enrolled for that till (never
//! the key the archive names alone), and whether its bytes are still those received.
//!
//! Archives are kept at least [`KEEP_YEARS`] years (the French tax rules on cash systems):
//! head office has no path that deletes or changes one, and both backends refuse it.

use pos_domain::archive::{self, ArchiveUnreadable};
use pos_domain::record::{PublicKey, sha256_hex};

/// The years an archive is kept at least; nothing at head office deletes one.
pub const KEEP_YEARS: u32 = 6;
/// The alarm kind of an archive that does not verify, on arrival or at a re-check.
pub const ALARM_KIND: &str = "archive_unverified";
/// The `chain` an archive's alarm names (its `seq` is the archive's id at head office).
pub const ALARM_CHAIN: &str = "archive";
/// The largest archive a till may upload (a busy till's fiscal year fits).
pub const MAX_ARCHIVE_BYTES: usize = 512 * 1024 * 1024;

/// The verdict on an archive's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// First and last local day archived.
    pub from: String,
    pub to: String,
    /// Hex SHA-256 of the bytes judged.
    pub sha256: String,
    pub intact: bool,
    /// Why it does not verify; `None` when intact.
    pub defect: Option<String>,
}

/// Judges an archive `till_id` uploads, with the till's enrolled key: an archive that reads
/// but does not verify is a verdict (kept, and alarmed); bytes that are not an archive are
/// an error (refused).
pub fn judge(
    bytes: &[u8],
    till_id: &str,
    enrolled: &PublicKey,
) -> Result<Verdict, ArchiveUnreadable> {
    let check = archive::check(bytes)?;
    let defect = if check.till_id != till_id {
        Some(format!(
            "the archive is of till `{}`, uploaded by `{till_id}`",
            check.till_id
        ))
    } else if check.public_key.parse::<PublicKey>().ok().as_ref() != Some(enrolled) {
        Some("the archive is signed with another key than the till's enrolled key".into())
    } else {
        check.defect()
    };
    Ok(Verdict {
        from: check.from,
        to: check.to,
        sha256: sha256_hex(bytes),
        intact: defect.is_none(),
        defect,
    })
}

/// Judges a stored archive again: its bytes must still hash to what was received
/// (`stored_sha256`) and verify with the till's enrolled key.
pub fn rejudge(
    bytes: &[u8],
    stored_sha256: &str,
    till_id: &str,
    enrolled: &PublicKey,
    (from, to): (&str, &str),
) -> Verdict {
    let mut verdict = judge(bytes, till_id, enrolled).unwrap_or_else(|e| Verdict {
        from: from.into(),
        to: to.into(),
        sha256: sha256_hex(bytes),
        intact: false,
        defect: Some(e.to_string()),
    });
    if verdict.sha256 != stored_sha256 {
        let why = format!(
            "the stored bytes changed since they were received (SHA-256 {} instead of {stored_sha256})",
            verdict.sha256
        );
        verdict.defect = Some(match verdict.defect {
            Some(defect) => format!("{why}; {defect}"),
            None => why,
        });
        verdict.intact = false;
    }
    verdict
}
