//! Card payments on the payment terminal: started in the background, polled for their live
//! status, cancelled, and, when the terminal's answer was lost, resolved by the cashier from the
//! terminal's own receipt.
//!
//! Every transaction goes through the drivers' intent journal (a fsync'd file next to the
//! ledger) before a byte is sent, and every outcome is journaled before the service answers.
//! So after a crash or restart a payment interrupted mid-way shows up as unknown, to resolve
//! from the terminal's receipt, and an approved payment not yet on a ticket shows up as
//! charged, to put on the sale or give back on the terminal: a card is never charged without
//! the till knowing it. The ledger says which payments tickets consumed (a card tender names
//! its payment, checked in the ticket's transaction); the journal releases a charge once a
//! ticket holds it or the terminal gave it back. A new debit is refused while any payment is
//! unknown or charged and unused, so the cashier cannot charge the customer twice.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use pos_domain::Money;
use pos_payment_terminal::{
    Charged, FileJournal, Intent, IntentJournal, JournalError, Kind, Outcome, PaymentError,
    PaymentRequest, UnknownCause, new_reference,
};
use pos_till::Till;

use crate::api::ResolvePaymentRequest;
use crate::api::{CardPayment, CardPaymentRequest, PaymentId, PaymentKind, PaymentState};
use crate::devices::TerminalSettings;
use crate::error::{ApiError, ApiResult};
use crate::service::{Service, lock};
use crate::views::{money, number};

/// One card transaction the till knows of.
#[derive(Clone, Debug)]
pub(crate) struct Payment {
    pub view: CardPayment,
    /// What may be recorded as a card tender (what was charged).
    pub charged: Option<Money>,
}

/// Card payments of this run (and unknown ones found in the journal at start).
pub struct PaymentBook {
    payments: BTreeMap<String, Payment>,
    journal: Arc<Mutex<FileJournal>>,
}

fn cents(amount: Money) -> ApiResult<u64> {
    let cents = amount.cents();
    u64::try_from(cents).ok().filter(|c| *c > 0).ok_or_else(|| {
        ApiError::invalid("amount_invalid", "a card payment is for a positive amount")
    })
}

fn from_cents(cents: u64) -> Money {
    Money::from_cents(i64::try_from(cents).unwrap_or(i64::MAX))
}

impl PaymentBook {
    /// Opens the intent journal in `dir`: intents a crash left open become unknown payments,
    /// and approvals no ticket of `till` consumed come back as charged, not yet on a ticket.
    pub fn open(dir: &Path, till: &Till) -> ApiResult<PaymentBook> {
        let journal = FileJournal::open(dir).map_err(|e| {
            ApiError::failure(
                "payment_journal_unavailable",
                format!(
                    "the card payment journal in {} cannot be opened ({e}): check the disk",
                    dir.display()
                ),
            )
        })?;
        let mut payments = BTreeMap::new();
        for intent in journal.open_intents() {
            let kind = if intent.kind == Kind::Refund {
                PaymentKind::Refund
            } else {
                PaymentKind::Debit
            };
            let mut payment = Payment {
                view: CardPayment {
                    payment_id: intent.reference.clone(),
                    reference: intent.reference.clone(),
                    kind,
                    amount: from_cents(intent.amount_cents).to_string(),
                    state: PaymentState::Pending,
                    charged: None,
                    masked_pan: None,
                    authorisation: None,
                    message: String::new(),
                    ticket: None,
                },
                charged: None,
            };
            apply(
                &mut payment,
                &Outcome::Unknown(pos_payment_terminal::Unknown {
                    cause: UnknownCause::Interrupted,
                }),
            );
            payments.insert(intent.reference.clone(), payment);
        }
        let mut journal = journal;
        for charged in journal.charged().to_vec() {
            let reference = &charged.intent.reference;
            if let Some(ticket) = till.card_payment_ticket(reference)? {
                // The ticket committed but the process stopped before the journal heard of it.
                release(&mut journal, reference, &format!("on ticket {ticket}"));
                continue;
            }
            payments.insert(reference.clone(), charged_unused(&charged));
        }
        Ok(PaymentBook {
            payments,
            journal: Arc::new(Mutex::new(journal)),
        })
    }

    /// Approved payments no ticket holds yet: each must go on a sale or back to the card.
    pub fn charged_unused(&self) -> Vec<CardPayment> {
        self.payments
            .values()
            .filter(|p| p.is_charged_unused())
            .map(|p| p.view.clone())
            .collect()
    }

