//! The logistics drop folder (`serve --logistics-inbox DIR`, config key `logistics_inbox`):
//! logistics drops CSV files of advance shipping notices into DIR, and head office takes each
//! in whole or not at all.
//!
//! The format, one line per notice line, with a header (see [`pos_hq_core::logistics`]):
//!
//! ```text
//! notice,shop,product,quantity,unit,imeis
//! ASN-1001,PARIS-OPERA,ACC-COQ-IP16,10,units,
//! ASN-1001,PARIS-OPERA,TEL-IP16-128,2,,356938035643809|356938035643817
//! ```
//!
//! `unit` (`units` by default, or `grams`) and `imeis` (`|`-separated, one per unit) may be
//! empty. Only `*.csv` names are read: write a file under another name (`x.csv.part`) and
//! rename it, so a half-written file is never taken.
//!
//! Every few seconds ([`POLL`]) the folder is swept, by one server at a time (the lead of the
//! singleton job [`JOB`], as the NATS publisher's). A file is applied in ONE transaction that
//! stores its notices (each sent to its shop's tills) and records the file's SHA-256; then it
//! is moved to `DIR/done/` with `<name>.report.txt` beside it (the notices and lines applied).
//! A bad file (a line that cannot be read, an unknown shop or product, a notice id held with
//! other content) is moved to `DIR/failed/` with a report naming each bad line (its number and
//! why) and nothing applied. A server killed at any instant loses nothing and applies nothing
//! twice: a file whose hash is recorded is moved to `done/` on the next sweep without being
//! applied again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use pos_hq_core::logistics::{BadLine, MAX_FILE_BYTES, NoticeFile, read_notice_file};
use sha2::{Digest, Sha256};

use crate::feeds::{Shutdown, lead, stopped};
use crate::logistics_api::refusal;
use crate::store::Store;
use crate::store::logistics::{Admitted, AppliedFile};

/// The singleton job's name: one server sweeps the folder at a time.
pub const JOB: &str = "logistics-inbox";
/// How often the folder is swept.
pub const POLL: Duration = Duration::from_secs(2);
/// Test-only: when set, the sweeper stops for good right after a file's transaction commits
/// (before the move), so a test can kill the server at that instant.
pub const PAUSE_AFTER_COMMIT_VAR: &str = "SYNC_TEST_INBOX_PAUSE_AFTER_COMMIT";

/// What became of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Applied now: moved to `done/`.
    Applied { notices: u64, lines: u64 },
    /// Its SHA-256 was already recorded (applied before a crash): moved to `done/`.
    AlreadyApplied,
    /// Moved to `failed/`, nothing applied.
    Failed(Vec<BadLine>),
}

/// The drop folder.
#[derive(Clone, Debug)]
pub struct Inbox {
    dir: PathBuf,
}

