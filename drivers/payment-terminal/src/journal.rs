//! The intent hook: the caller persists each payment intent before the first byte goes to the
//! terminal and its outcome afterwards, so that after a crash every open intent is known and
//! reported as unknown for a person to resolve, and every charge the terminal approved is known
//! until the caller releases it (the charge is on a ticket, or was given back on the terminal).
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
        /// What the person found: charged (`true`) or not. Absent in journals written before
        /// it was recorded, read as "not charged".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approved: Option<bool>,
    },
    /// A charge is accounted for: recorded on a ticket, or given back on the terminal.
    Released {
        reference: String,
        why: String,
        at_ms: u64,
    },
}

/// A transaction the terminal approved (or a person found approved) and that the caller has not
/// released yet: money moved that no ticket may hold yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charged {
    pub intent: Intent,
    /// What was actually charged (a partial approval is less than the intent).
    pub amount_cents: u64,
    pub authorisation: Option<String>,
    pub masked_pan: Option<String>,
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
    charged: Vec<Charged>,
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
        // The journal's folder is the owner's only, like the file (card amounts, references).
        let mut folder = std::fs::DirBuilder::new();
        folder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
        folder.create(dir).map_err(io)?;
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
        let mut journal = FileJournal {
            path,
            file,
            open: Vec::new(),
            charged: Vec::new(),
        };
        // Every intent stays known while replaying: an outcome or resolution may come long
        // after its intent.
        let mut intents: Vec<Intent> = Vec::new();
        for (i, line) in String::from_utf8_lossy(&bytes[..durable])
            .lines()
            .enumerate()
        {
            if line.trim().is_empty() {
                continue;
            }
            let record =
                serde_json::from_str::<Record>(line).map_err(|e| JournalError::Corrupt {
                    path: journal.path.display().to_string(),
                    line: i + 1,
                    error: e.to_string(),
                })?;
            if let Record::Intent { intent } = &record {
                intents.push(intent.clone());
            }
            journal.replay(&record, &intents);
        }
        Ok(journal)
    }

    /// Applies one record to the journal's view: which intents are open, which are charged.
    fn replay(&mut self, record: &Record, intents: &[Intent]) {
        let intent_of = |reference: &str| intents.iter().rev().find(|i| i.reference == reference);
        match record {
            Record::Intent { intent } => self.open.push(intent.clone()),
            Record::Outcome { reference, outcome } => {
                self.open.retain(|i| &i.reference != reference);
                if let (Some(intent), Outcome::Approved(a) | Outcome::PartiallyApproved(a)) =
                    (intent_of(reference), outcome)
                {
                    self.charge(Charged {
                        intent: intent.clone(),
                        amount_cents: a.amount_cents,
                        authorisation: a.authorisation.clone(),
                        masked_pan: a.masked_pan.clone(),
                    });
                }
            }
            Record::Resolved {
                reference,
                approved,
                ..
            } => {
                self.open.retain(|i| &i.reference != reference);
                if let (Some(intent), Some(true)) = (intent_of(reference), approved) {
                    self.charge(Charged {
                        intent: intent.clone(),
                        amount_cents: intent.amount_cents,
                        authorisation: None,
                        masked_pan: None,
                    });
                }
            }
            Record::Released { reference, .. } => {
                self.charged.retain(|c| &c.intent.reference != reference)
            }
        }
    }

    /// A cancellation moves no money of its own: it gives back the charge it cancels, which
    /// its caller releases.
    fn charge(&mut self, charged: Charged) {
        if charged.intent.kind != Kind::Cancellation {
            self.charged.push(charged);
        }
    }

    /// Intents with neither an outcome nor a resolution: the process stopped mid-payment, so
    /// each one's outcome is unknown.
    pub fn open_intents(&self) -> &[Intent] {
        &self.open
    }

    /// Approved transactions not released yet, oldest first: after a restart, the charges the
    /// caller must still account for.
    pub fn charged(&self) -> &[Charged] {
        &self.charged
    }

    /// Marks a charge accounted for: on a ticket, or given back on the terminal (`why` says
    /// which). Releasing a reference that is not charged is a no-op.
    pub fn release(&mut self, reference: &str, why: &str) -> Result<(), JournalError> {
        if !self.charged.iter().any(|c| c.intent.reference == reference) {
            return Ok(());
        }
        let record = Record::Released {
            reference: reference.to_string(),
            why: why.to_string(),
            at_ms: now_ms(),
        };
        self.append(&record)?;
        self.replay(&record, &[]);
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes an open intent after a person checked the terminal: `approved` says whether the
    /// card was charged (`None`: not said), and a charge found is then known as any other.
    pub fn resolve(
        &mut self,
        reference: &str,
        resolution: &str,
        approved: Option<bool>,
    ) -> Result<(), JournalError> {
        let Some(intent) = self.open.iter().find(|i| i.reference == reference).cloned() else {
            return Err(JournalError::Other(format!(
                "no open intent with reference {reference:?}"
            )));
        };
        let record = Record::Resolved {
            reference: reference.to_string(),
            resolution: resolution.to_string(),
            at_ms: now_ms(),
            approved,
        };
        self.append(&record)?;
        self.replay(&record, &[intent]);
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
        let intent: Vec<Intent> = self
            .open
            .iter()
            .filter(|i| i.reference == reference)
            .cloned()
            .collect();
        let record = Record::Outcome {
            reference: reference.to_string(),
            outcome: outcome.clone(),
        };
        self.append(&record)?;
        self.replay(&record, &intent);
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
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("till.db.intents");
        let mut j = FileJournal::open(&dir).unwrap();
        j.record_intent(&intent("A")).unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&dir.join(JOURNAL_FILE)),
            0o600,
            "the payment journal is created readable by its owner only"
        );
        assert_eq!(
            mode(&dir),
            0o700,
            "the journal's folder is created for its owner only"
        );
    }

    #[test]
    fn approved_charges_stay_known_across_a_restart_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let approved = |cents| {
            Outcome::Approved(Approved {
                amount_cents: cents,
                authorisation: Some("A1B2C3".into()),
                ..Approved::default()
            })
        };
        {
            let mut j = FileJournal::open(dir.path()).unwrap();
            j.record_intent(&intent("PAID")).unwrap();
            j.record_outcome("PAID", &approved(1250)).unwrap();
            j.record_intent(&intent("ON-TICKET")).unwrap();
            j.record_outcome("ON-TICKET", &approved(1250)).unwrap();
            j.release("ON-TICKET", "ticket 7").unwrap();
            j.record_intent(&intent("CHECKED")).unwrap();
            j.resolve("CHECKED", "approved on the merchant receipt", Some(true))
                .unwrap();
            j.record_intent(&intent("REFUSED")).unwrap();
            j.resolve("REFUSED", "declined on the merchant receipt", Some(false))
                .unwrap();
        }
        let j = FileJournal::open(dir.path()).unwrap();
        let charged: Vec<_> = j
            .charged()
            .iter()
            .map(|c| (c.intent.reference.as_str(), c.amount_cents))
            .collect();
        assert_eq!(
            charged,
            [("PAID", 1250), ("CHECKED", 1250)],
            "an approval not released, and one a person found, are still charged after a restart"
        );
        assert_eq!(
            j.charged()[0].authorisation.as_deref(),
            Some("A1B2C3"),
            "the authorisation of a charge comes back with it"
        );
    }

    #[test]
    fn resolved_intents_are_closed_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut j = FileJournal::open(dir.path()).unwrap();
            j.record_intent(&intent("A")).unwrap();
            j.record_intent(&intent("B")).unwrap();
            j.resolve("A", "approved on the merchant receipt", Some(true))
                .unwrap();
            assert!(
                j.resolve("Z", "x", None).is_err(),
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
