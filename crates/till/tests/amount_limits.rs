//! Amounts every reader can read back (see `pos_domain::limits`): an amount beyond the domain's
//! limit is refused before anything is signed, and whatever the ledger accepts, the receipt,
//! the X report, the Z and month closures, the ticket read-back and the archive export all read.

mod support;

use std::str::FromStr;

use pos_domain::Money;
use pos_domain::closure::ClosureLevel;
use pos_domain::journal::CashMovementKind;
use pos_domain::record::Chain;
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{Discount, ReturnLine};
use pos_till::requests::{ExchangeRequest, ReturnRequest, SaleLineRequest, SaleRequest};
use pos_till::{Till, TillError};
use proptest::prelude::*;
use support::new_till;

fn money(text: &str) -> Money {
    Money::from_str(text).unwrap()
}

fn cash(amount: Money) -> Vec<Tender> {
    vec![Tender {
        kind: TenderKind::Cash,
        amount,
        reference: None,
        payment: None,
    }]
}

/// A sale of `quantity` cables at `unit_price` (a price override), paid exactly in cash.
fn sale_at(unit_price: Money, quantity: i64, tendered: Money) -> SaleRequest {
    SaleRequest {
        operator: Some("manager".into()),
        lines: vec![SaleLineRequest {
            product_id: Some("ACC-CBL-CC1".into()),
            quantity: Some(quantity),
            unit_price: Some(unit_price),
            ..SaleLineRequest::default()
        }],
        tenders: cash(tendered),
        ..SaleRequest::default()
    }
}

/// How many records every chain holds: what a refused entry must leave unchanged.
fn record_counts(till: &Till) -> Vec<u64> {
    Chain::ALL
        .into_iter()
        .map(|chain| till.chain_length(chain).unwrap())
        .collect()
}

/// Every reader of the ledger: the receipt of each ticket, the X report, the ticket read-back.
fn read_everything(till: &mut Till) {
    let tickets = till.chain_length(Chain::Ticket).unwrap();
    for number in 1..=tickets {
        till.ticket(Chain::Ticket, number)
            .unwrap_or_else(|e| panic!("ticket {number} must read back: {e}"));
        till.receipt_preview(number)
            .unwrap_or_else(|e| panic!("the receipt of ticket {number} must print: {e}"));
    }
    till.report_x()
        .unwrap_or_else(|e| panic!("the X report must read every ticket: {e}"));
}

#[test]
fn an_oversized_sale_is_refused_before_signing_and_the_ledger_still_closes() {
    let mut t = new_till();
    let before = record_counts(&t.till);
    // 10^15 EUR: the largest amount text may hold, which the ledger once signed and then
    // could never read back in its running totals.
    let huge = money("1000000000000000.00");
    let error = t.till.sell(&sale_at(huge, 1, huge)).unwrap_err();
    assert_eq!(
        error.code(),
        "amount_too_large",
        "an amount beyond the domain's limit is refused with its own code: {error}"
    );
    assert!(
        error.to_string().contains("9999999.99"),
        "the message says the limit: {error}"
    );
    assert_eq!(
        record_counts(&t.till),
        before,
        "a refused sale leaves every chain of the ledger as it was (nothing signed)"
    );
    // Within each line's limit, but together beyond the ticket's.
    let max = Money::MAX_AMOUNT;
    let two_lines = SaleRequest {
        lines: vec![sale_at(max, 1, max).lines[0].clone(); 2],
        ..sale_at(max, 1, max + max)
    };
    let error = t.till.sell(&two_lines).unwrap_err();
    assert_eq!(error.code(), "amount_too_large", "{error}");
    let error = t.till.quote(&sale_at(max, 2, max + max)).unwrap_err();
    assert_eq!(
        error.code(),
        "amount_too_large",
        "a quote refuses too: {error}"
    );
    assert_eq!(record_counts(&t.till), before, "refusals sign nothing");

    // The largest amount is taken, and every reader reads it back; X and Z work.
    let sold = t.till.sell(&sale_at(max, 1, max)).unwrap();
    assert_eq!(sold.ticket.total, max);
    read_everything(&mut t.till);
    let z = t.till.close("manager", ClosureLevel::Day).unwrap();
    assert_eq!(
        z.closure.totals.grand_total, max,
        "the Z closure reads the largest ticket back"
    );
    t.till.closure(None).expect("the Z closure reads back");
    t.till
        .sell(&sale_at(money("1.00"), 1, money("1.00")))
        .expect("the till keeps selling after the largest ticket");
}

