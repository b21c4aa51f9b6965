//! Closures: the X report of a shift, and the day (Z), month and fiscal-year closures recorded
//! in the closure chain with per-rate totals, period totals and perpetual totals.
//!
//! A day closure sums the tickets since the previous day closure; a month closure sums the day
//! closures since the previous month closure, and a year closure the month closures. Summing
//! closures rather than tickets keeps every level instant, and guarantees a month equals the sum
//! of its days to the cent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::stored_value::{InstrumentKind, LiabilityTotal};
use crate::tender::TenderKind;
use crate::ticket::{Ticket, TicketKind};
use crate::vat::{VatLine, VatRate};

/// Which period a closure closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosureLevel {
    Day,
    Month,
    Year,
}

impl ClosureLevel {
    /// The level whose closures this one sums (a day sums tickets).
    pub fn sums(self) -> Option<ClosureLevel> {
        match self {
            ClosureLevel::Day => None,
            ClosureLevel::Month => Some(ClosureLevel::Day),
            ClosureLevel::Year => Some(ClosureLevel::Month),
        }
    }
}

/// Money taken per tender over a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderTotal {
    pub kind: TenderKind,
    /// Net amount kept: payments minus refunds, minus change for cash.
    pub amount: Money,
    pub count: u64,
}

/// Totals over a period: what an X report shows and a closure records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodTotals {
    pub first_ticket: Option<u64>,
    pub last_ticket: Option<u64>,
    pub tickets: u64,
    pub sales: u64,
    /// Returns and cancellations.
    pub returns: u64,
    /// Exchanges: their returned part is in the returns amount, their new part in the sales
    /// amount (see [`PeriodTotals::sales_amount`]). Absent from records made before exchanges.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub exchanges: u64,
    /// Per VAT rate: the sum of the tickets' per-rate amounts.
    pub vat: Vec<VatLine>,
    pub tenders: Vec<TenderTotal>,
    /// Period total including VAT (returns negative).
    pub total: Money,
    /// Period absolute total (returns counted positive; an exchange adds what it sold plus what
    /// it refunded).
    pub absolute_total: Money,
    /// Per instrument kind, gift cards sold and topped up, credit notes issued and stored value
    /// spent ([`crate::stored_value`]): liability movements, never revenue. The loads are paid
    /// in the tenders on top of `total`; the redemptions are in the tenders of their kind.
    /// Absent from records made before stored value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored_value: Vec<LiabilityTotal>,
    /// Perpetual grand total at the end of the period.
    pub grand_total: Money,
    /// Perpetual absolute grand total at the end of the period.
    pub perpetual_absolute_total: Money,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl PeriodTotals {
    /// What was sold over the period, VAT included: sales, and the new lines of exchanges.
    /// Derived from the totals, since `absolute_total = sales − returns` and
    /// `total = sales + returns` (returns negative).
    pub fn sales_amount(&self) -> Money {
        Money::from_cents((self.absolute_total.cents() + self.total.cents()) / 2)
    }

    /// What was refunded over the period (negative): returns, cancellations, and the returned
    /// lines of exchanges.
    pub fn returns_amount(&self) -> Money {
        self.total - self.sales_amount()
    }
}

/// Accumulates tickets or closures into [`PeriodTotals`].
#[derive(Default)]
pub struct TotalsBuilder {
    totals: PeriodTotals,
    vat: BTreeMap<VatRate, VatLine>,
    tenders: BTreeMap<TenderKind, TenderTotal>,
    stored_value: BTreeMap<InstrumentKind, LiabilityTotal>,
}

impl TotalsBuilder {
    /// Starts from the perpetual totals at the end of the previous period, so an empty period
    /// still carries them.
    pub fn new(grand_total: Money, perpetual_absolute_total: Money) -> TotalsBuilder {
        let mut builder = TotalsBuilder::default();
        builder.totals.grand_total = grand_total;
        builder.totals.perpetual_absolute_total = perpetual_absolute_total;
        builder
    }

