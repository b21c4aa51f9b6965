//! The storage of the logistics spoke: [`LogisticsStore`], which every [`crate::Store`] is.
//! Advance shipping notices (taken in one by one over HTTP, or a whole drop-folder file in
//! one transaction that also records the file's SHA-256), their withdrawal, and the
//! differences a till's goods receipt found against each (see [`pos_hq_core::logistics`]).
//! Storing or withdrawing a notice writes its changes-feed entry in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pos_domain::stock::ShippingNotice;
use pos_hq_core::logistics::NoticeState;
use serde::{Deserialize, Serialize};

use crate::Result;

/// A notice as head office holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredNotice {
    pub notice: ShippingNotice,
    pub state: NoticeState,
    pub created_at: String,
    pub withdrawn_at: Option<String>,
    /// The goods receipt a till recorded against it, once one did.
    pub receipt: Option<NoticeReceipt>,
}

pub use pos_hq_core::logistics::NoticeReceipt;

/// What taking a notice in did (or would have done).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admitted {
    /// New: stored and sent to its shop's tills.
    Stored,
    /// Already held with the same content: nothing changed.
    Unchanged,
    /// Already held with other content: refused.
    Differs,
    /// Its shop is not one of head office's.
    UnknownShop,
    /// A product it names is not in the catalog.
    UnknownProduct(String),
}

impl Admitted {
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Admitted::Stored | Admitted::Unchanged)
    }
}

/// A drop-folder file applied: its SHA-256 recorded in the transaction that applied it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFile {
    pub sha256: String,
    pub name: String,
    pub notices: u64,
    pub lines: u64,
    pub applied_at: String,
}

/// What withdrawing a notice did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Withdrawal {
    /// Withdrawn now, or already withdrawn: the notice as it is.
    Withdrawn(StoredNotice),
    /// A till already received against it: refused.
    AlreadyReceived(StoredNotice),
}

/// The verbs of the logistics spoke.
#[async_trait]
pub trait LogisticsStore {
    /// Takes notices in, all or nothing, in one transaction: each is answered (in order);
    /// when any is refused nothing is stored. With `file`, that file's SHA-256 is recorded in
    /// the same transaction (see [`LogisticsStore::applied_file`]).
    async fn admit_notices(
        &self,
        notices: &[ShippingNotice],
        file: Option<&AppliedFile>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Admitted>>;
    /// The drop-folder file of this SHA-256, if it was applied.
    async fn applied_file(&self, sha256: &str) -> Result<Option<AppliedFile>>;
    /// A notice by id.
    async fn notice(&self, id: &str) -> Result<Option<StoredNotice>>;
    /// Notices by id after `after`, at most `limit`, of one shop and in one state when given.
    async fn notices(
        &self,
        shop: Option<&str>,
        state: Option<NoticeState>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredNotice>>;
    /// Withdraws a notice no till received yet (its feed entry becomes a removal); `None`
    /// when there is no such notice.
    async fn withdraw_notice(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Withdrawal>>;
}

/// The state of a notice from its stored facts (the one rule, [`NoticeState::of`]).
pub fn stored_notice(
    body: &str,
    created_at: String,
    withdrawn_at: Option<String>,
    receipt: Option<NoticeReceipt>,
) -> Result<StoredNotice> {
    let notice: ShippingNotice = serde_json::from_str(body)
        .map_err(|e| crate::StoreError::Corrupt(format!("a stored shipping notice: {e}")))?;
    Ok(StoredNotice {
        notice,
        state: NoticeState::of(receipt.is_some(), withdrawn_at.is_some()),
        created_at,
        withdrawn_at,
        receipt,
    })
}

/// A stored receipt against a notice, its lines as stored JSON.
pub fn stored_receipt(
    receipt_id: String,
    source: String,
    at: String,
    lines: &str,
) -> Result<NoticeReceipt> {
    Ok(NoticeReceipt {
        receipt_id,
        source,
        at,
        lines: serde_json::from_str(lines).map_err(|e| {
            crate::StoreError::Corrupt(format!("a stored notice receipt's lines: {e}"))
        })?,
    })
}
