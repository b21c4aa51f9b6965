//! The one trait every payment terminal protocol implements, and the intent bookkeeping around
//! a transaction that all of them share.

use crate::journal::{Intent, IntentJournal, JournalError, now_ms};
use crate::outcome::Outcome;
use crate::request::{PaymentRequest, RequestError};

/// Errors that stop a transaction before it starts, or lose its record. Transport failures and
/// refusals are not errors: they are [`Outcome`]s.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] RequestError),
    /// The intent could not be recorded: nothing was sent.
    #[error("intent not recorded, nothing sent: {0}")]
    IntentNotRecorded(JournalError),
    /// The transaction ran but its outcome could not be recorded: keep `outcome` somewhere.
    #[error("outcome {} not recorded: {error}", outcome.name())]
    OutcomeNotRecorded {
        outcome: Box<Outcome>,
        error: JournalError,
    },
}

/// A payment terminal: debit, refund or cancel an amount, tagged with our unique reference.
pub trait PaymentTerminal {
    /// Protocol and link, e.g. "concert-v2 serial:///dev/ttyACM0"; recorded in each intent.
    fn describe(&self) -> String;

    /// Runs one transaction. The intent is handed to `journal` before the first byte is sent;
    /// the outcome after. Never resends a request the terminal acknowledged.
    fn pay(
        &mut self,
        request: &PaymentRequest,
        journal: &mut dyn IntentJournal,
    ) -> Result<Outcome, PaymentError>;
}

/// Records the intent, runs `exchange`, records the outcome.
pub(crate) fn journaled(
    terminal: String,
    request: &PaymentRequest,
    journal: &mut dyn IntentJournal,
    exchange: impl FnOnce() -> Outcome,
) -> Result<Outcome, PaymentError> {
    let intent = Intent {
        reference: request.reference.clone(),
        kind: request.kind,
        amount_cents: request.amount_cents,
        currency: request.currency.clone(),
        terminal,
        at_ms: now_ms(),
    };
    journal
        .record_intent(&intent)
        .map_err(PaymentError::IntentNotRecorded)?;
    let outcome = exchange();
    match journal.record_outcome(&request.reference, &outcome) {
        Ok(()) => Ok(outcome),
        Err(error) => Err(PaymentError::OutcomeNotRecorded {
            outcome: Box::new(outcome),
            error,
        }),
    }
}
