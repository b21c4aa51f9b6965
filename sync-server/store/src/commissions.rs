//! The storage of head office's commission plan: [`CommissionStore`], which every
//! [`crate::Store`] is. One row per rate (`commission_rates`, migration
//! `0018_commission_plans.sql` in both backends), replaced when set again, with who set it and
//! when; the commissions themselves are computed from the stored tickets when asked (see
//! [`pos_hq_core::commissions`]), so nothing else is stored.

use async_trait::async_trait;
use pos_hq_core::commissions::{Rate, RateTarget};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Result, StoreError};

/// A rate of the plan as stored: the rate, who set it last and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRate {
    #[serde(flatten)]
    pub rate: Rate,
    pub updated_by: String,
    /// Canonical UTC.
    pub updated_at: String,
}

/// Reads a stored row's target and percent (written by [`CommissionStore::set_commission_rate`]).
pub fn stored_rate(
    target: &str,
    key: String,
    percent: &str,
    updated_by: String,
    updated_at: String,
) -> Result<StoredRate> {
    let target = RateTarget::parse(target)
        .ok_or_else(|| StoreError::Corrupt(format!("a commission rate's target `{target}`")))?;
    let percent: Decimal = percent
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("a commission rate's percent `{percent}`")))?;
    Ok(StoredRate {
        rate: Rate {
            target,
            key,
            percent,
        },
        updated_by,
        updated_at,
    })
}

#[async_trait]
pub trait CommissionStore: Send + Sync {
    /// Every rate of the plan, by target then key.
    async fn commission_rates(&self) -> Result<Vec<StoredRate>>;
    /// Sets (adds or replaces) a rate, checked beforehand
    /// ([`pos_hq_core::commissions::check_rate`]).
    async fn set_commission_rate(&self, rate: &Rate, by: &str, at: &str) -> Result<()>;
    /// Removes a rate; false when there was none.
    async fn remove_commission_rate(&self, target: RateTarget, key: &str) -> Result<bool>;
}
