//! Payloads of the other chains: duplicates, cash movements, technical events and archives.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::limits::{self, LimitError};
use crate::money::Money;

/// A reprint of a ticket. The receipt says "DUPLICATA n".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    /// The chain of the ticket reprinted (ticket or training).
    pub chain: String,
    pub ticket: u64,
    /// 1 for the first reprint of that ticket, then 2...
    pub reprint: u32,
}

/// What a cash movement is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CashMovementKind {
    OpeningFloat,
    PayIn,
    PayOut,
    BankDeposit,
    /// Cash counted in the drawer, compared with what the ledger expects.
    Count,
}

/// A cash movement or count. For a count, `amount` is what was counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashMovement {
    pub kind: CashMovementKind,
    pub amount: Money,
    /// For a count: the cash the drawer should hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Money>,
    /// For a count: counted minus expected (negative when cash is short).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difference: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CashMovement {
    /// Checks the amounts and the reason against [`crate::limits`]: the amount entered or
    /// counted is one amount; the expected cash and the difference are running totals of the
    /// drawer, which must stay readable.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        limits::check_amount("the cash amount", self.amount)?;
        if let Some(expected) = self.expected {
            limits::check_running_total("expected cash", expected)?;
        }
        if let Some(difference) = self.difference {
            limits::check_running_total("cash difference", difference)?;
        }
        limits::check_optional_text("the reason", self.reason.as_deref(), limits::MAX_NOTE_CHARS)
    }
}

/// The kinds of technical events in the event journal (JET).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The ledger was created.
    Initialized,
    StartUp,
    Login,
    Logout,
    OfflineStart,
    OfflineEnd,
    ClosureStarted,
    ArchiveMade,
    ExportMade,
    IntegrityDefect,
    SettingsChanged,
    SoftwareVersionChanged,
    CatalogImported,
    /// A series of wrong staff PINs (login or manager approval): journaled when it starts and
    /// when it locks PIN entry out. Detail: `scope` (`till` or `staff:ID`), `via`, `attempts`,
    /// `locked`.
    LoginFailed,
    /// A PIN lockout lifted, by a manager (`by`: their id) or by head office re-sending the
    /// staff (`by`: `head_office`). Detail: `scope`, `by`.
    LoginUnlocked,
    /// An entry of head office's changes feed this till cannot read was skipped (its kind,
    /// key, version and why), so the entries after it still apply; head office raises an
    /// alarm when the event comes up.
    FeedEntrySkipped,
}

/// A technical event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// Kind-specific detail (a JSON object; integers and strings only).
    #[serde(default)]
    pub detail: Value,
}

/// An archive made of a period: the payload of an archive-chain record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveMade {
    /// First and last local day covered.
    pub from: String,
    pub to: String,
    /// Hex SHA-256 of the archive file.
    pub file_sha256: String,
    pub records: u64,
}
