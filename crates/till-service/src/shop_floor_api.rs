//! The API types of the cash office and the shop floor (re-exported by [`crate::api`]): the
//! day closure the app asks for, cashier shifts and their reports, the cash office's rules,
//! and the serial scanner's codes. Same conventions as [`crate::api`]: amounts
//! as decimal strings, numbers as JSON numbers.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::api::{DeviceResult, DeviceView, TotalsView};

/// Why the app asks for the day closure now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClosureDueReason {
    /// A day before today has sales and no Z.
    DayChanged,
    /// The shop's closing hour is past and today has sales with no Z.
    PastClosingHour,
}

/// `closure_due`: the days with sales and no Z (oldest first), and whether to ask for the Z
/// now (`reason` set). The app checks it at the first action after a screen change.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ClosureDueView {
    pub open_days: Vec<String>,
    pub reason: Option<ClosureDueReason>,
}

/// `open_shift`: the float put in the drawer.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct OpenShiftRequest {
    pub float: String,
}

/// `close_shift`: the blind count (what the cashier counted, without having seen what is
/// expected).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CloseShiftRequest {
    pub counted: String,
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub print: bool,
}

/// `shift_report`: a shift by number, or the newest shift of a cashier (the logged-in staff
/// member's when both are left out). A cashier reads only their own shifts.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct ShiftReportRequest {
    #[serde(default)]
    #[ts(optional)]
    pub shift: Option<u32>,
    #[serde(default)]
    #[ts(optional)]
    pub cashier: Option<String>,
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub print: bool,
}

/// A shift's X report. `expected_cash` is `null` for a cashier until their count is recorded
/// (the count is blind: the API never tells them before).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ShiftView {
    pub shift: u32,
    pub cashier: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub float: String,
    pub totals: TotalsView,
    pub expected_cash: Option<String>,
    pub counted: Option<String>,
    pub difference: Option<String>,
    pub text: String,
    pub printed: Option<DeviceResult>,
}

/// `cashier_report`: the X report of one cashier since the last Z (the logged-in staff
/// member's when left out; a cashier reads only their own).
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct CashierReportRequest {
    #[serde(default)]
    #[ts(optional)]
    pub cashier: Option<String>,
}

/// A cashier's tickets since the last Z.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CashierReportView {
    pub cashier: String,
    pub totals: TotalsView,
}

/// `cash_office_rules`: the rules head office set for the shop, or the safe defaults.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CashOfficeRulesView {
    /// A pay-out above this needs a manager.
    pub payout_limit: String,
    /// The local hour the shop closes (the app asks for the Z from then on).
    pub closing_hour: Option<u8>,
}

/// `scanned_codes`: the serial scanner's codes numbered after `after` (all kept ones when left
/// out), waiting up to `wait_ms` (at most 2000) for one.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct ScannedCodesRequest {
    #[serde(default)]
    #[ts(optional)]
    pub after: Option<u32>,
    #[serde(default)]
    #[ts(optional)]
    pub wait_ms: Option<u32>,
}

/// A code the serial scanner read, numbered in reading order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScannedCode {
    pub seq: u32,
    pub code: String,
}

/// The codes read, the newest number (to ask for what comes after it), the scanner's state.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ScannedCodes {
    pub codes: Vec<ScannedCode>,
    pub latest: u32,
    pub scanner: DeviceView,
}
