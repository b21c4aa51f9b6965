//! [`CommissionStore`] on PostgreSQL: the plan's rates in `commission_rates` (migration
//! `0018_commission_plans.sql`).

use async_trait::async_trait;
use pos_hq_core::commissions::{Rate, RateTarget};
use pos_hq_store::Result;
use pos_hq_store::commissions::{CommissionStore, StoredRate, stored_rate};

use crate::PgStore;

#[async_trait]
impl CommissionStore for PgStore {
    async fn commission_rates(&self) -> Result<Vec<StoredRate>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT target, key, percent, updated_by, updated_at FROM commission_rates
                 ORDER BY target, key",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| stored_rate(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect()
    }

    async fn set_commission_rate(&self, rate: &Rate, by: &str, at: &str) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO commission_rates (target, key, percent, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (target, key) DO UPDATE SET percent = excluded.percent,
                    updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                &[
                    &rate.target.name(),
                    &rate.key,
                    &rate.percent.normalize().to_string(),
                    &by,
                    &at,
                ],
            )
            .await?;
        Ok(())
    }

    async fn remove_commission_rate(&self, target: RateTarget, key: &str) -> Result<bool> {
        let client = self.pool.get().await?;
        Ok(client
            .execute(
                "DELETE FROM commission_rates WHERE target = $1 AND key = $2",
                &[&target.name(), &key],
            )
            .await?
            > 0)
    }
}