#[test]
fn oversized_cash_movements_and_tenders_are_refused_before_signing() {
    let mut t = new_till();
    let before = record_counts(&t.till);
    let error = t
        .till
        .cash_movement(
            "manager",
            CashMovementKind::PayIn,
            money("10000000.00"),
            None,
        )
        .unwrap_err();
    assert_eq!(error.code(), "amount_too_large", "{error}");
    let error = t
        .till
        .cash_movement(
            "manager",
            CashMovementKind::PayOut,
            money("5.00"),
            Some("x".repeat(501)),
        )
        .unwrap_err();
    assert_eq!(error.code(), "text_too_long", "{error}");
    // Change of 10^12 EUR on a 14.90 EUR cable.
    let error = t
        .till
        .sell(&SaleRequest {
            lines: vec![SaleLineRequest {
                product_id: Some("ACC-CBL-CC1".into()),
                ..SaleLineRequest::default()
            }],
            tenders: cash(money("1000000000000.00")),
            ..SaleRequest::default()
        })
        .unwrap_err();
    assert_eq!(error.code(), "amount_too_large", "{error}");
    assert_eq!(
        record_counts(&t.till),
        before,
        "refused movements and tenders sign nothing"
    );
}

#[test]
fn a_catalog_beyond_the_limits_is_refused_whole() {
    let mut t = new_till();
    let before = t.till.product_by_id("ACC-CBL-CC1").unwrap();
    let csv = "id,barcodes,label,category,vat_code,price,sold_by,serial\n\
               ACC-CBL-CC1,,Cable,Accessoires,standard,2.00,,\n\
               HUGE,,Huge,Accessoires,standard,1000000000000000.00,,\n";
    let error =
        pos_till::catalog::read(pos_till::catalog::CatalogFormat::Csv, csv.as_bytes()).unwrap_err();
    assert_eq!(
        error.code(),
        "amount_too_large",
        "a catalog price beyond the limit refuses the file: {error}"
    );
    let long_label = pos_domain::product::Product {
        label: "x".repeat(201),
        ..before.clone().unwrap()
    };
    let error = t.till.import_catalog(&[long_label], "test").unwrap_err();
    assert_eq!(error.code(), "text_too_long", "{error}");
    assert_eq!(
        t.till.product_by_id("ACC-CBL-CC1").unwrap(),
        before,
        "a refused import changes no product"
    );
}

/// One entry point of the till, with amounts drawn around the limits.
#[derive(Clone, Debug)]
enum Entry {
    Sale {
        cents: i64,
        quantity: i64,
        lines: usize,
        discount_cents: Option<i64>,
    },
    /// Return `quantity` units of line 1 of the newest sale.
    Return { quantity: u32 },
    /// Exchange one unit of line 1 of the newest sale for `quantity` cables at `cents`.
    Exchange { cents: i64, quantity: i64 },
}

/// Cents around the interesting bounds: ordinary prices, the limit, the reader limit.
fn cents() -> impl Strategy<Value = i64> {
    prop_oneof![
        1i64..100_000,
        999_999_000i64..1_000_000_100,
        100_000_000_000_000_000i64..=100_000_000_000_000_000,
        1i64..200_000_000_000_000_000,
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        3 => (cents(), 1i64..4, 1usize..3, proptest::option::of(0i64..2_000_000_000)).prop_map(
            |(cents, quantity, lines, discount_cents)| Entry::Sale { cents, quantity, lines, discount_cents }
        ),
        1 => (1u32..3).prop_map(|quantity| Entry::Return { quantity }),
        1 => (cents(), 1i64..3).prop_map(|(cents, quantity)| Entry::Exchange { cents, quantity }),
    ]
}

