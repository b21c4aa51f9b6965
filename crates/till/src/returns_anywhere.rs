//! Returns at any till: an item bought at another till (of this shop or another) brought back
//! here, with its receipt, or with no receipt at all. The rules are
//! [`pos_domain::returns_anywhere`]'s.
//!
//! - With head office's answer to the ticket lookup (the front end asks it, through
//!   [`crate::head_office`]'s `lookup_ticket`, and reserves the lines with `reserve_return`),
//!   the return is computed from the original and every return made against it anywhere,
//!   including this till's own not yet synced.
//! - Without it (offline), or without a receipt: a manager approves (the service checks the PIN;
//!   the engine checks the id is an active manager's), the items are priced from this till's
//!   catalog, and each kind stays within its per-till daily cap ([`ReturnRules`], head office's
//!   `return_rules` or the defaults). A return without a receipt is refunded to a credit note
//!   unless the request says otherwise, needs a reason, and is priced at no more than the
//!   lowest price of the last days the rules say (from `price_history`).
//!
//! The return names the original till and ticket: a new negative ticket referencing the
//! original, never a change to it (specs/fiscal.md, inalterability; "a return or cancellation
//! is a new negative ticket referencing the original"). It is never filed under this till's
//! ticket of the same number (its ledger reference is left empty), and reaches head office as
//! any ticket does, exactly once (specs/sync.md, upload: a record sent again is a no-op). Each such return is indexed in
//! `returns_elsewhere` in its transaction, for the caps and for later returns of the same
//! original.

use std::cell::RefCell;

use pos_domain::Money;
use pos_domain::record::Chain;
use pos_domain::returns_anywhere::{
    ReceiptRef, ReturnRules, UncheckedReturn, compute_unchecked_return, lines_for_items,
};
use pos_domain::stored_value::movements_from_tenders;
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{
    LineDraft, ReturnLine, SaleDraft, Ticket, check_refund_as_paid, compute_return, quote_sale,
};
use pos_domain::wire::{TicketLookupAnswer, kinds};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::engine::{Till, ticket_of};
use crate::error::{Result, TillError};
use crate::ledger;
use crate::requests::{RecordedTicket, SaleLineRequest, SaleRequest};
use crate::staff::StaffRole;

/// The index of returns made here against other tills' tickets or without receipt
/// (migration 14).
pub(crate) const MIGRATION: &str = r#"
    CREATE TABLE returns_elsewhere (
        seq INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        -- 0: checked against the original through head office; 1: another till's receipt,
        -- offline; 2: no receipt.
        unchecked INTEGER NOT NULL,
        amount_cents INTEGER NOT NULL,
        original_till TEXT,
        original_ticket INTEGER
    );
    CREATE INDEX returns_elsewhere_by_original ON returns_elsewhere (original_till, original_ticket);
    CREATE TRIGGER returns_elsewhere_no_update BEFORE UPDATE ON returns_elsewhere
    BEGIN SELECT RAISE(ABORT, 'returns_elsewhere is append-only'); END;
    CREATE TRIGGER returns_elsewhere_no_delete BEFORE DELETE ON returns_elsewhere
    BEGIN SELECT RAISE(ABORT, 'returns_elsewhere is append-only'); END;
"#;

/// A return of an item bought elsewhere in the chain, or with no receipt.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnAnywhereRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The receipt's QR reference (`POS1:TILL:NUMBER:HASH`) or `TILL:NUMBER`; absent when the
    /// customer has no receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Head office's answer to the ticket lookup, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<TicketLookupAnswer>,
    /// With `found`: the original's lines given back (none: `items` are matched to them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<ReturnLine>,
    /// Without `found`: the items brought back, priced from the catalog. With `found` and no
    /// `lines`: the items scanned, matched to the original's lines and refunded as paid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<SaleLineRequest>,
    /// The manager who approved an unchecked return (their staff id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Refund tenders (negative). Omitted: as the original was paid when head office found
    /// it, otherwise to a credit note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenders: Option<Vec<Tender>>,
}

/// What is read before the write transaction: the receipt, the priced items, the approval.
enum Prepared {
    Checked {
        receipt: ReceiptRef,
        found: Box<TicketLookupAnswer>,
        /// The items scanned (product id, units or grams), when the original's lines were not
        /// picked: matched to its lines once the earlier returns are known.
        items: Vec<(String, u32)>,
    },
    Unchecked {
        receipt: Option<ReceiptRef>,
        items: Vec<LineDraft>,
        approval: UncheckedReturn,
        tenders: Vec<Tender>,
    },
}

/// A `returns_elsewhere` row: how unchecked, the refund, the original till and ticket.
type IndexRow = (i64, Money, Option<String>, Option<u64>);