    /// Why a new debit may not start: a payment whose outcome is unknown, or a charge no ticket
    /// holds that is not one of `alongside` (the payments already on the sale being paid).
    fn debit_blocked_by(&self, alongside: &[String]) -> Option<ApiError> {
        if let Some(unknown) = self
            .payments
            .values()
            .find(|p| p.view.state == PaymentState::Unknown)
        {
            return Some(ApiError::invalid(
                "payment_unresolved",
                format!(
                    "card payment {} of {} has an unknown outcome: check the terminal's receipt and resolve it before charging the card again",
                    unknown.view.payment_id, unknown.view.amount
                ),
            ));
        }
        let unused = self.payments.values().find(|p| {
            p.is_charged_unused()
                && p.view.kind == PaymentKind::Debit
                && !alongside.contains(&p.view.payment_id)
        })?;
        Some(ApiError::invalid(
            "payment_charged_unused",
            format!(
                "the card was already charged {} (payment {}) and no ticket holds it: put that payment on the sale, or give it back on the terminal, before charging again",
                unused
                    .view
                    .charged
                    .as_deref()
                    .unwrap_or(&unused.view.amount),
                unused.view.payment_id
            ),
        ))
    }
}

impl Payment {
    fn is_charged_unused(&self) -> bool {
        matches!(
            self.view.state,
            PaymentState::Approved | PaymentState::PartiallyApproved
        ) && self.charged.is_some()
    }
}

/// A charge found in the journal after a restart, no ticket holding it.
fn charged_unused(charged: &Charged) -> Payment {
    let intent = &charged.intent;
    let amount = from_cents(charged.amount_cents);
    let state = if charged.amount_cents < intent.amount_cents {
        PaymentState::PartiallyApproved
    } else {
        PaymentState::Approved
    };
    let (kind, message) = if intent.kind == Kind::Refund {
        (
            PaymentKind::Refund,
            format!(
                "{amount} was refunded to the card and no return ticket holds it yet: put it on the return, or charge it back on the terminal"
            ),
        )
    } else {
        (
            PaymentKind::Debit,
            format!(
                "the card was charged {amount} and no ticket holds it yet: put it on the sale, or give it back on the terminal"
            ),
        )
    };
    Payment {
        view: CardPayment {
            payment_id: intent.reference.clone(),
            reference: intent.reference.clone(),
            kind,
            amount: from_cents(intent.amount_cents).to_string(),
            state,
            charged: Some(amount.to_string()),
            masked_pan: charged.masked_pan.clone(),
            authorisation: charged.authorisation.clone(),
            message,
            ticket: None,
        },
        charged: Some(amount),
    }
}

/// How long `card_payment_start` waits for the intent to be journaled before answering.
const INTENT_JOURNALED_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// The intent journal as a payment thread uses it: says once the intent is journaled (or
/// failed to be), so the service answers only after a crash could no longer lose it.
struct AnnouncingJournal<'a> {
    journal: &'a mut FileJournal,
    journaled: Option<std::sync::mpsc::Sender<()>>,
}

impl IntentJournal for AnnouncingJournal<'_> {
    fn record_intent(&mut self, intent: &Intent) -> Result<(), JournalError> {
        let recorded = self.journal.record_intent(intent);
        if let Some(journaled) = self.journaled.take() {
            let _ = journaled.send(());
        }
        recorded
    }

    fn record_outcome(&mut self, reference: &str, outcome: &Outcome) -> Result<(), JournalError> {
        self.journal.record_outcome(reference, outcome)
    }
}

/// Tells the journal a charge is accounted for. A failure only means the charge shows again
/// after the next restart, where the ledger says it is used: logged, not an error.
fn release(journal: &mut FileJournal, reference: &str, why: &str) {
    if let Err(error) = journal.release(reference, why) {
        tracing::warn!(%error, reference, "card payment release not journaled");
    }
}

