//! Proof of purchase: the part of a receipt's QR code that only the printed original carries.
//!
//! A ticket's *reference* (`POS1:TILL:NUMBER:HASH16`) is public: it is printed in clear on the
//! receipt, shown in the preview, answered by the API. It finds a ticket, as typing its number
//! does, and proves nothing. The QR code printed on the original receipt carries the reference
//! plus a *proof*, `REFERENCE:PROOF`, where PROOF is an HMAC-SHA256 of the reference under a
//! per-till key kept in its own 0600 file next to the ledger (`till.db.receipt-key`). No command
//! answers the proof: the preview, a sale's answer and a reprint (a duplicate, whose QR code is
//! the reference alone) never hold it, so a refund "with the receipt" needs the paper the customer
//! took home. A lost key file only means that older receipts need a manager's approval.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use pos_till::system::{random_id, random_secret};
use sha2::Sha256;

use crate::error::{ApiError, ApiResult};

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the key; bytes of the proof printed, in hex (80 bits: never guessed at a till).
const KEY_BYTES: usize = 32;
const PROOF_BYTES: usize = 10;

/// What a scanned QR code shows.
#[derive(Debug, PartialEq, Eq)]
pub enum Scanned<'a> {
    /// The original receipt: its reference with a proof that checks.
    Original(&'a str),
    /// A reference without proof (a duplicate, the screen, a receipt older than proofs).
    ReferenceOnly(&'a str),
    /// A proof that does not check: a forged or mistyped code.
    Forged,
}

/// The till's receipt key.
pub struct ReceiptKey {
    key: [u8; KEY_BYTES],
}

/// The key file of a ledger: `till.db` -> `till.db.receipt-key`.
pub fn key_file_for(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".receipt-key");
    db.with_file_name(name)
}

impl ReceiptKey {
    /// Reads the key file next to the ledger `db`, creating it (mode 0600) on first use. The
    /// app window and the HTTP transport may start together on one ledger: the key is written
    /// to a file of its own, then linked into place, so both read the same complete key.
    pub fn open(db: &Path) -> ApiResult<ReceiptKey> {
        let path = key_file_for(db);
        let unreadable = |e: std::io::Error| {
            ApiError::failure(
                "receipt_key_unreadable",
                format!(
                    "{}: {e}: restore the file or remove it (older receipts then need a manager for refunds)",
                    path.display()
                ),
            )
        };
        match read_key(&path) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                create_key(&path).map_err(unreadable)?;
                read_key(&path).map_err(unreadable)
            }
            read => read.map_err(unreadable),
        }
    }

    fn mac(&self, reference: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(reference.as_bytes());
        mac
    }

    fn proof(&self, reference: &str) -> String {
        hex::encode(&self.mac(reference).finalize().into_bytes()[..PROOF_BYTES])
    }

    /// What the original receipt's QR code holds: the reference and its proof.
    pub fn printed_qr(&self, reference: &str) -> String {
        format!("{reference}:{}", self.proof(reference))
    }

    /// Splits a scanned code into its reference and tells whether it proves the original.
    pub fn check<'a>(&self, scanned: &'a str) -> Scanned<'a> {
        let scanned = scanned.trim();
        // A reference has four parts; the proof is a fifth.
        if scanned.matches(':').count() < 4 {
            return Scanned::ReferenceOnly(scanned);
        }
        let Some((reference, proof)) = scanned.rsplit_once(':') else {
            return Scanned::ReferenceOnly(scanned);
        };
        // Checked in constant time: the answer must not tell how much of a guess was right.
        let same = proof.len() == 2 * PROOF_BYTES
            && hex::decode(proof)
                .is_ok_and(|tag| self.mac(reference).verify_truncated_left(&tag).is_ok());
        if same {
            Scanned::Original(reference)
        } else {
            Scanned::Forged
        }
    }
}

fn read_key(path: &Path) -> std::io::Result<ReceiptKey> {
    let mut file = OpenOptions::new().read(true).open(path)?;
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "the receipt key file is readable by others: chmod 600 it"
        );
    }
    let mut key = [0u8; KEY_BYTES];
    file.read_exact(&mut key)?;
    Ok(ReceiptKey { key })
}

/// Writes a new random key to `path` unless another process did first.
fn create_key(path: &Path) -> std::io::Result<()> {
    let key: [u8; KEY_BYTES] = random_secret().map_err(std::io::Error::other)?;
    let draft_id = random_id().map_err(std::io::Error::other)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", hex::encode(draft_id)));
    let draft = path.with_file_name(name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&draft)?;
    file.write_all(&key)?;
    file.sync_all()?;
    // A link never replaces: the first process to link wins, the others read its key.
    let linked = std::fs::hard_link(&draft, path);
    let _ = std::fs::remove_file(&draft);
    match linked {
        Err(e) if e.kind() != ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_printed_code_proves_the_original_and_the_key_file_is_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("till.db");
        let key = ReceiptKey::open(&db).expect("key");
        let mode = std::fs::metadata(key_file_for(&db))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the receipt key file is readable by its owner only"
        );
        let reference = "POS1:T1:12:0123456789abcdef";
        let printed = key.printed_qr(reference);
        assert_eq!(key.check(&printed), Scanned::Original(reference));
        assert_eq!(
            ReceiptKey::open(&db).expect("again").check(&printed),
            Scanned::Original(reference),
            "the key survives a restart: yesterday's receipts still prove"
        );
        assert_eq!(
            key.check(reference),
            Scanned::ReferenceOnly(reference),
            "the public reference proves nothing"
        );
        let forged = format!("{reference}:{}", "0".repeat(2 * PROOF_BYTES));
        assert_eq!(key.check(&forged), Scanned::Forged);
    }

    #[test]
    fn processes_starting_together_share_one_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("till.db");
        let keys: Vec<ReceiptKey> = std::thread::scope(|s| {
            let starts: Vec<_> = (0..8)
                .map(|_| s.spawn(|| ReceiptKey::open(&db).expect("key")))
                .collect();
            starts
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let printed = keys[0].printed_qr("POS1:T1:1:0123456789abcdef");
        assert!(
            keys.iter().all(|k| k.check(&printed) != Scanned::Forged),
            "every process checks the receipts any of them printed"
        );
        let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(leftovers, 1, "only the key file is left");
    }
}
