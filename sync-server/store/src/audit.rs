//! The administration journal: one entry per change an admin makes (web app, admin HTTP API
//! or `sync-server admin`), with who, when, what, and the state before and after. The table
//! is append-only in both backends (triggers refuse UPDATE and DELETE).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A change to journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// Who made it: a head-office user id, or `cli:<account>` for `sync-server admin`.
    pub actor: String,
    /// What was done, as `resource.verb` (`till.create`, `catalog.import`...).
    pub action: String,
    /// What it was done to (`PARIS-OPERA-CAISSE-1`, `promotion NOEL@*`...).
    pub target: String,
    /// The state before (absent for a creation).
    pub before: Option<Value>,
    /// The state after (absent for a removal).
    pub after: Option<Value>,
}

/// A journaled change, as read back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Its place in the journal (increasing); the next page starts after the last one's.
    pub id: i64,
    /// When (RFC 3339 UTC).
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

/// A live entry of the changes feed, as admins list them (promotions, a shop's prices...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveEntry {
    /// The shop it goes to, `*` for every shop, or a VAT territory's scope.
    pub shop_id: String,
    pub key: String,
    #[schema(value_type = Object)]
    pub data: Value,
}

/// Reads a JSON column written by [`to_column`]; an unreadable one (never written by this
/// code) reads as a string, so the journal always lists.
pub fn from_column(text: Option<String>) -> Option<Value> {
    text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
}

/// The text a JSON value is stored as.
pub fn to_column(value: &Option<Value>) -> Option<String> {
    value.as_ref().map(Value::to_string)
}
