//! The one error every command answers with: a stable machine code the UI matches on, and a
//! message for the cashier that says what to do next.

use pos_till::TillError;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::api::ApprovalAction;

/// An error answered by a command (HTTP: with a 4xx/5xx status; Tauri: as the rejected value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message} [{code}]")]
pub struct ApiError {
    /// Stable code, e.g. `unknown_barcode`, `approval_required`, `not_logged_in`.
    pub code: String,
    /// For the cashier: what happened and what to do next.
    pub message: String,
    /// With `approval_required`: the action a manager must approve (`approve`), then retry
    /// with the approval id.
    pub approval: Option<ApprovalAction>,
    /// True when the request was refused (bad input, wrong state); false when the till or a
    /// device failed.
    pub input_error: bool,
}

impl ApiError {
    /// A refusal of the caller's input.
    pub fn invalid(code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code: code.into(),
            message: message.into(),
            approval: None,
            input_error: true,
        }
    }

    /// A failure of the machine (storage, device link...).
    pub fn failure(code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code: code.into(),
            message: message.into(),
            approval: None,
            input_error: false,
        }
    }

    pub fn not_logged_in() -> ApiError {
        ApiError::invalid(
            "not_logged_in",
            "nobody is logged in: log in with your staff PIN first",
        )
    }

    pub fn approval_required(action: ApprovalAction, what: &str) -> ApiError {
        ApiError {
            code: "approval_required".into(),
            message: format!(
                "{what} needs a manager: ask a manager to type their PIN, then try again"
            ),
            approval: Some(action),
            input_error: true,
        }
    }

    pub fn unknown_command(command: &str) -> ApiError {
        ApiError::invalid(
            "unknown_command",
            format!("there is no command `{command}`: see crates/till-service/API.md for the list"),
        )
    }

    pub fn bad_amount(field: &str, text: &str) -> ApiError {
        ApiError::invalid(
            "amount_invalid",
            format!("{field}: `{text}` is not an amount: type it like 12.50"),
        )
    }
}

impl From<TillError> for ApiError {
    fn from(error: TillError) -> ApiError {
        ApiError {
            code: error.code().into(),
            message: error.to_string(),
            approval: None,
            input_error: error.is_input_error(),
        }
    }
}

impl From<pos_domain::SaleError> for ApiError {
    fn from(error: pos_domain::SaleError) -> ApiError {
        ApiError::from(TillError::from(error))
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> ApiError {
        ApiError::from(TillError::from(error))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
