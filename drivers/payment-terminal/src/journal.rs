//! The intent hook: the caller persists each payment intent before the first byte goes to the
//! terminal and its outcome afterwards, so that after a crash every open intent is known and
//! reported as unknown for a person to resolve.
//!
//! The till implements [`IntentJournal`] on its ledger. [`FileJournal`] is a small append-only
//! JSON-lines file, fsync'd on every record, used by `posdev`; it names card payments and their
//! amounts, so it is created readable by its owner only (mode 0600), and opening one others
//! may read logs a warning with the `chmod 600` to run.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::outcome::Outcome;
use crate::request::Kind;

/// A payment about to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub reference: String,
    pub kind: Kind,
    pub amount_cents: u64,
    pub currency: String,
    /// The terminal's description (protocol and link).
    pub terminal: String,
    /// Milliseconds since the Unix epoch when the intent was recorded.
    pub at_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("intent journal {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("intent journal {path}, line {line}: {error}")]
    Corrupt {
        path: String,
        line: usize,
        error: String,
    },
    #[error(
        "payment reference {0} is still open (its outcome is unknown): resolve it first \
         (posdev intents --resolve {0}), or use a new reference"
    )]
    ReferenceOpen(String),
    #[error("intent journal: {0}")]
    Other(String),
}

/// Where the client records intents and outcomes. `record_intent` must be durable when it
/// returns Ok: the client sends nothing if it fails.
pub trait IntentJournal {
    fn record_intent(&mut self, intent: &Intent) -> Result<(), JournalError>;
    fn record_outcome(&mut self, reference: &str, outcome: &Outcome) -> Result<(), JournalError>;
}

/// A journal that keeps records in memory (tests, and callers that persist elsewhere).
#[derive(Debug, Default, Clone)]
pub struct MemoryJournal {
    pub intents: Vec<Intent>,
    pub outcomes: Vec<(String, Outcome)>,
}

impl IntentJournal for MemoryJournal {
    fn record_intent(&mut self, intent: &Intent) -> Result<(), JournalError> {
        self.intents.push(intent.clone());
        Ok(())
    }

    fn record_outcome(&mut self, reference: &str, outcome: &Outcome) -> Result<(), JournalError> {
        self.outcomes.push((reference.to_string(), outcome.clone()));
        Ok(())
    }
}

/// One line of the journal file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Intent {
        intent: Intent,
    },
    Outcome {
        reference: String,
        outcome: Outcome,
    },
    /// A person checked the terminal and closed an open intent.
    Resolved {
        reference: String,
        resolution: String,
        at_ms: u64,
    },
}

/// Warns, naming the command that fixes it, when others than its owner may read the journal.
fn warn_if_shared(file: &File, path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file
            .metadata()
            .is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
        {
            tracing::warn!(
                file = %path.display(),
                "other users of this machine may read the payment journal {}: run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (file, path);
}

/// Append-only JSON-lines journal in `DIR/intents.jsonl`.
pub struct FileJournal {
    path: PathBuf,
    file: File,
    open: Vec<Intent>,
}

pub const JOURNAL_FILE: &str = "intents.jsonl";

impl FileJournal {
    /// Opens (creating if needed) the journal in `dir` and replays it. A torn last line (the
    /// process died mid-write, no newline) is removed: its record never became durable.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        let path = dir.join(JOURNAL_FILE);
        let io = |source| JournalError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut options = OpenOptions::new();
        options.create(true).append(true).read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(io)?;
        warn_if_shared(&file, &path);
        // Make the file's directory entry durable too, once.
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        // A record is durable once its line, newline included, is on disk. Bytes after the last
        // newline are a record torn by a crash mid-write: cut them off, so the next record
        // starts on a line of its own.
        let bytes = std::fs::read(&path).map_err(io)?;
        let durable = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if durable < bytes.len() {
            file.set_len(durable as u64)
                .and_then(|()| file.sync_data())
                .map_err(io)?;
        }
        let mut open: Vec<Intent> = Vec::new();
        for (i, line) in String::from_utf8_lossy(&bytes[..durable])
            .lines()
            .enumerate()
        {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Record>(line) {
                Ok(Record::Intent { intent }) => open.push(intent),
                Ok(Record::Outcome { reference, .. }) | Ok(Record::Resolved { reference, .. }) => {
                    open.retain(|i| i.reference != reference)
                }
                Err(e) => {
                    return Err(JournalError::Corrupt {
                        path: path.display().to_string(),
                        line: i + 1,
                        error: e.to_string(),
                    });
                }
            }
        }
        Ok(FileJournal { path, file, open })
    }

    /// Intents with neither an outcome nor a resolution: the process stopped mid-payment, so
    /// each one's outcome is unknown.
    pub fn open_intents(&self) -> &[Intent] {
        &self.open
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes an open intent after a person checked the terminal.
    pub fn resolve(&mut self, reference: &str, resolution: &str) -> Result<(), JournalError> {
        if !self.open.iter().any(|i| i.reference == reference) {
            return Err(JournalError::Other(format!(
                "no open intent with reference {reference:?}"
            )));
        }
        self.append(&Record::Resolved {
            reference: reference.to_string(),
            resolution: resolution.to_string(),
            at_ms: now_ms(),
        })?;
        self.open.retain(|i| i.reference != reference);
        Ok(())
    }

    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        let mut line =
            serde_json::to_vec(record).map_err(|e| JournalError::Other(e.to_string()))?;
        line.push(b'\n');
        let path = self.path.display().to_string();
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let before = self.file.metadata().map_err(io)?.len();
        // One write per record, then fsync: the record is durable before we return.
        let written = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data());
        if let Err(error) = written {
            // A partial line would glue itself to the next record and make the journal
            // unreadable: cut the file back to where it was before failing.
            let _ = self
                .file
                .set_len(before)
                .and_then(|()| self.file.sync_data());
            return Err(io(error));
        }
        Ok(())
    }
}