/// Runs one entry; `true` if it was recorded.
fn run(till: &mut Till, entry: &Entry, last_sale: Option<u64>) -> Result<Option<u64>, TillError> {
    match entry.clone() {
        Entry::Sale {
            cents,
            quantity,
            lines,
            discount_cents,
        } => {
            let price = Money::from_cents(cents);
            let mut request = sale_at(price, quantity, Money::ZERO);
            request.lines = vec![request.lines[0].clone(); lines];
            request.discount = discount_cents.map(|c| Discount::Amount(Money::from_cents(c)));
            // Pay exactly what the quote says; a refused quote is a refused sale.
            let quote = till.quote(&request)?;
            request.tenders = cash(quote.total);
            Ok(Some(till.sell(&request)?.number))
        }
        Entry::Return { quantity } => {
            let Some(original) = last_sale else {
                return Ok(None);
            };
            till.return_items(&ReturnRequest {
                original,
                lines: vec![ReturnLine {
                    line: 1,
                    quantity,
                    serials: Vec::new(),
                }],
                ..ReturnRequest::default()
            })?;
            Ok(None)
        }
        Entry::Exchange { cents, quantity } => {
            let Some(original) = last_sale else {
                return Ok(None);
            };
            let mut request = ExchangeRequest {
                original,
                returned: vec![ReturnLine {
                    line: 1,
                    quantity: 1,
                    serials: Vec::new(),
                }],
                lines: sale_at(Money::from_cents(cents), quantity, Money::ZERO).lines,
                ..ExchangeRequest::default()
            };
            let quote = till.quote_exchange(&request)?;
            request.tenders = (!quote.total.is_negative()).then(|| cash(quote.total));
            if quote.total.is_zero() {
                request.tenders = Some(Vec::new());
            }
            till.exchange(&request)?;
            Ok(None)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Whatever the till accepts, every reader reads back (ticket, receipt, X, Z, closures);
    /// whatever it refuses leaves every chain as it was.
    #[test]
    fn whatever_the_till_accepts_every_reader_reads_back(entries in proptest::collection::vec(entry(), 1..8)) {
        let mut t = new_till();
        let mut last_sale = None;
        for entry in &entries {
            let before = record_counts(&t.till);
            match run(&mut t.till, entry, last_sale) {
                Ok(sold) => last_sale = sold.or(last_sale),
                Err(error) => {
                    prop_assert!(
                        error.is_input_error(),
                        "{entry:?} is refused as input, never as a failure: {error}"
                    );
                    prop_assert_eq!(
                        record_counts(&t.till),
                        before,
                        "{:?} was refused ({}), so nothing may be signed", entry, error
                    );
                }
            }
            read_everything(&mut t.till);
        }
        let z = t.till.close("manager", ClosureLevel::Day);
        prop_assert!(z.is_ok(), "the Z closure reads every accepted ticket: {:?}", z.err());
        prop_assert!(t.till.closure(None).is_ok(), "the Z closure reads back");
        prop_assert!(
            t.till.close("manager", ClosureLevel::Month).is_ok(),
            "the month closure sums the day closures"
        );
        // The fiscal export reads every record back, and verifies.
        let out = t.dir.path().join("archive.json");
        // The test clock stays on 2026-03-30, a day in Paris as in UTC at 08:00.
        let day = support::start().date_naive();
        let archived = t.till.archive_export("manager", day, day, &out);
        prop_assert!(archived.is_ok(), "the archive export reads every record: {:?}", archived.err());
        let check = pos_till::archive::verify_archive(&out).unwrap();
        prop_assert!(check.intact && check.signature_valid, "the archive verifies: {:?}", check);
    }
}
