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
    /// A cashier's shift opens with the float put in the drawer (`amount`); the shift is known
    /// by this record's cash-chain sequence. `ticket_head` is the ticket chain's head then.
    ShiftOpen,
    /// A cashier's shift closes with a blind count: `amount` counted, `expected` and
    /// `difference` for that shift's cash only; `shift` names the opening record and
    /// `ticket_head` the ticket chain's head at the close.
    ShiftClose,
}

impl CashMovementKind {
    /// The sign with which the movement changes the cash in the drawer (counts change
    /// nothing: they only compare).
    pub fn drawer_sign(self) -> i64 {
        match self {
            CashMovementKind::OpeningFloat
            | CashMovementKind::PayIn
            | CashMovementKind::ShiftOpen => 1,
            CashMovementKind::PayOut | CashMovementKind::BankDeposit => -1,
            CashMovementKind::Count | CashMovementKind::ShiftClose => 0,
        }
    }
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
    /// For a shift's close: the cash-chain sequence of its opening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<u64>,
    /// For a shift's opening or close: the ticket chain's head then, so the shift's tickets
    /// are found by number, never by clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_head: Option<u64>,
}

impl CashMovement {
    /// A movement of `amount` with no count, reason or shift.
    pub fn new(kind: CashMovementKind, amount: Money) -> CashMovement {
        CashMovement {
            kind,
            amount,
            expected: None,
            difference: None,
            reason: None,
            shift: None,
            ticket_head: None,
        }
    }

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

/// The kinds of technical events in the event journal (JET). Each kind's snake_case name is
/// its stable code in the journal (`offline_start`, `manager_override`...), as listed in
/// specs/fiscal.md. `OfflineStart` and `OfflineEnd` are written by the sync loop when head
/// office stops and starts answering (detail: `error` and `failures`, or `offline_since`).
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
    /// A manager allowed what a cashier may not do alone (a price override, a discount above
    /// the limit, a refund without receipt, a pay-out above the limit...), by their PIN at the
    /// cashier's session or logged in themselves. Detail: `action`, `manager`, `for`.
    ManagerOverride,
    /// The cash drawer was opened without a sale. Detail: `opened` (whether the kick reached
    /// the printer), `approved_by`.
    DrawerOpenedWithoutSale,
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

/// The shop-rule kind (in head office's changes feed, key [`CASH_OFFICE_RULES_KEY`]) of the
/// shop's [`CashOfficeRules`].
pub const CASH_OFFICE_RULES: &str = "cash_office";
/// The one key of the [`CASH_OFFICE_RULES`] rule.
pub const CASH_OFFICE_RULES_KEY: &str = "shop";

/// The cash office's rules head office sets for a shop: above which amount a pay-out needs a
/// manager, and the hour after which the app asks for the day closure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashOfficeRules {
    /// A pay-out above this needs a manager's approval.
    pub payout_limit: Money,
    /// The local hour (0 to 23) the shop closes: from then on the app asks for the Z. With
    /// none, it asks at the first action of the next day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closing_hour: Option<u8>,
}

impl Default for CashOfficeRules {
    /// The safe default while head office set none: a pay-out above 50.00 needs a manager.
    fn default() -> Self {
        CashOfficeRules {
            payout_limit: Money::from_cents(5_000),
            closing_hour: None,
        }
    }
}

impl CashOfficeRules {
    /// Whether the rule can be applied: a readable, non-negative limit and a real hour.
    pub fn is_valid(&self) -> bool {
        limits::check_amount("the pay-out limit", self.payout_limit).is_ok()
            && !self.payout_limit.is_negative()
            && self.closing_hour.is_none_or(|h| h <= 23)
    }
}
