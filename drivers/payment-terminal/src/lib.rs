//! French payment terminals behind one [`PaymentTerminal`] trait: Concert V2 (protocol E/E+,
//! serial or USB-CDC) and Caisse-AP (Concert V3 tag messages, TCP or serial), plus a simulator.
//!
//! Layers: frame ([`concert::frame`], [`caisse_ap::tlv`]) -> codec ([`concert::v2`],
//! [`caisse_ap::message`]) -> session ([`concert::session`]) -> client
//! ([`ConcertV2Client`], [`CaisseApClient`]), with the transport passed in.
//!
//! The results a till must treat differently are kept apart in [`Outcome`]: approved (possibly
//! partially), declined by the terminal, not sent (safe to retry) and unknown (acknowledged by
//! the terminal without a result: never resent automatically). Before the first byte of a
//! request is sent the client hands the intent to an [`IntentJournal`]; [`FileJournal`] is a
//! small fsync'd JSON-lines implementation that reports intents left open by a crash.
//!
//! Nothing here knows about tickets or sales: amounts are integer cents, references are strings.

pub mod caisse_ap;
pub mod concert;
pub mod journal;
pub mod link;
pub mod outcome;
pub mod request;
pub mod sim;
pub mod terminal;

pub use caisse_ap::client::{CaisseApClient, CaisseApConfig};
pub use concert::client::{ConcertV2Client, ConcertV2Config};
pub use concert::session::LinkTimeouts;
pub use journal::{Charged, FileJournal, Intent, IntentJournal, JournalError, MemoryJournal};
pub use outcome::{Approved, DeclineReason, Declined, NotSent, Outcome, Unknown, UnknownCause};
pub use request::{Kind, PaymentRequest, RequestError, new_reference};
pub use terminal::{PaymentError, PaymentTerminal};