impl IntentJournal for FileJournal {
    fn record_intent(&mut self, intent: &Intent) -> Result<(), JournalError> {
        // Outcomes and resolutions are matched by reference: an open one must stay unique.
        if self.open.iter().any(|i| i.reference == intent.reference) {
            return Err(JournalError::ReferenceOpen(intent.reference.clone()));
        }
        self.append(&Record::Intent {
            intent: intent.clone(),
        })?;
        self.open.push(intent.clone());
        Ok(())
    }

    fn record_outcome(&mut self, reference: &str, outcome: &Outcome) -> Result<(), JournalError> {
        self.append(&Record::Outcome {
            reference: reference.to_string(),
            outcome: outcome.clone(),
        })?;
        self.open.retain(|i| i.reference != reference);
        Ok(())
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Approved, Outcome};

    fn intent(reference: &str) -> Intent {
        Intent {
            reference: reference.into(),
            kind: Kind::Debit,
            amount_cents: 1250,
            currency: "978".into(),
            terminal: "concert-v2 serial:///dev/null".into(),
            at_ms: 1,
        }
    }

    #[test]
    fn a_reference_still_open_cannot_start_a_second_payment() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = FileJournal::open(dir.path()).unwrap();
        j.record_intent(&intent("T42")).unwrap();
        let err = j.record_intent(&intent("T42")).unwrap_err();
        assert!(matches!(err, JournalError::ReferenceOpen(_)), "{err}");
        assert_eq!(
            j.open_intents().len(),
            1,
            "the first, unresolved intent stays open"
        );
        j.record_outcome("T42", &Outcome::Approved(Approved::default()))
            .unwrap();
        j.record_intent(&intent("T42")).unwrap();
    }

    #[test]
    fn intents_without_outcome_are_open_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut j = FileJournal::open(dir.path()).unwrap();
            j.record_intent(&intent("A")).unwrap();
            j.record_outcome("A", &Outcome::Approved(Approved::default()))
                .unwrap();
            j.record_intent(&intent("B")).unwrap();
        }
        let j = FileJournal::open(dir.path()).unwrap();
        let open: Vec<_> = j
            .open_intents()
            .iter()
            .map(|i| i.reference.as_str())
            .collect();
        assert_eq!(
            open,
            ["B"],
            "only the intent without an outcome is open after a restart"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_journal_is_created_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut j = FileJournal::open(dir.path()).unwrap();
        j.record_intent(&intent("A")).unwrap();
        let mode = std::fs::metadata(dir.path().join(JOURNAL_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the payment journal is created readable by its owner only"
        );
    }

    #[test]
    fn resolved_intents_are_closed_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut j = FileJournal::open(dir.path()).unwrap();
            j.record_intent(&intent("A")).unwrap();
            j.record_intent(&intent("B")).unwrap();
            j.resolve("A", "approved on the merchant receipt").unwrap();
            assert!(
                j.resolve("Z", "x").is_err(),
                "resolving an unknown reference is an error"
            );
        }
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(JOURNAL_FILE))
            .unwrap();
        f.write_all(b"{\"record\":\"outcome\",\"refer").unwrap(); // crash mid-write
        let j = FileJournal::open(dir.path()).unwrap();
        let open: Vec<_> = j
            .open_intents()
            .iter()
            .map(|i| i.reference.as_str())
            .collect();
        assert_eq!(
            open,
            ["B"],
            "a torn record never became durable, so B is still open"
        );
    }

    #[test]
    fn corruption_before_the_last_line_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JOURNAL_FILE), "garbage\n{}\n").unwrap();
        let err = FileJournal::open(dir.path())
            .err()
            .expect("corrupt journal must not open silently");
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