impl PaymentBook {
    pub(crate) fn get(&self, id: &str) -> ApiResult<&Payment> {
        self.payments.get(id).ok_or_else(|| unknown_payment(id))
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> ApiResult<&mut Payment> {
        self.payments.get_mut(id).ok_or_else(|| unknown_payment(id))
    }

    fn in_progress(&self) -> Option<&Payment> {
        self.payments
            .values()
            .find(|p| p.view.state == PaymentState::Pending)
    }

    /// Unknown payments waiting for the cashier's check.
    pub fn unresolved(&self) -> Vec<CardPayment> {
        self.payments
            .values()
            .filter(|p| p.view.state == PaymentState::Unknown)
            .map(|p| p.view.clone())
            .collect()
    }
}

fn unknown_payment(id: &str) -> ApiError {
    ApiError::invalid(
        "unknown_payment",
        format!("no card payment `{id}`: start the payment on the terminal again"),
    )
}

/// Sets a payment's state and message from the terminal's outcome.
fn apply(payment: &mut Payment, outcome: &Outcome) {
    let view = &mut payment.view;
    match outcome {
        Outcome::Approved(a) | Outcome::PartiallyApproved(a) => {
            let charged = from_cents(a.amount_cents);
            payment.charged = Some(charged);
            view.charged = Some(charged.to_string());
            view.masked_pan = a.masked_pan.clone();
            view.authorisation = a.authorisation.clone();
            if matches!(outcome, Outcome::PartiallyApproved(_)) {
                view.state = PaymentState::PartiallyApproved;
                view.message = format!(
                    "approved for {charged} only, out of {}: take the rest another way",
                    view.amount
                );
            } else {
                view.state = PaymentState::Approved;
                view.message = format!("card payment of {charged} approved");
            }
        }
        Outcome::Declined(d) => {
            view.state = PaymentState::Declined;
            view.message = format!(
                "card declined ({:?}): nothing was charged; ask for another card or another means of payment",
                d.reason
            )
            .to_lowercase();
        }
        Outcome::NotSent(n) => {
            view.state = PaymentState::NotSent;
            view.message = format!(
                "the terminal did not receive the payment ({}): nothing was charged; check it is on and connected, then try again",
                n.error
            );
        }
        Outcome::Unknown(u) => {
            view.state = PaymentState::Unknown;
            let why = match &u.cause {
                UnknownCause::NoResult { .. } => "no answer in time",
                UnknownCause::Interrupted => "the till stopped during the payment",
                UnknownCause::LinkFailed { .. } => "the link was cut",
                _ => "its answer was unusable",
            };
            view.message = format!(
                "the terminal took the payment but its outcome is unknown ({why}): read the terminal's screen or its receipt, then say whether it was approved or declined"
            );
        }
    }
}

fn outcome_of(result: Result<Outcome, PaymentError>) -> Outcome {
    match result {
        Ok(outcome) => outcome,
        Err(PaymentError::OutcomeNotRecorded { outcome, error }) => {
            tracing::error!(%error, "card payment outcome not journaled");
            *outcome
        }
        Err(error) => Outcome::NotSent(pos_payment_terminal::NotSent {
            error: error.to_string(),
            attempts: 0,
        }),
    }
}

impl Service {
    fn terminal(&self) -> ApiResult<TerminalSettings> {
        lock(&self.devices).terminal.clone().ok_or_else(|| {
            ApiError::invalid(
                "no_terminal",
                "no payment terminal is set up: take another means of payment, or have a manager set it in the settings",
            )
        })
    }

