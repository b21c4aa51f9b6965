//! The storage of the tills' archives: [`ArchiveStore`], which every [`crate::Store`] is.
//!
//! An archive is stored once per till and content (`UNIQUE (till_id, sha256)`: a resend is a
//! no-op) and never changed or deleted: there is no such verb here, and both backends refuse
//! UPDATE and DELETE by trigger. Each verification is appended to `archive_checks` with the
//! archive it judged; one that fails raises an alarm (kind
//! [`pos_hq_core::archives::ALARM_KIND`]) in the same transaction.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Page, Result, ShopSelection};

/// An archive as received, with its verification on arrival.
#[derive(Clone, Debug)]
pub struct NewArchive {
    pub till_id: String,
    pub period_from: String,
    pub period_to: String,
    pub sha256: String,
    pub content: Vec<u8>,
    pub received_at: String,
    pub check: NewArchiveCheck,
}

/// One verification of a stored archive.
#[derive(Clone, Debug)]
pub struct NewArchiveCheck {
    pub checked_at: String,
    pub intact: bool,
    pub defect: Option<String>,
    /// Hex SHA-256 of the bytes judged (the alarm's identity with the archive: the same
    /// altered bytes found again raise no second alarm).
    pub judged_sha256: String,
}

/// What storing an archive did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutArchive {
    pub id: i64,
    /// Head office already held these bytes from this till: nothing was stored.
    pub already_held: bool,
}

/// A stored archive as head office lists it, with its latest verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArchiveInfo {
    pub id: i64,
    pub till_id: String,
    pub shop_id: String,
    /// First and last local day archived (`YYYY-MM-DD`).
    pub from: String,
    pub to: String,
    /// Hex SHA-256 of the archive's bytes as received.
    pub sha256: String,
    pub size: u64,
    pub received_at: String,
    /// The latest verification: whether it verified, why not, and when.
    pub intact: bool,
    pub defect: Option<String>,
    pub checked_at: String,
}

/// The storage verbs of archives. There is deliberately no verb that deletes or changes one.
#[async_trait]
pub trait ArchiveStore {
    /// Stores an archive with its first check (and its alarm if it failed), in one
    /// transaction; a resend of stored bytes stores nothing and answers the stored id.
    async fn put_archive(&self, archive: &NewArchive) -> Result<PutArchive>;
    /// The archives of the selected shops' tills, by id, a page at a time.
    async fn archives(&self, shops: &ShopSelection, page: &Page<i64>) -> Result<Vec<ArchiveInfo>>;
    /// One archive with its bytes as stored now.
    async fn archive_content(&self, id: i64) -> Result<Option<(ArchiveInfo, Vec<u8>)>>;
    /// Appends a verification of archive `id`, raising an alarm (once per altered content)
    /// when it failed; answers whether a new alarm was raised.
    async fn record_archive_check(&self, id: i64, check: &NewArchiveCheck) -> Result<bool>;
}

/// The alarm reason of a failed check.
pub fn alarm_reason(check: &NewArchiveCheck, from: &str, to: &str) -> String {
    format!(
        "the archive of {from} to {to} does not verify: {}",
        check.defect.as_deref().unwrap_or("unknown defect")
    )
}
