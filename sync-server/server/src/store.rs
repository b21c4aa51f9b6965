//! The store a server runs on: the storage interface of `pos-hq-store` (re-exported here),
//! its two backends, and [`open_store`], which picks one from a database URL.

use std::sync::Arc;

pub use pos_hq_store::*;
pub use pos_hq_store_postgres as postgres;
pub use pos_hq_store_sqlite as sqlite;

/// Opens a store from `sqlite:PATH` or `postgres://...`, running its migrations.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        Ok(Arc::new(sqlite::SqliteStore::open(path.as_ref()).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::Database(format!(
            "`{url}` is not a database URL: give sqlite:FILE or postgres://USER@HOST/DB"
        )))
    }
}
