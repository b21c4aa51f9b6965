//! The FEC and hledger exports of a legal entity, read from the daily entries posted on
//! ingest (see [`pos_hq_core::accounting`]): for `GET /api/v1/accounting/fec` and the
//! `admin accounting` commands.

use chrono::NaiveDate;
use pos_domain::accounting;
use pos_hq_core::accounting::fiscal_year;

use crate::store::{Store, StoreError};

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown legal entity `{0}`")]
    UnknownEntity(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the export cannot be written: {0}")]
    Render(#[from] accounting::AccountingError),
}

/// The FEC of a legal entity's fiscal year starting in `year` (see [`fiscal_year`]): its file
/// name `<SIREN>FEC<closing date>.txt` and its ISO-8859-15 bytes, entries in chronological
/// order with continuous numbering (rendered by [`accounting::render_fec`]).
pub async fn fec_export(
    store: &dyn Store,
    entity_id: &str,
    year: i32,
) -> Result<(String, Vec<u8>), ExportError> {
    let entity = store
        .entities()
        .await?
        .into_iter()
        .find(|e| e.id == entity_id)
        .ok_or_else(|| ExportError::UnknownEntity(entity_id.to_string()))?;
    let (first, last) = fiscal_year(entity.fiscal_year_start_month, year)
        .ok_or_else(|| ExportError::BadRequest(format!("no fiscal year {year}")))?;
    let entries = store
        .journal_entries(&entity.id, &first.to_string(), &last.to_string())
        .await?;
    let name = accounting::fec_file_name(&entity.siren, last)?;
    let bytes = accounting::render_fec(&entries)?;
    Ok((name, bytes))
}

/// The entity's daily entries of the days `from..=to` as an hledger journal.
pub async fn hledger_export(
    store: &dyn Store,
    entity_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<String, ExportError> {
    if !store.entities().await?.iter().any(|e| e.id == entity_id) {
        return Err(ExportError::UnknownEntity(entity_id.to_string()));
    }
    let entries = store
        .journal_entries(entity_id, &from.to_string(), &to.to_string())
        .await?;
    Ok(accounting::render_hledger(&entries)?)
}