impl Inbox {
    /// The folder `dir`, with its `done/` and `failed/` made (owner-only) if missing.
    pub fn open(dir: &Path) -> std::io::Result<Inbox> {
        for sub in ["done", "failed"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path)?;
            restrict(&path)?;
        }
        Ok(Inbox {
            dir: dir.to_path_buf(),
        })
    }

    /// Sweeps the folder while this server leads [`JOB`], until `shutdown`.
    pub async fn run(self, store: Arc<dyn Store>, mut shutdown: Shutdown) {
        loop {
            let Some(mut leading) = lead(store.as_ref(), JOB, POLL, &mut shutdown).await else {
                return;
            };
            while leading.still_leading().await {
                if let Err(e) = self.sweep(store.as_ref()).await {
                    tracing::warn!(dir = %self.dir.display(), error = %e, "logistics inbox: sweep failed; retrying");
                }
                tokio::select! {
                    _ = stopped(&mut shutdown) => return,
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
            tracing::warn!(job = JOB, "lost the lead; standing by");
        }
    }

    /// Takes in every `*.csv` file of the folder, by name.
    pub async fn sweep(&self, store: &dyn Store) -> std::io::Result<Vec<(String, Outcome)>> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let name = entry.file_name().into_string().ok()?;
                (entry.file_type().ok()?.is_file() && name.ends_with(".csv")).then_some(name)
            })
            .collect();
        names.sort();
        let mut outcomes = Vec::new();
        for name in names {
            let outcome = self.take(store, &name).await?;
            tracing::info!(file = %name, outcome = ?outcome, "logistics inbox: file taken");
            outcomes.push((name, outcome));
        }
        Ok(outcomes)
    }

    /// Applies one file, all or nothing, then moves it with its report.
    async fn take(&self, store: &dyn Store, name: &str) -> std::io::Result<Outcome> {
        let path = self.dir.join(name);
        let size = std::fs::metadata(&path)?.len();
        if size > MAX_FILE_BYTES {
            let bad = vec![BadLine {
                line: 0,
                reason: format!(
                    "the file is {size} bytes, more than the {MAX_FILE_BYTES} taken: split it"
                ),
            }];
            return self.fail(name, "-", bad);
        }
        let bytes = std::fs::read(&path)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if let Some(applied) = store.applied_file(&sha256).await.map_err(io_error)? {
            let report = format!(
                "file: {name}\nsha256: {sha256}\nalready applied at {} as `{}` ({} notices, {} lines): recognized by its SHA-256, not applied again\n",
                applied.applied_at, applied.name, applied.notices, applied.lines
            );
            self.finish(name, "done", &report)?;
            return Ok(Outcome::AlreadyApplied);
        }
        let file = match read_notice_file(&bytes) {
            Ok(file) => file,
            Err(bad) => return self.fail(name, &sha256, bad),
        };
        let now = Utc::now();
        let record = AppliedFile {
            sha256: sha256.clone(),
            name: name.to_string(),
            notices: file.notices.len() as u64,
            lines: file.line_count(),
            applied_at: pos_domain::record::timestamp::format(&now),
        };
        let admitted = store
            .admit_notices(&file.notices, Some(&record), now)
            .await
            .map_err(io_error)?;
        let bad = refused_lines(&file, &admitted);
        if !bad.is_empty() {
            return self.fail(name, &sha256, bad);
        }
        if std::env::var_os(PAUSE_AFTER_COMMIT_VAR).is_some() {
            tracing::warn!(file = %name, "logistics inbox: paused after the commit (test hook)");
            std::future::pending::<()>().await;
        }
        self.finish(
            name,
            "done",
            &applied_report(name, &sha256, &file, &admitted),
        )?;
        Ok(Outcome::Applied {
            notices: record.notices,
            lines: record.lines,
        })
    }

    fn fail(&self, name: &str, sha256: &str, bad: Vec<BadLine>) -> std::io::Result<Outcome> {
        let mut report = format!(
            "file: {name}\nsha256: {sha256}\nnothing applied: {} bad line(s); correct them and drop the whole file again\n",
            bad.len()
        );
        for b in &bad {
            report.push_str(&format!("line {}: {}\n", b.line, b.reason));
        }
        self.finish(name, "failed", &report)?;
        Ok(Outcome::Failed(bad))
    }

    /// Writes the report into `sub/`, then moves the file there (a name already there gets
    /// the time as a prefix: nothing is overwritten).
    fn finish(&self, name: &str, sub: &str, report: &str) -> std::io::Result<()> {
        let folder = self.dir.join(sub);
        let mut target = name.to_string();
        if folder.join(&target).exists() {
            target = format!("{}-{name}", Utc::now().format("%Y%m%dT%H%M%S%.6f"));
        }
        let report_path = folder.join(format!("{target}.report.txt"));
        std::fs::write(&report_path, report)?;
        restrict(&report_path)?;
        std::fs::rename(self.dir.join(name), folder.join(&target))
    }
}

/// The lines of the notices storage refused, each with why.
fn refused_lines(file: &NoticeFile, admitted: &[Admitted]) -> Vec<BadLine> {
    let mut bad = Vec::new();
    for (index, (notice, answer)) in file.notices.iter().zip(admitted).enumerate() {
        let Some(failure) = refusal(notice, answer) else {
            continue;
        };
        let product = match answer {
            Admitted::UnknownProduct(product) => Some(product.as_str()),
            _ => None,
        };
        for line in file.lines_of(index, product) {
            bad.push(BadLine {
                line,
                reason: format!("notice `{}`: {}", notice.id, failure.message),
            });
        }
    }
    bad.sort_by_key(|b| b.line);
    bad
}

fn applied_report(name: &str, sha256: &str, file: &NoticeFile, admitted: &[Admitted]) -> String {
    let mut report = format!(
        "file: {name}\nsha256: {sha256}\napplied: {} notice(s), {} line(s)\n",
        file.notices.len(),
        file.line_count()
    );
    for (notice, answer) in file.notices.iter().zip(admitted) {
        let what = if *answer == Admitted::Stored {
            "stored, sent to the shop's tills"
        } else {
            "already held with the same content, unchanged"
        };
        report.push_str(&format!(
            "notice {} for shop {}: {} line(s), {what}\n",
            notice.id,
            notice.shop_id,
            notice.lines.len()
        ));
    }
    report
}

fn io_error(e: crate::store::StoreError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Owner-only: notices and reports name shops, products and handsets.
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}