    /// Starts a transaction on the terminal in the background; poll `card_payment_status`.
    pub(crate) fn start_transaction(
        &self,
        kind: PaymentKind,
        amount: Money,
        alongside: &[String],
    ) -> ApiResult<CardPayment> {
        let amount_cents = cents(amount)?;
        let settings = self.terminal()?;
        let mut book = lock(&self.payments);
        if kind == PaymentKind::Debit
            && let Some(refusal) = book.debit_blocked_by(alongside)
        {
            return Err(refusal);
        }
        if let Some(busy) = book.in_progress() {
            return Err(ApiError::invalid(
                "payment_in_progress",
                format!(
                    "the terminal is busy with payment {} of {}: wait for it to finish",
                    busy.view.payment_id, busy.view.amount
                ),
            ));
        }
        let mut reference = new_reference();
        while book.payments.contains_key(&reference) {
            std::thread::sleep(std::time::Duration::from_millis(2));
            reference = new_reference();
        }
        let view = CardPayment {
            payment_id: reference.clone(),
            reference: reference.clone(),
            kind,
            amount: amount.to_string(),
            state: PaymentState::Pending,
            charged: None,
            masked_pan: None,
            authorisation: None,
            message: "follow the terminal: the customer presents the card".into(),
            ticket: None,
        };
        book.payments.insert(
            reference.clone(),
            Payment {
                view: view.clone(),
                charged: None,
            },
        );
        let journal = book.journal.clone();
        drop(book);
        let request =
            PaymentRequest::debit(amount_cents, reference.clone()).with_kind(match kind {
                PaymentKind::Debit => Kind::Debit,
                PaymentKind::Refund => Kind::Refund,
            });
        let payments = self.payments.clone();
        let (journaled, intent_on_disk) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let outcome = match settings.connect() {
                Ok(mut terminal) => {
                    let mut journal = lock(&journal);
                    let mut announcing = AnnouncingJournal {
                        journal: &mut journal,
                        journaled: Some(journaled),
                    };
                    outcome_of(terminal.pay(&request, &mut announcing))
                }
                Err(error) => {
                    Outcome::NotSent(pos_payment_terminal::NotSent { error, attempts: 0 })
                }
            };
            let mut book = lock(&payments);
            if let Ok(payment) = book.get_mut(&request.reference) {
                apply(payment, &outcome);
            }
        });
        // Answer once the intent is on disk (or the terminal could not be reached and nothing
        // was sent), so a crash right after the answer still finds the payment at the next
        // start. The wait is bounded: a slow link only delays the answer, never hangs it.
        let _ = intent_on_disk.recv_timeout(INTENT_JOURNALED_WITHIN);
        Ok(view)
    }

    pub fn card_payment_start(&self, request: CardPaymentRequest) -> ApiResult<CardPayment> {
        self.current()?;
        let amount = money("amount", &request.amount)?;
        self.start_transaction(
            request.kind.unwrap_or(PaymentKind::Debit),
            amount,
            &request.alongside,
        )
    }

    pub fn card_payment_status(&self, request: PaymentId) -> ApiResult<CardPayment> {
        self.current()?;
        Ok(lock(&self.payments).get(&request.payment_id)?.view.clone())
    }

    /// Cancels a payment not yet recorded on a ticket. An approved one is reversed on the
    /// terminal (a cancellation of the same amount); one the terminal is still running can only
    /// be stopped on the terminal itself.
    pub fn card_payment_cancel(&self, request: PaymentId) -> ApiResult<CardPayment> {
        self.current()?;
        let (state, charged) = {
            let book = lock(&self.payments);
            let payment = book.get(&request.payment_id)?;
            (payment.view.state, payment.charged)
        };
        match state {
            PaymentState::Pending => Err(ApiError::invalid(
                "payment_in_progress",
                "the terminal is running this payment: cancel it on the terminal (red key); its outcome will show here",
            )),
            PaymentState::Unknown => Err(ApiError::invalid(
                "payment_unresolved",
                "this payment's outcome is unknown: check the terminal's receipt and resolve it first",
            )),
            PaymentState::Used => Err(ApiError::invalid(
                "payment_used",
                "this payment is on a recorded ticket: refund it through a return",
            )),
            PaymentState::Declined | PaymentState::NotSent | PaymentState::Cancelled => {
                let mut book = lock(&self.payments);
                let payment = book.get_mut(&request.payment_id)?;
                payment.view.state = PaymentState::Cancelled;
                payment.view.message = "cancelled: nothing was charged".into();
                payment.charged = None;
                Ok(payment.view.clone())
            }
            PaymentState::Approved | PaymentState::PartiallyApproved => {
                let charged = charged.unwrap_or(Money::ZERO);
                let settings = self.terminal()?;
                let reference = new_reference();
                let request_cancel =
                    PaymentRequest::debit(cents(charged)?, reference).with_kind(Kind::Cancellation);
                let journal = lock(&self.payments).journal.clone();
                let outcome = match settings.connect() {
                    Ok(mut terminal) => {
                        let mut journal = lock(&journal);
                        outcome_of(terminal.pay(&request_cancel, &mut *journal))
                    }
                    Err(error) => {
                        Outcome::NotSent(pos_payment_terminal::NotSent { error, attempts: 0 })
                    }
                };
                let mut book = lock(&self.payments);
                if matches!(outcome, Outcome::Approved(_)) {
                    let journal = book.journal.clone();
                    release(
                        &mut lock(&journal),
                        &request.payment_id,
                        "given back on the terminal (cancellation)",
                    );
                }
                let payment = book.get_mut(&request.payment_id)?;
                match outcome {
                    Outcome::Approved(_) => {
                        payment.view.state = PaymentState::Cancelled;
                        payment.view.message =
                            format!("the card payment of {charged} was cancelled on the terminal");
                        payment.charged = None;
                        Ok(payment.view.clone())
                    }
                    other => Err(ApiError::failure(
                        "cancel_failed",
                        format!(
                            "the terminal did not cancel the payment ({}): cancel it on the terminal, or keep it as a tender",
                            other.name()
                        ),
                    )),
                }
            }
        }
    }

    /// The cashier's verdict on an unknown payment, read from the terminal's own receipt.
    pub fn card_payment_resolve(&self, request: ResolvePaymentRequest) -> ApiResult<CardPayment> {
        let staff = self.current()?;
        let mut book = lock(&self.payments);
        let journal = book.journal.clone();
        let payment = book.get_mut(&request.payment_id)?;
        if payment.view.state != PaymentState::Unknown {
            return Err(ApiError::invalid(
                "payment_not_unknown",
                format!(
                    "this payment is {:?}, not unknown: nothing to resolve",
                    payment.view.state
                )
                .to_lowercase(),
            ));
        }
        let verdict = if request.approved {
            "approved"
        } else {
            "declined"
        };
        if let Err(error) = lock(&journal).resolve(
            &payment.view.reference,
            &format!(
                "{verdict} according to the terminal's receipt, checked by {}",
                staff.id
            ),
            Some(request.approved),
        ) {
            tracing::warn!(%error, "resolved payment not found open in the journal");
        }
        if request.approved {
            let amount = money("amount", &payment.view.amount)?;
            payment.charged = Some(amount);
            payment.view.charged = Some(amount.to_string());
            payment.view.authorisation = request.authorisation.clone();
            payment.view.state = PaymentState::Approved;
            payment.view.message =
                format!("card payment of {amount} approved (checked on the terminal)");
        } else {
            payment.charged = None;
            payment.view.state = PaymentState::Declined;
            payment.view.message =
                "declined (checked on the terminal): nothing was charged; take another means of payment".into();
        }
        Ok(payment.view.clone())
    }

    /// Card payments whose outcome is unknown, including those a crash interrupted: each
    /// waits for the cashier's check of the terminal's receipt.
    pub fn card_payments_unresolved(&self, _: crate::api::Empty) -> ApiResult<Vec<CardPayment>> {
        self.current()?;
        Ok(lock(&self.payments).unresolved())
    }

    /// Card payments charged (or refunded) that no ticket holds, including those found in the
    /// journal after a restart: each goes on a ticket or back on the terminal.
    pub fn card_payments_charged(&self, _: crate::api::Empty) -> ApiResult<Vec<CardPayment>> {
        self.current()?;
        Ok(lock(&self.payments).charged_unused())
    }

    /// Checks that `payment_id` is an approved, unused payment of `kind` for exactly `amount`.
    pub(crate) fn check_card_tender(
        &self,
        payment_id: &str,
        kind: PaymentKind,
        amount: Money,
    ) -> ApiResult<String> {
        let book = lock(&self.payments);
        let payment = book.get(payment_id)?;
        let usable = matches!(
            payment.view.state,
            PaymentState::Approved | PaymentState::PartiallyApproved
        );
        if !usable || payment.view.kind != kind {
            return Err(ApiError::invalid(
                "payment_not_approved",
                format!(
                    "card payment {payment_id} is not an approved {} ({}): take the card payment again",
                    if kind == PaymentKind::Debit {
                        "payment"
                    } else {
                        "refund"
                    },
                    payment.view.message
                ),
            ));
        }
        if payment.charged != Some(amount) {
            return Err(ApiError::invalid(
                "payment_amount_mismatch",
                format!(
                    "the card was charged {} but the tender says {amount}: enter the amount charged",
                    payment.charged.unwrap_or(Money::ZERO)
                ),
            ));
        }
        Ok(payment
            .view
            .authorisation
            .clone()
            .unwrap_or_else(|| payment.view.reference.clone()))
    }

    /// After the ticket committed (the ledger already holds which payments it consumed): the
    /// payments are used, and the journal releases them.
    pub(crate) fn mark_used(&self, payment_ids: &[String], ticket: u64) {
        let mut book = lock(&self.payments);
        let journal = book.journal.clone();
        for id in payment_ids {
            release(&mut lock(&journal), id, &format!("on ticket {ticket}"));
            if let Ok(payment) = book.get_mut(id) {
                payment.view.state = PaymentState::Used;
                payment.view.ticket = Some(number(ticket));
                payment.view.message = format!("recorded on ticket {ticket}");
            }
        }
    }

    pub fn test_payment(&self, _: crate::api::Empty) -> ApiResult<CardPayment> {
        self.current()?;
        self.start_transaction(PaymentKind::Debit, Money::from_cents(100), &[])
    }
}
