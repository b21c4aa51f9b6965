//! The upload of the till's archives to head office, in each sync pass after the records:
//! every archive of the archive chain that head office has not acknowledged yet, read from
//! [`Till::archives_dir`] and sent byte for byte (`POST /api/v1/tills/{till}/archives`).
//!
//! Exactly once, resumable: an archive is marked sent (`archive_uploads`, by the file's
//! SHA-256) only once head office answered that it holds it; a pass cut short sends the rest
//! next time, and a resend of an archive head office holds stores nothing there. An archive
//! exported by hand elsewhere (`till archive export --out`) is the operator's copy: only the
//! files of the archives folder are sent.

use chrono::NaiveDate;
use pos_domain::archive::ArchiveReceipt;
use pos_domain::record::{sha256_hex, timestamp};
use rusqlite::{OptionalExtension, params};

use crate::archive::archive_file_name;
use crate::engine::Till;
use crate::error::{Result, TillError};
use crate::sync::Server;

impl Till {
    /// Sends head office every archive it has not acknowledged; returns how many it stored
    /// or already held in this pass.
    pub(crate) fn upload_archives(&mut self, server: &Server) -> Result<u64> {
        let path = format!("/api/v1/tills/{}/archives", self.identity.till_id);
        let dir = self.archives_dir();
        let mut sent = 0;
        for (_, made) in self.archives_made()? {
            if self.archive_uploaded(&made.file_sha256)? {
                continue;
            }
            let (Ok(from), Ok(to)) = (
                NaiveDate::parse_from_str(&made.from, "%Y-%m-%d"),
                NaiveDate::parse_from_str(&made.to, "%Y-%m-%d"),
            ) else {
                continue;
            };
            let file = dir.join(archive_file_name(from, to));
            let bytes = match std::fs::read(&file) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(TillError::File {
                        path: file.display().to_string(),
                        source,
                    });
                }
            };
            if sha256_hex(&bytes) != made.file_sha256 {
                // Another file than the one recorded: send it still, so head office's
                // verification judges it and alarms; the recorded hash stays unsent.
                tracing::warn!(file = %file.display(), "an archive file differs from the one recorded");
            }
            let receipt: ArchiveReceipt =
                server
                    .http
                    .post_json_bytes(&path, Some(&server.token), bytes)?;
            if receipt.sha256 == made.file_sha256 {
                self.mark_archive_uploaded(&made.file_sha256)?;
            }
            sent += 1;
        }
        Ok(sent)
    }

    fn archive_uploaded(&self, sha256: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM archive_uploads WHERE sha256 = ?1",
                params![sha256],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn mark_archive_uploaded(&self, sha256: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO archive_uploads (sha256, uploaded_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![sha256, timestamp::format(&self.clock.now())],
        )?;
        Ok(())
    }
}
