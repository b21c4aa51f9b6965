//! Receipt text with the mentions French law requires on a till receipt: shop identity, date
//! and time, ticket and till numbers, each line (label, quantity, unit price, total, VAT rate),
//! totals per VAT rate excluding VAT and VAT, total including VAT, means of payment, software
//! and a fragment of the record's signature. A reprint is headed "DUPLICATA n".

use chrono::DateTime;
use pos_domain::Money;
use pos_domain::stored_value::{InstrumentMovement, InstrumentNumber, MovementKind};
use pos_domain::ticket::{Quantity, TicketKind};
use serde::Serialize;

use crate::engine::{SYSTEM_OPERATOR, Till};
use crate::error::Result;
use crate::identity::Identity;
use crate::requests::RecordedTicket;

/// Characters per receipt line (80 mm paper, font A).
pub const WIDTH: usize = 42;

/// A rendered receipt.
#[derive(Clone, Debug, Serialize)]
pub struct Receipt {
    pub ticket: u64,
    /// The reprint number when this is a duplicate.
    pub duplicate: Option<u32>,
    /// What the QR code printed on the receipt holds: the reference to scan for a return.
    pub qr: String,
    pub text: String,
}

fn rule_line() -> String {
    "-".repeat(WIDTH)
}

fn columns(left: &str, right: &str) -> String {
    let right: String = right.chars().take(WIDTH).collect();
    let room = WIDTH.saturating_sub(right.chars().count() + 1);
    let left: String = left.chars().take(room).collect();
    let pad = WIDTH.saturating_sub(left.chars().count() + right.chars().count());
    format!("{left}{}{right}", " ".repeat(pad))
}

fn centered(text: &str) -> String {
    let text: String = text.chars().take(WIDTH).collect();
    let pad = (WIDTH - text.chars().count()) / 2;
    format!("{}{text}", " ".repeat(pad))
}

fn quantity(q: Quantity) -> String {
    match q {
        Quantity::Units(n) => n.to_string(),
        Quantity::Grams(g) => format!("{}.{:03} kg", g / 1000, g % 1000),
    }
}

/// The lines as printed: a line longer than the paper continues on the next one.
fn paper(lines: &[String]) -> String {
    let mut text = String::new();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        for chunk in chars.chunks(WIDTH) {
            text.extend(chunk);
            text.push('\n');
        }
        if chars.is_empty() {
            text.push('\n');
        }
    }
    text
}

/// The per-rate table: excluding VAT, VAT and including VAT for each rate.
fn vat_table(out: &mut Vec<String>, vat: &[pos_domain::vat::VatLine]) {
    out.push(columns("Taux", "HT        TVA        TTC"));
    for v in vat {
        let right = format!(
            "{:>9} {:>10} {:>10}",
            v.excluding_vat.to_string(),
            v.vat.to_string(),
            v.including_vat.to_string()
        );
        out.push(columns(&format!("{} %", v.rate), &right));
    }
}