/// The rules head office set, or the defaults.
pub(crate) fn rules(conn: &Connection) -> Result<ReturnRules> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM shop_rules WHERE kind = ?1 ORDER BY key LIMIT 1",
            [kinds::RETURN_RULES],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body
        .and_then(|b| serde_json::from_str(&b).ok())
        .unwrap_or_default())
}

impl Till {
    /// Computes a return at any till as [`Till::return_anywhere`] would record it, without
    /// recording anything (no credit note number is drawn).
    pub fn quote_return_anywhere(&self, request: &ReturnAnywhereRequest) -> Result<Ticket> {
        let prepared = self.prepare_return_anywhere(request)?;
        compute(&self.conn, &self.identity.till_id, &prepared, request)
    }

    /// Records a return of an item bought at another till, or with no receipt. Nothing is
    /// written if it is refused.
    pub fn return_anywhere(&mut self, request: &ReturnAnywhereRequest) -> Result<RecordedTicket> {
        let prepared = self.prepare_return_anywhere(request)?;
        let note = self.new_credit_note()?;
        let day = self.shop_day().to_string();
        let till_id = self.identity.till_id.clone();
        let operator = request
            .operator
            .clone()
            .filter(|o| !o.trim().is_empty())
            .unwrap_or_else(|| crate::engine::SYSTEM_OPERATOR.to_string());
        let row: RefCell<Option<IndexRow>> = RefCell::new(None);
        self.record_ticket_with(
            Chain::Ticket,
            &operator,
            &[],
            |tx| {
                let mut ticket = compute(tx, &till_id, &prepared, request)?;
                let unchecked = match &ticket.unchecked_return {
                    None => 0,
                    Some(u) if u.with_receipt => 1,
                    Some(_) => 2,
                };
                let refunded = -ticket.total;
                if unchecked > 0 {
                    check_cap(tx, &day, unchecked, refunded, &rules(tx)?)?;
                }
                // A refund to store credit issues a credit note, as any return does.
                ticket.stored_value = movements_from_tenders(&mut ticket.tenders, Some(note));
                *row.borrow_mut() = Some((
                    unchecked,
                    refunded,
                    ticket.original_till.clone(),
                    ticket.original,
                ));
                Ok(ticket)
            },
            |tx, _, seq| {
                let Some((unchecked, refunded, original_till, original)) = row.take() else {
                    return Ok(());
                };
                tx.execute(
                    "INSERT INTO returns_elsewhere
                       (seq, day, unchecked, amount_cents, original_till, original_ticket)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        i64::try_from(seq).unwrap_or(i64::MAX),
                        day,
                        unchecked,
                        refunded.cents(),
                        original_till,
                        original.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
                    ],
                )?;
                Ok(())
            },
        )
    }

    fn prepare_return_anywhere(&self, request: &ReturnAnywhereRequest) -> Result<Prepared> {
        let receipt = request
            .receipt
            .as_deref()
            .map(ReceiptRef::parse)
            .transpose()
            .map_err(|e| TillError::invalid("receipt_reference_invalid", e))?;
        if let Some(r) = &receipt
            && r.till == self.identity.till_id
        {
            return Err(TillError::invalid(
                "receipt_from_this_till",
                format!(
                    "ticket {} was sold at this till: return it from its ticket",
                    r.ticket
                ),
            ));
        }
        if let Some(found) = &request.found {
            let Some(receipt) = receipt else {
                return Err(TillError::invalid(
                    "receipt_required",
                    "scan the receipt head office found the ticket for",
                ));
            };
            if found.original.till != receipt.till || found.original.ticket != receipt.ticket {
                return Err(TillError::invalid(
                    "lookup_mismatch",
                    "head office's ticket is not the one on the receipt: look it up again",
                ));
            }
            let items = if request.lines.is_empty() {
                self.draft(&SaleRequest {
                    lines: request.items.clone(),
                    ..Default::default()
                })?
                .lines
                .into_iter()
                .map(|l| (l.product.id, l.quantity.count()))
                .collect()
            } else {
                Vec::new()
            };
            return Ok(Prepared::Checked {
                receipt,
                found: Box::new(found.clone()),
                items,
            });
        }
        let approved_by = self.approving_manager(request.approved_by.as_deref())?;
        let mut draft = self.draft(&SaleRequest {
            lines: request.items.clone(),
            ..Default::default()
        })?;
        self.never_above_catalog(&mut draft.lines, receipt.is_none())?;
        let refund = -quote_sale(SaleDraft {
            lines: draft.lines.clone(),
            ..Default::default()
        })?
        .total;
        let tenders = request.tenders.clone().unwrap_or_else(|| {
            vec![Tender {
                kind: TenderKind::StoreCredit,
                amount: refund,
                reference: None,
                payment: None,
            }]
        });
        Ok(Prepared::Unchecked {
            approval: UncheckedReturn {
                approved_by,
                reason: request.reason.clone().filter(|r| !r.trim().is_empty()),
                with_receipt: receipt.is_some(),
            },
            receipt,
            items: draft.lines,
            tenders,
        })
    }

    /// Lowers each line of an unchecked return to the price a sale takes today, whatever was
    /// typed; `without_receipt`, to the lowest its product had over the days head office's
    /// rules say.
    fn never_above_catalog(&self, lines: &mut [LineDraft], without_receipt: bool) -> Result<()> {
        let days = rules(&self.conn)?.no_receipt_lowest_price_days;
        let since = self.now() - chrono::Duration::days(i64::from(days));
        let since = pos_domain::record::timestamp::format(&since);
        for line in lines {
            let today = line.unit_price.min(line.product.price);
            line.unit_price = if without_receipt {
                crate::price_history::lowest_since(&self.conn, &line.product.id, &since, today)?
            } else {
                today
            };
        }
        Ok(())
    }

    /// The id of the active manager who approved, or why the return cannot go through.
    fn approving_manager(&self, id: Option<&str>) -> Result<String> {
        let needed = || {
            TillError::invalid(
                "manager_approval_required",
                "head office cannot check this ticket: a manager must approve the return",
            )
        };
        let id = id.filter(|i| !i.trim().is_empty()).ok_or_else(needed)?;
        match self.staff_member(id)? {
            Some(staff) if staff.active && staff.role == StaffRole::Manager => Ok(staff.id),
            _ => Err(needed()),
        }
    }
}

