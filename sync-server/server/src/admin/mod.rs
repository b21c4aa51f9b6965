//! Administration of head office: catalog, prices, promotions, VAT rates, tender types,
//! regions and shops, tills and their enrollment codes, shop staff, head-office users,
//! webhooks, replenishment levels. One set of functions holding the checks, called by the admin
//! HTTP API ([`http`], under `/api/v1/admin/`, the web app's administration screens) and by
//! `sync-server admin`, so scripts, the app and the command line take one path.
//!
//! Every change goes through an [`Admin`], which knows who makes it, and is journaled in the
//! append-only administration journal (see [`pos_hq_store::audit`]) with the state before and
//! after, in the change's own transaction ([`pos_hq_store::Store::apply_admin`]): a change
//! whose entry cannot be written is not applied. Secrets (enrollment codes, PINs, tokens) are never
//! journaled: only that they were issued.
//!
//! Modules, one per resource: [`catalog`] (import, one product, per-shop prices), [`rules`]
//! (promotions, VAT rates, tender types), [`org`] (regions and shops), [`tills`], [`staff`],
//! [`users`], [`webhooks`] (their routes are `/api/v1/hq/webhooks*`, in [`crate::api`]),
//! [`replenishment`] (min/max stock levels, with their routes), and [`http`] for the routes.

pub mod catalog;
pub mod http;
pub mod org;
pub mod replenishment;
pub mod rules;
pub mod staff;
pub mod tills;
pub mod users;
pub mod webhooks;

use chrono::{DateTime, Utc};
use pos_domain::wire::codes;
use serde::Serialize;
use serde_json::Value;

use crate::store::audit::NewAuditEntry;
use crate::store::{AdminChange, Store, StoreError};

/// Why an admin operation was refused or failed; each carries a message saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The request is not acceptable as given (a bad id, a price out of limits...).
    #[error("{0}")]
    Invalid(String),
    /// What it names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// It contradicts what is stored (an id already taken...).
    #[error("{0}")]
    Conflict(String),
    /// A catalog file with bad rows: nothing was applied.
    #[error("{}", pos_hq_core::distribution::CatalogRefused::BadRows(.0.clone()))]
    BadRows(Vec<pos_hq_core::distribution::RowError>),
    #[error(transparent)]
    Store(StoreError),
    /// The server could not do its part (randomness, hashing).
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => AdminError::NotFound(m),
            StoreError::Conflict(m) => AdminError::Conflict(m),
            other => AdminError::Store(other),
        }
    }
}

impl AdminError {
    /// The stable machine code of the error answer.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::Invalid(_) => codes::INVALID,
            AdminError::NotFound(_) => codes::NOT_FOUND,
            AdminError::Conflict(_) => CONFLICT,
            AdminError::BadRows(_) => CATALOG_ROWS_INVALID,
            AdminError::Store(_) | AdminError::Internal(_) => codes::INTERNAL,
        }
    }
}

/// The code of a change that contradicts what is stored (an id already taken).
pub const CONFLICT: &str = "conflict";
/// The code of a catalog file refused for its bad rows (each listed in `rows`).
pub const CATALOG_ROWS_INVALID: &str = "catalog_rows_invalid";

pub type Result<T, E = AdminError> = std::result::Result<T, E>;

fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(AdminError::Invalid(message.into()))
}

/// Someone making changes: every change is journaled under their name.
pub struct Admin<'a> {
    pub store: &'a dyn Store,
    /// A head-office user id, or `cli:<account>` for the command line.
    pub actor: String,
}

impl<'a> Admin<'a> {
    pub fn new(store: &'a dyn Store, actor: impl Into<String>) -> Admin<'a> {
        Admin {
            store,
            actor: actor.into(),
        }
    }

    /// The actor of `sync-server admin`: the operating-system account running it.
    pub fn command_line(store: &'a dyn Store) -> Admin<'a> {
        let account = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Admin::new(store, format!("cli:{account}"))
    }

    /// Applies a change and journals it (what, to what, before and after) in one transaction:
    /// the change is stored with its entry or not at all. Every admin change goes through here.
    async fn apply(
        &self,
        change: AdminChange,
        action: &str,
        target: impl Into<String>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<u64> {
        self.apply_at(change, action, target, before, after, Utc::now())
            .await
    }

    /// [`Admin::apply`] at `now` (a change whose journal entry names its own time).
    async fn apply_at(
        &self,
        change: AdminChange,
        action: &str,
        target: impl Into<String>,
        before: Option<Value>,
        after: Option<Value>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let entry = NewAuditEntry {
            actor: self.actor.clone(),
            action: action.into(),
            target: target.into(),
            before,
            after,
        };
        Ok(self.store.apply_admin(change, &entry, now).await?)
    }
}

/// A value as JSON for the journal.
fn json_of<T: Serialize>(value: &T) -> Option<Value> {
    serde_json::to_value(value).ok()
}

/// Ids are 1 to 64 ASCII letters, digits, `-`, `_` or `.` (so they fit URLs and never take
/// the chain-wide rollup's `*` or the `(none)` of shops without a region).
pub fn checked_id(kind: &str, id: String) -> Result<String> {
    if crate::store::is_plain_id(&id) {
        Ok(id)
    } else {
        invalid(format!(
            "{kind} id `{id}`: use 1 to 64 letters, digits, `-`, `_` or `.`"
        ))
    }
}

/// An id from a name: ASCII capitals, digits and dashes.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = match c {
            'à' | 'â' | 'ä' | 'À' | 'Â' => 'A',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'E',
            'î' | 'ï' => 'I',
            'ô' | 'ö' => 'O',
            'ù' | 'û' | 'ü' => 'U',
            'ç' | 'Ç' => 'C',
            other => other,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Fails unless shop `shop_id` exists.
async fn existing_shop(store: &dyn Store, shop_id: &str) -> Result<()> {
    if store.shops().await?.iter().any(|s| s.id == shop_id) {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "no shop `{shop_id}`: create it first, or pick one of the listed shops"
        )))
    }
}
