//! Derivations of an upload: from the plans of its chains (see [`crate::ingest`]) to what
//! head office writes besides the records and chain heads (sales rollups, the records' events,
//! alarms, the customers and stock movements of the tickets, the credit notes' and gift cards'
//! movements, the returns naming their original, the till's software, the stock the tickets and
//! stock operations move). Each ticket is read once, before the upload's transaction, with its
//! signature check ([`crate::ingest::ReadAhead`]), and the derivations reuse it. Pure, so both
//! backends write the same rows.

use std::collections::BTreeMap;

use crate::events::{self, OutboxEvent, OutboxRow};
use crate::ingest::{self, AlarmKind, ChainPlan, NewAlarm};
use crate::returns::{self, NamedReturn};
use crate::rollup::{self, RollupDelta, RollupKey};
use crate::stored_value::{self, Movement};
use crate::{crm, stock};
use pos_domain::record::Chain;

/// Everything an ingest writes besides the records and chain heads: computed from the plans,
/// outside any backend, so both write the same rows.
pub struct IngestWrites {
    pub rollups: BTreeMap<RollupKey, RollupDelta>,
    /// Events of the accepted records (and of what they say: purchases, stock differences),
    /// in record order, as the outbox stores them.
    pub events: Vec<OutboxRow>,
    /// Alarms to raise; a backend writes an alarm's event only if the alarm is new (the same
    /// offending record sent again raises nothing more).
    pub alarms: Vec<NewAlarm>,
    /// The software of the newest record accepted, if any: the till's current version.
    pub software: Option<String>,
    /// The upload's tickets naming a customer, in order (see [`crate::crm`]).
    pub customers: Vec<crm::CustomerTicket>,
    /// What the upload's tickets and stock operations ask of the stock, in record order
    /// (see [`crate::stock`]).
    pub stock: Vec<stock::Planned>,
    /// The handsets' IMEIs the upload's tickets and stock operations move, in record order.
    pub serials: Vec<stock::SerialMove>,
    /// The goods receipts naming a shipping notice (see [`crate::logistics`]).
    pub notice_receipts: Vec<crate::logistics::ReceiptAgainstNotice>,
    /// The credit notes' and gift cards' movements, in record order (see
    /// [`crate::stored_value`]).
    pub instrument_moves: Vec<Movement>,
    /// The returns naming their original ticket (see [`crate::returns`]).
    pub returns: Vec<NamedReturn>,
    /// The upload's tickets selling something, as (sequence, hash): returns made elsewhere
    /// may have synced before them.
    pub sold: Vec<(u64, String)>,
}

/// Computes rollups, events and alarms for the plans of one upload.
pub fn ingest_writes(shop_id: &str, plans: &[ChainPlan]) -> IngestWrites {
    let mut rollups = BTreeMap::new();
    let mut events = Vec::new();
    let mut alarms = Vec::new();
    let mut customers = Vec::new();
    let mut stock = Vec::new();
    let mut serials = Vec::new();
    let mut notice_receipts = Vec::new();
    let mut instrument_moves = Vec::new();
    let mut named_returns = Vec::new();
    let mut sold = Vec::new();
    for plan in plans {
        for accepted in &plan.accepted {
            alarms.extend(ingest::skipped_feed_entry(plan.chain, accepted));
            events.push(events::record_accepted_row(shop_id, &accepted.record));
            let signed = &accepted.record;
            match &accepted.ticket {
                Ok(None) if plan.chain == Chain::StoredValue => {
                    match stored_value::chain_movement(shop_id, accepted) {
                        Ok(movement) => instrument_moves.push(movement),
                        Err(alarm) => alarms.push(alarm),
                    }
                }
                Ok(None) if plan.chain == Chain::Stock => match stock::read_operation(accepted) {
                    Ok(operation) => {
                        stock.extend(stock::operation_movements(shop_id, accepted, &operation));
                        serials.extend(stock::operation_serials(shop_id, accepted, &operation));
                        events.extend(
                            stock::differences_reported(shop_id, accepted, &operation)
                                .into_iter()
                                .map(OutboxEvent::into_row),
                        );
                        notice_receipts.extend(crate::logistics::against_notice(
                            shop_id, accepted, &operation,
                        ));
                    }
                    Err(alarm) => alarms.push(alarm),
                },
                Ok(None) => {}
                Ok(Some(ticket)) => {
                    rollup::add_ticket_record(shop_id, signed, ticket, &mut rollups);
                    events
                        .extend(crm::purchase(shop_id, signed, ticket).map(OutboxEvent::into_row));
                    customers.extend(crm::customer_ticket(shop_id, signed, ticket));
                    stock.extend(stock::ticket_movements(shop_id, accepted, ticket));
                    serials.extend(stock::ticket_serials(shop_id, accepted, ticket));
                    instrument_moves
                        .extend(stored_value::ticket_movements(shop_id, accepted, ticket));
                    named_returns.extend(returns::named_return(accepted, ticket));
                    if ticket.lines.iter().any(|l| !l.is_returned()) {
                        sold.push((accepted.seq, accepted.hash.clone()));
                    }
                }
                Err(e) => alarms.push(NewAlarm {
                    chain: plan.chain,
                    seq: accepted.seq,
                    kind: AlarmKind::PayloadUnreadable,
                    reason: format!("stored, but left out of the sales rollups: {e}"),
                    received: signed.stored.clone(),
                    received_hash: accepted.hash.clone(),
                }),
            }
        }
        alarms.extend(plan.alarm.clone());
    }
    let software = plans
        .iter()
        .flat_map(|p| &p.accepted)
        .max_by_key(|a| a.record.record.at)
        .map(|a| a.record.record.software.clone());
    IngestWrites {
        rollups,
        events,
        alarms,
        software,
        customers,
        stock,
        serials,
        notice_receipts,
        instrument_moves,
        returns: named_returns,
        sold,
    }
}
