//! Returns at any till, as storage sees them: the request of a return reservation and its
//! outcome, and the decision over stored records shared by both backends (they read the rows
//! with the original locked; [`decide`] parses and asks [`pos_hq_core::returns`]).

use pos_domain::record::SignedRecord;
use pos_domain::ticket::{ReturnLine, Ticket};

use crate::{Result, StoreError};

/// The returns indexed under a ticket, as (till, ticket sequence), and the lines of the live
/// reservations on it.
pub type ReturnsOfTicket = (Vec<(String, u64)>, Vec<ReturnLine>);

/// A reservation a till asks before recording a return against another till's ticket.
#[derive(Clone, Debug)]
pub struct ReservationRequest {
    /// The till's id for it: a resend is the same reservation.
    pub reservation_id: String,
    pub original_till: String,
    pub original_ticket: u64,
    pub lines: Vec<ReturnLine>,
    pub seconds: u32,
}

/// Head office's answer to a reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReservationOutcome {
    /// Head office holds no such ticket.
    Unknown,
    Granted,
    /// Why: the first line beyond what is left.
    Refused(String),
}

/// Reads a stored ticket record's payload.
pub fn stored_ticket(body: &[u8]) -> Result<Ticket> {
    let signed = SignedRecord::from_stored(body)
        .map_err(|e| StoreError::Corrupt(format!("a stored ticket record: {e}")))?;
    pos_hq_core::rollup::parse_ticket(&signed)
        .map_err(|e| StoreError::Corrupt(format!("a stored ticket: {e}")))?
        .ok_or_else(|| StoreError::Corrupt("a ticket-chain record is no ticket".into()))
}

/// Decides a reservation from the stored original, its returns and the other live
/// reservations' lines.
pub fn decide(
    original: &[u8],
    returns: &[Vec<u8>],
    reserved: &[ReturnLine],
    asked: &[ReturnLine],
) -> Result<ReservationOutcome> {
    let original = stored_ticket(original)?;
    let returns = returns
        .iter()
        .map(|b| stored_ticket(b))
        .collect::<Result<Vec<_>>>()?;
    Ok(
        match pos_hq_core::returns::decide_reservation(&original, &returns, reserved, asked) {
            Ok(()) => ReservationOutcome::Granted,
            Err(why) => ReservationOutcome::Refused(why),
        },
    )
}

/// The lines of stored reservations (each a JSON array of [`ReturnLine`]).
pub fn reserved_lines(stored: &[String]) -> Result<Vec<ReturnLine>> {
    let mut out = Vec::new();
    for json in stored {
        let lines: Vec<ReturnLine> = serde_json::from_str(json)
            .map_err(|e| StoreError::Corrupt(format!("a return reservation: {e}")))?;
        out.extend(lines);
    }
    Ok(out)
}
