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
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{ApiError, ApiResult};

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the key; hex digits of the proof printed (80 bits: never guessed at a till).
const KEY_BYTES: usize = 32;
const PROOF_HEX: usize = 20;

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
    /// Reads the key file next to the ledger `db`, creating it (mode 0600) on first use.
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
        let mut key = [0u8; KEY_BYTES];
        match OpenOptions::new().read(true).open(&path) {
            Ok(mut file) => {
                file.read_exact(&mut key).map_err(unreadable)?;
                Ok(ReceiptKey { key })
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                getrandom::fill(&mut key)
                    .map_err(|e| ApiError::failure("randomness_unavailable", e.to_string()))?;
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(unreadable)?;
                file.write_all(&key)
                    .and_then(|()| file.sync_all())
                    .map_err(unreadable)?;
                Ok(ReceiptKey { key })
            }
            Err(e) => Err(unreadable(e)),
        }
    }

    fn proof(&self, reference: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(reference.as_bytes());
        let digest = mac.finalize().into_bytes();
        hex::encode(digest)[..PROOF_HEX].to_string()
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
        let expected = self.proof(reference);
        // Compared in constant time: the answer must not tell how many digits were right.
        let same = proof.len() == expected.len()
            && proof
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0;
        if same {
            Scanned::Original(reference)
        } else {
            Scanned::Forged
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

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
        let forged = format!("{reference}:{}", "0".repeat(PROOF_HEX));
        assert_eq!(key.check(&forged), Scanned::Forged);
    }
}