/// A UTC RFC 3339 timestamp shown in the shop's time zone, French style.
fn local_time(identity: &Identity, at: &str) -> String {
    DateTime::parse_from_rfc3339(at)
        .map(|at| {
            at.with_timezone(&identity.timezone)
                .format("%d/%m/%Y %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_string())
}

/// The reference a receipt's QR code carries, scanned to find the ticket for a return.
pub fn qr_reference(identity: &Identity, ticket: &RecordedTicket) -> String {
    format!(
        "POS1:{}:{}:{}",
        identity.till_id,
        ticket.number,
        &ticket.hash[..16]
    )
}

/// A reference as the receipt prints it: a credit note's or gift card's number shortened to
/// its prefix and last four digits (the full number is the customer's to keep on the card or
/// the slip, not on every receipt), anything else as it is.
fn masked(reference: &str) -> String {
    match InstrumentNumber::parse(reference) {
        Ok(number) => {
            let text = number.as_str();
            format!("{}...{}", &text[..2], &text[text.len() - 4..])
        }
        Err(_) => reference.to_string(),
    }
}

/// The gift cards sold on a ticket (paid on top of the total: no VAT, not a sale) and the
/// credit notes it issued, under the VAT table.
fn stored_value_lines(out: &mut Vec<String>, ticket: &pos_domain::ticket::Ticket) {
    let loads: Vec<_> = ticket
        .stored_value
        .iter()
        .filter(|m| m.kind.is_load())
        .collect();
    if !loads.is_empty() {
        out.push("Cartes cadeaux (hors TVA, hors CA)".into());
        for load in loads {
            let what = if load.kind == MovementKind::TopUp {
                "Recharge"
            } else {
                "Carte"
            };
            out.push(columns(
                &format!("  {what} {}", masked(load.number.as_str())),
                &load.amount.to_string(),
            ));
        }
        out.push(columns("A PAYER EUR", &ticket.amount_due().to_string()));
    }
    for issue in ticket
        .stored_value
        .iter()
        .filter(|m| m.kind == MovementKind::Issue)
    {
        out.push(columns(
            &format!("Avoir emis {}", masked(issue.number.as_str())),
            &issue.amount.to_string(),
        ));
    }
}

/// The slip of a credit note `issue` made by `ticket`: what the customer brings back to spend
/// it. The full number is printed, and carried by the QR code (and a barcode where the
/// printer path supports one) so the till reads it back by scanning.
pub fn render_credit_note(
    identity: &Identity,
    ticket: &RecordedTicket,
    issue: &InstrumentMovement,
) -> String {
    let rule = "-".repeat(WIDTH);
    let mut out = vec![
        centered(&identity.shop_name),
        centered("AVOIR"),
        rule.clone(),
        columns(
            &format!("Ticket n° {}", ticket.number),
            &local_time(identity, &ticket.at),
        ),
        format!("Caisse {}", identity.till_id),
        rule.clone(),
        centered(&issue.number.grouped()),
        columns("Montant EUR", &issue.amount.to_string()),
    ];
    if let Some(expires) = issue.expires {
        out.push(columns(
            "Valable jusqu'au",
            &expires.format("%d/%m/%Y").to_string(),
        ));
    }
    out.push(rule);
    out.push("Utilisable dans tous nos magasins, en une ou".into());
    out.push("plusieurs fois. Non remboursable en especes.".into());
    out.push(format!("Code {}", issue.number.scan_payload()));
    paper(&out)
}

/// Renders a recorded ticket as receipt text. `customer_name` is the name of the customer the
/// ticket names, when the till knows them; otherwise the receipt shows the customer's id.
pub fn render(
    identity: &Identity,
    ticket: &RecordedTicket,
    duplicate: Option<u32>,
    customer_name: Option<&str>,
) -> Receipt {
    let mut out: Vec<String> = Vec::new();
    let rule = "-".repeat(WIDTH);
    out.push(centered(&identity.shop_name));
    for line in identity
        .shop_address
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        out.push(centered(line.trim()));
    }
    if !identity.siret.is_empty() {
        out.push(centered(&format!("SIRET {}", identity.siret)));
    }
    if !identity.vat_number.is_empty() {
        out.push(centered(&format!("TVA intracom. {}", identity.vat_number)));
    }
    if let Some(n) = duplicate {
        out.push(String::new());
        out.push(centered(&format!("*** DUPLICATA {n} ***")));
    }
    if ticket.chain == pos_domain::record::Chain::Training {
        out.push(centered("*** MODE ECOLE - SANS VALEUR ***"));
    }
    out.push(rule.clone());
    let title = match ticket.ticket.kind {
        TicketKind::Sale => "Ticket",
        TicketKind::Return => "Retour",
        TicketKind::Cancellation => "Annulation",
        TicketKind::Exchange => "Echange",
    };
    let local = local_time(identity, &ticket.at);
    out.push(columns(&format!("{title} n° {}", ticket.number), &local));
    out.push(columns(
        &format!("Caisse {}", identity.till_id),
        &format!("Op. {}", ticket.operator),
    ));
    match (ticket.ticket.original, &ticket.ticket.original_till) {
        (Some(original), Some(till)) => {
            out.push(format!("Sur ticket n° {original} caisse {till}"));
        }
        (Some(original), None) => out.push(format!("Sur ticket n° {original}")),
        _ => {}
    }
    if let Some(unchecked) = &ticket.ticket.unchecked_return {
        if !unchecked.with_receipt {
            out.push("Retour sans ticket".into());
        }
        out.push(format!("Accord responsable {}", unchecked.approved_by));
        if let Some(reason) = &unchecked.reason {
            out.push(format!(
                "Motif : {}",
                reason.chars().take(WIDTH - 8).collect::<String>()
            ));
        }
    }
    if let Some(order) = &ticket.ticket.web_order {
        out.push(match ticket.ticket.kind {
            TicketKind::Return | TicketKind::Cancellation => {
                format!("Retour commande web {order}")
            }
            _ => format!("Retrait commande web {order}"),
        });
    }
    out.push(rule.clone());
    let exchange = ticket.ticket.kind == TicketKind::Exchange;
    for (index, line) in ticket.ticket.lines.iter().enumerate() {
        // An exchange prints what comes back, then what goes out, each under its heading.
        if exchange
            && (index == 0 || line.is_returned() != ticket.ticket.lines[index - 1].is_returned())
        {
            if index > 0 {
                out.push(String::new());
            }
            out.push(
                if line.is_returned() {
                    "ARTICLES REPRIS"
                } else {
                    "ARTICLES VENDUS"
                }
                .into(),
            );
        }
        out.push(line.label.chars().take(WIDTH).collect());
        let detail = format!(
            "  {} x {} ({} % TVA)",
            quantity(line.quantity),
            line.unit_price,
            line.vat_rate
        );
        out.push(columns(&detail, &line.gross.to_string()));
        if !line.line_discount.is_zero() {
            let label = match &line.promotion {
                Some(promotion) => format!("  Promo {}", promotion.label),
                None => "  Remise".to_string(),
            };
            out.push(columns(&label, &(-line.line_discount).to_string()));
        }
        for serial in &line.serials {
            out.push(format!("  IMEI {serial}"));
        }
        if let Some(seller) = &line.seller {
            out.push(format!("  Vendeur {seller}"));
        }
        if exchange {
            if let (Some(original), Some(original_line)) =
                (ticket.ticket.original, line.original_line)
            {
                out.push(columns(
                    &format!("  Ligne {original_line} du ticket {original}"),
                    &line.total.to_string(),
                ));
            } else if line.total != line.gross {
                out.push(columns("  Net", &line.total.to_string()));
            }
        }
    }
    if !ticket.ticket.ticket_discount_amount.is_zero() {
        out.push(columns(
            "Remise sur ticket",
            &(-ticket.ticket.ticket_discount_amount).to_string(),
        ));
    }
    out.push(rule.clone());
    if exchange {
        out.push(columns(
            "Total repris TTC",
            &ticket.ticket.returned_amount().to_string(),
        ));
        out.push(columns(
            "Total vendu TTC",
            &ticket.ticket.sold_amount().to_string(),
        ));
        let settle = if ticket.ticket.total.is_negative() {
            "A rembourser"
        } else {
            "A payer"
        };
        out.push(columns(settle, &ticket.ticket.total.abs().to_string()));
    }
    out.push(columns("TOTAL TTC EUR", &ticket.ticket.total.to_string()));
    vat_table(&mut out, &ticket.ticket.vat);
    stored_value_lines(&mut out, &ticket.ticket);
    out.push(rule.clone());
    for tender in &ticket.ticket.tenders {
        let mut label = tender.kind.label_fr().to_string();
        if let Some(reference) = &tender.reference {
            label.push_str(&format!(" {}", masked(reference)));
        }
        out.push(columns(&label, &tender.amount.to_string()));
    }
    if ticket.ticket.change != Money::ZERO {
        out.push(columns("Rendu", &ticket.ticket.change.to_string()));
    }
    if let Some(customer) = &ticket.ticket.customer {
        out.push(format!("Client {}", customer_name.unwrap_or(customer)));
    }
    out.push(rule);
    let qr = qr_reference(identity, ticket);
    out.push(format!("Ref. {qr}"));
    out.push(format!("Signature {}...", &ticket.signature[..16]));
    out.push(format!("Logiciel {}", crate::engine::SOFTWARE));
    out.push(centered("Merci de votre visite"));
    let text = paper(&out);
    Receipt {
        ticket: ticket.number,
        duplicate,
        qr,
        text,
    }
}

impl Till {
    /// The receipt of ticket `number`. With `duplicate`, the reprint is first recorded in the
    /// duplicate chain and the receipt is headed "DUPLICATA n".
    pub fn receipt(
        &mut self,
        operator: Option<&str>,
        number: u64,
        duplicate: bool,
    ) -> Result<Receipt> {
        let ticket = self.ticket(pos_domain::record::Chain::Ticket, number)?;
        self.print(operator, ticket, duplicate)
    }

    /// The receipt of training ticket `number`, headed "MODE ECOLE". Training receipts have no
    /// fiscal value, so their reprints are not recorded.
    pub fn training_receipt(&self, number: u64) -> Result<Receipt> {
        let ticket = self.ticket(pos_domain::record::Chain::Training, number)?;
        let name = self.customer_name(&ticket)?;
        Ok(render(&self.identity, &ticket, None, name.as_deref()))
    }

    /// The receipt of ticket `number` as it would print, for a preview: nothing is recorded.
    pub fn receipt_preview(&self, number: u64) -> Result<Receipt> {
        let ticket = self.ticket(pos_domain::record::Chain::Ticket, number)?;
        let name = self.customer_name(&ticket)?;
        Ok(render(&self.identity, &ticket, None, name.as_deref()))
    }

    /// The name of the ticket's customer, if it names one this till knows.
    fn customer_name(&self, ticket: &RecordedTicket) -> Result<Option<String>> {
        Ok(match &ticket.ticket.customer {
            Some(id) => self.customer(id)?.map(|c| c.name),
            None => None,
        })
    }

    fn print(
        &mut self,
        operator: Option<&str>,
        ticket: RecordedTicket,
        duplicate: bool,
    ) -> Result<Receipt> {
        let number = ticket.number;
        let reprint = if duplicate {
            Some(self.record_duplicate(operator.unwrap_or(SYSTEM_OPERATOR), number)?)
        } else {
            None
        };
        let name = self.customer_name(&ticket)?;
        Ok(render(&self.identity, &ticket, reprint, name.as_deref()))
    }
}

fn totals_lines(out: &mut Vec<String>, totals: &pos_domain::closure::PeriodTotals) {
    let rule = "-".repeat(WIDTH);
    let range = match (totals.first_ticket, totals.last_ticket) {
        (Some(first), Some(last)) => format!("{first} a {last}"),
        _ => "aucun".into(),
    };
    out.push(columns("Tickets", &range));
    out.push(columns(
        "Ventes / retours",
        &format!("{} / {}", totals.sales, totals.returns),
    ));
    // Exchanges count in both amounts; periods without one print as they always have.
    if totals.exchanges > 0 {
        out.push(columns("Echanges", &totals.exchanges.to_string()));
        out.push(columns(
            "Total ventes TTC",
            &totals.sales_amount().to_string(),
        ));
        out.push(columns(
            "Total retours TTC",
            &totals.returns_amount().to_string(),
        ));
    }
    out.push(rule.clone());
    vat_table(out, &totals.vat);
    out.push(rule.clone());
    for tender in &totals.tenders {
        out.push(columns(
            &format!("{} ({})", tender.kind.label_fr(), tender.count),
            &tender.amount.to_string(),
        ));
    }
    out.push(rule);
    out.push(columns("Total periode TTC", &totals.total.to_string()));
    out.push(columns(
        "Total periode absolu",
        &totals.absolute_total.to_string(),
    ));
    if !totals.stored_value.is_empty() {
        // Liability, not revenue: the chain owes this money to card and note holders.
        out.push(rule_line());
        out.push("Avoirs et cartes cadeaux (hors CA)".into());
        for liability in &totals.stored_value {
            let name = liability.kind.label_fr();
            for (what, amount) in [
                ("vendues/rechargees", liability.loaded),
                ("emis", liability.issued),
                ("utilises", liability.redeemed),
                ("dont hors ligne", liability.redeemed_offline),
            ] {
                if !amount.is_zero() {
                    out.push(columns(&format!("  {name} {what}"), &amount.to_string()));
                }
            }
        }
    }
    out.push(columns(
        "Grand total perpetuel",
        &totals.grand_total.to_string(),
    ));
    out.push(columns(
        "Grand total perpetuel absolu",
        &totals.perpetual_absolute_total.to_string(),
    ));
}

/// The printed form of a recorded day, month or year closure.
pub fn render_closure(identity: &Identity, closure: &crate::requests::RecordedClosure) -> String {
    use pos_domain::closure::ClosureLevel;
    let title = match closure.closure.level {
        ClosureLevel::Day => "CLOTURE JOURNALIERE (Z)",
        ClosureLevel::Month => "CLOTURE MENSUELLE",
        ClosureLevel::Year => "CLOTURE ANNUELLE",
    };
    let mut out = vec![
        centered(&identity.shop_name),
        centered(title),
        "-".repeat(WIDTH),
    ];
    out.push(columns(
        &format!("Cloture n° {}", closure.number),
        &closure.closure.period,
    ));
    out.push(columns(
        &format!("Caisse {}", identity.till_name),
        &local_time(identity, &closure.at),
    ));
    totals_lines(&mut out, &closure.closure.totals);
    out.push(format!("Signature {}...", &closure.signature[..16]));
    paper(&out)
}

/// The printed form of an X report (not recorded).
pub fn render_x(identity: &Identity, report: &crate::requests::XReport) -> String {
    let mut out = vec![
        centered(&identity.shop_name),
        centered("RAPPORT X (lecture)"),
        "-".repeat(WIDTH),
    ];
    out.push(columns(
        &format!("Caisse {}", identity.till_name),
        &local_time(identity, &report.at),
    ));
    totals_lines(&mut out, &report.totals);
    out.push(columns(
        "Especes attendues en caisse",
        &report.expected_cash.to_string(),
    ));
    paper(&out)
}