/// The return ticket, from the ledger as `conn` sees it.
fn compute(
    conn: &Connection,
    till_id: &str,
    prepared: &Prepared,
    request: &ReturnAnywhereRequest,
) -> Result<Ticket> {
    match prepared {
        Prepared::Checked {
            receipt,
            found,
            items,
        } => {
            let mut earlier: Vec<Ticket> =
                found.returns.iter().map(|r| r.payload.clone()).collect();
            // This till's own returns of it that head office does not hold yet.
            for (seq, ticket) in local_returns_of(conn, &receipt.till, receipt.ticket)? {
                let synced = found
                    .returns
                    .iter()
                    .any(|r| r.till == till_id && r.ticket == seq);
                if !synced {
                    earlier.push(ticket);
                }
            }
            let lines = if request.lines.is_empty() {
                lines_for_items(receipt.ticket, &found.original.payload, &earlier, items)?
            } else {
                request.lines.clone()
            };
            let mut ticket = compute_return(
                receipt.ticket,
                &found.original.payload,
                &earlier,
                &lines,
                request.tenders.clone(),
            )?;
            // The refund rules stay the original ticket's, wherever it comes back.
            check_refund_as_paid(Some(&found.original.payload), &earlier, &ticket.tenders)?;
            ticket.original_till = Some(receipt.till.clone());
            Ok(ticket)
        }
        Prepared::Unchecked {
            receipt,
            items,
            approval,
            tenders,
        } => Ok(compute_unchecked_return(
            receipt.as_ref(),
            items.clone(),
            approval.clone(),
            tenders.clone(),
        )?),
    }
}

/// The returns this till recorded against `till`'s ticket `number`.
fn local_returns_of(conn: &Connection, till: &str, number: u64) -> Result<Vec<(u64, Ticket)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq FROM returns_elsewhere WHERE original_till = ?1 AND original_ticket = ?2",
    )?;
    let seqs: Vec<i64> = stmt
        .query_map(
            params![till, i64::try_from(number).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    seqs.into_iter()
        .map(|seq| {
            let seq = seq as u64;
            let record = ledger::get(conn, Chain::Ticket, seq)?
                .ok_or_else(|| TillError::Corrupt(format!("return {seq} missing")))?;
            Ok((seq, ticket_of(&record)?))
        })
        .collect()
}

/// Refuses an unchecked return that would pass its per-till daily cap.
fn check_cap(
    conn: &Connection,
    day: &str,
    unchecked: i64,
    refunded: Money,
    rules: &ReturnRules,
) -> Result<()> {
    let done: i64 = conn.query_row(
        "SELECT coalesce(sum(amount_cents), 0) FROM returns_elsewhere WHERE day = ?1 AND unchecked = ?2",
        params![day, unchecked],
        |r| r.get(0),
    )?;
    let done = Money::from_cents(done);
    let cap = rules.cap(unchecked == 1);
    if done + refunded > cap {
        let what = if unchecked == 1 {
            "returns against other tills' receipts while head office cannot be reached"
        } else {
            "returns without receipt"
        };
        return Err(TillError::invalid(
            "return_cap_reached",
            format!(
                "this till's daily limit for {what} is {cap} ({done} already): refund at most {} \
                 today, or wait for head office",
                (cap - done).max(Money::ZERO)
            ),
        ));
    }
    Ok(())
}
