//! Errors of the till engine. Each carries a stable machine code and a message that says what
//! to do, so the CLI, the app and scripts never match on strings.

use pos_domain::SaleError;
use pos_domain::record::SignError;

/// Everything the engine can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum TillError {
    #[error(transparent)]
    Sale(#[from] SaleError),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("no product with barcode `{0}`: scan it again or search it by name")]
    UnknownBarcode(String),
    #[error("no product with id `{0}`: import the catalog or check the id")]
    UnknownProduct(String),
    #[error("ticket {0} does not exist: check the number on the receipt")]
    UnknownTicket(u64),
    #[error("closure {0} does not exist")]
    UnknownClosure(u64),
    #[error("{0} is not a till ledger yet: run `till --db {0} init --shop NAME --till NAME` first")]
    NotInitialized(String),
    #[error("{0} is already a till ledger: use another file to start a new till")]
    AlreadyInitialized(String),
    #[error(
        "the ledger was written by a newer version (schema {found}, this one knows {known}): upgrade the software"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("cannot sign: {0}")]
    Sign(#[from] SignError),
    #[error("ledger storage failed: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("file error on {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("stored data is unreadable ({0}): run `till verify` and keep this file for an audit")]
    Corrupt(String),
    #[error("head office cannot be reached ({0}): the till keeps selling; sync again later")]
    Unreachable(String),
    #[error("head office refused: {message} [{code}]")]
    Server { code: String, message: String },
}

impl TillError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> TillError {
        TillError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// A stable code the UI and scripts can match on.
    pub fn code(&self) -> &'static str {
        match self {
            TillError::Sale(e) => e.code(),
            TillError::Invalid { code, .. } => code,
            TillError::UnknownBarcode(_) => "unknown_barcode",
            TillError::UnknownProduct(_) => "unknown_product",
            TillError::UnknownTicket(_) => "unknown_ticket",
            TillError::UnknownClosure(_) => "unknown_closure",
            TillError::NotInitialized(_) => "not_initialized",
            TillError::AlreadyInitialized(_) => "already_initialized",
            TillError::SchemaTooNew { .. } => "schema_too_new",
            TillError::Sign(_) => "signing_failed",
            TillError::Storage(_) => "storage_failed",
            TillError::File { .. } => "file_error",
            TillError::Corrupt(_) => "ledger_corrupt",
            TillError::Unreachable(_) => "server_unreachable",
            TillError::Server { .. } => "server_refused",
        }
    }

    /// True when the caller's input was refused (as opposed to the machine failing).
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            TillError::Storage(_)
                | TillError::File { .. }
                | TillError::Corrupt(_)
                | TillError::Sign(_)
                | TillError::Unreachable(_)
        )
    }
}

pub type Result<T, E = TillError> = std::result::Result<T, E>;