    pub fn add_ticket(&mut self, number: u64, ticket: &Ticket) {
        let t = &mut self.totals;
        t.first_ticket.get_or_insert(number);
        t.last_ticket = Some(number);
        t.tickets += 1;
        match ticket.kind {
            TicketKind::Sale => t.sales += 1,
            TicketKind::Return | TicketKind::Cancellation => t.returns += 1,
            TicketKind::Exchange => t.exchanges += 1,
        }
        t.total += ticket.total;
        t.absolute_total += ticket.absolute_amount();
        t.grand_total = ticket.grand_total;
        t.perpetual_absolute_total = ticket.perpetual_absolute_total;
        for line in &ticket.vat {
            self.add_vat(line);
        }
        for tender in &ticket.tenders {
            self.add_tender(tender.kind, tender.amount, 1);
        }
        if !ticket.change.is_zero() {
            self.add_tender(TenderKind::Cash, -ticket.change, 0);
        }
        for movement in &ticket.stored_value {
            let kind = movement.number.kind();
            self.stored_value
                .entry(kind)
                .or_insert_with(|| LiabilityTotal::new(kind))
                .add_movement(movement);
        }
    }

    pub fn add_closure(&mut self, closure: &Closure) {
        let p = &closure.totals;
        let t = &mut self.totals;
        if t.first_ticket.is_none() {
            t.first_ticket = p.first_ticket;
        }
        if p.last_ticket.is_some() {
            t.last_ticket = p.last_ticket;
        }
        t.tickets += p.tickets;
        t.sales += p.sales;
        t.returns += p.returns;
        t.exchanges += p.exchanges;
        t.total += p.total;
        t.absolute_total += p.absolute_total;
        t.grand_total = p.grand_total;
        t.perpetual_absolute_total = p.perpetual_absolute_total;
        for line in &p.vat {
            self.add_vat(line);
        }
        for tender in &p.tenders {
            self.add_tender(tender.kind, tender.amount, tender.count);
        }
        for total in &p.stored_value {
            self.stored_value
                .entry(total.kind)
                .or_insert_with(|| LiabilityTotal::new(total.kind))
                .add(total);
        }
    }

    fn add_vat(&mut self, line: &VatLine) {
        let entry = self.vat.entry(line.rate).or_insert(VatLine {
            rate: line.rate,
            including_vat: Money::ZERO,
            vat: Money::ZERO,
            excluding_vat: Money::ZERO,
        });
        entry.including_vat += line.including_vat;
        entry.vat += line.vat;
        entry.excluding_vat += line.excluding_vat;
    }

    fn add_tender(&mut self, kind: TenderKind, amount: Money, count: u64) {
        let entry = self.tenders.entry(kind).or_insert(TenderTotal {
            kind,
            amount: Money::ZERO,
            count: 0,
        });
        entry.amount += amount;
        entry.count += count;
    }

    pub fn finish(mut self) -> PeriodTotals {
        self.totals.vat = self.vat.into_values().collect();
        self.totals.tenders = self.tenders.into_values().collect();
        self.totals.stored_value = self.stored_value.into_values().collect();
        self.totals
    }
}

/// A closure: the payload of a closure-chain record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub level: ClosureLevel,
    /// The closed period in the shop's local calendar: `2026-11-22`, `2026-11` or the fiscal
    /// year's first and last day `2026-01-01/2026-12-31`.
    pub period: String,
    /// The ticket chain's head when the closure was made: the next day closure starts after it.
    pub through_ticket: u64,
    /// The cash chain's head when the closure was made: the next day's drawer starts after it.
    #[serde(default)]
    pub through_cash: u64,
    /// For month and year closures: the first and last closure-chain sequences summed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closures: Option<(u64, u64)>,
    pub totals: PeriodTotals,
    /// Signature of the last ticket covered, tying the closure to the ticket chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ticket_signature: Option<String>,
}
