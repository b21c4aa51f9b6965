//! [`CommissionStore`] on SQLite: the plan's rates in `commission_rates` (migration
//! `0018_commission_plans.sql`).

use async_trait::async_trait;
use pos_hq_core::commissions::{Rate, RateTarget};
use pos_hq_store::Result;
use pos_hq_store::commissions::{CommissionStore, StoredRate, stored_rate};
use rusqlite::params;

use crate::SqliteStore;

#[async_trait]
impl CommissionStore for SqliteStore {
    async fn commission_rates(&self) -> Result<Vec<StoredRate>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT target, key, percent, updated_by, updated_at FROM commission_rates
                 ORDER BY target, key",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            rows.map(|row| {
                let (target, key, percent, by, at) = row?;
                stored_rate(&target, key, &percent, by, at)
            })
            .collect()
        })
        .await
    }

    async fn set_commission_rate(&self, rate: &Rate, by: &str, at: &str) -> Result<()> {
        let (rate, by, at) = (rate.clone(), by.to_string(), at.to_string());
        self.with(move |c| {
            c.execute(
                "INSERT INTO commission_rates (target, key, percent, updated_by, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (target, key) DO UPDATE SET percent = excluded.percent,
                    updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                params![
                    rate.target.name(),
                    rate.key,
                    rate.percent.normalize().to_string(),
                    by,
                    at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn remove_commission_rate(&self, target: RateTarget, key: &str) -> Result<bool> {
        let key = key.to_string();
        self.with(move |c| {
            Ok(c.execute(
                "DELETE FROM commission_rates WHERE target = ?1 AND key = ?2",
                params![target.name(), key],
            )? > 0)
        })
        .await
    }
}
