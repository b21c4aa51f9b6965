//! Scenario tests of the engine API: sales, returns, closures, duplicates, cash, start-up,
//! append-only triggers, archives.

mod support;

use chrono::Duration;
use pos_domain::Money;
use pos_domain::closure::ClosureLevel;
use pos_domain::journal::CashMovementKind;
use pos_domain::record::{Chain, Depth};
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{ReturnLine, TicketKind};
use pos_till::requests::{ExchangeRequest, ReturnRequest, SaleLineRequest, SaleRequest};
use support::{new_till, run_till, text};

fn cash(cents: i64) -> Tender {
    Tender {
        kind: TenderKind::Cash,
        amount: Money::from_cents(cents),
        reference: None,
        payment: None,
    }
}

fn sale(product: &str, quantity: i64, tenders: Vec<Tender>) -> SaleRequest {
    SaleRequest {
        operator: Some("alice".into()),
        lines: vec![SaleLineRequest {
            product_id: Some(product.into()),
            quantity: Some(quantity),
            ..Default::default()
        }],
        tenders,
        ..Default::default()
    }
}

#[test]
fn tickets_chain_with_gap_free_numbers_and_perpetual_totals() {
    let mut t = new_till();
    let first = t
        .till
        .sell(&sale("ACC-COQ-IP16", 1, vec![cash(2999)]))
        .unwrap();
    let second = t
        .till
        .sell(&sale("ACC-CBL-CC1", 2, vec![cash(5000)]))
        .unwrap();
    assert_eq!(
        (first.number, second.number),
        (1, 2),
        "ticket numbers start at 1 without gaps"
    );
    assert_eq!(second.ticket.change, Money::from_cents(5000 - 2980));
    assert_eq!(
        second.ticket.grand_total,
        Money::from_cents(2999 + 2980),
        "grand total is perpetual"
    );
    let back = t
        .till
        .return_items(&ReturnRequest {
            original: 2,
            lines: vec![ReturnLine {
                line: 1,
                quantity: 1,
                serials: vec![],
            }],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(back.ticket.kind, TicketKind::Return);
    assert_eq!(back.ticket.total, Money::from_cents(-1490));
    assert_eq!(
        back.ticket.tenders,
        vec![cash(-1490)],
        "refunded in cash as paid"
    );
    assert_eq!(
        back.ticket.grand_total,
        Money::from_cents(2999 + 2980 - 1490)
    );
    assert_eq!(
        back.ticket.perpetual_absolute_total,
        Money::from_cents(2999 + 2980 + 1490),
        "refunds add their absolute value"
    );
    let too_many = ReturnRequest {
        original: 2,
        lines: vec![ReturnLine {
            line: 1,
            quantity: 2,
            serials: vec![],
        }],
        ..Default::default()
    };
    let err = t.till.return_items(&too_many).unwrap_err();
    assert_eq!(err.code(), "return_exceeds_sale", "{err}");
    assert!(t.till.verify(Depth::Full).unwrap().intact());
}

#[test]
fn training_sales_stay_out_of_the_grand_total() {
    let mut t = new_till();
    let mut training = sale("ACC-COQ-IP16", 1, vec![cash(2999)]);
    training.training = true;
    let recorded = t.till.sell(&training).unwrap();
    assert_eq!(recorded.chain, Chain::Training);
    let real = t
        .till
        .sell(&sale("ACC-COQ-IP16", 1, vec![cash(2999)]))
        .unwrap();
    assert_eq!(
        real.number, 1,
        "a training ticket does not consume a real ticket number"
    );
    assert_eq!(real.ticket.grand_total, Money::from_cents(2999));
    let z = t.till.close("manager", ClosureLevel::Day).unwrap();
    assert_eq!(
        z.closure.totals.total,
        Money::from_cents(2999),
        "the Z ignores training tickets"
    );
}

#[test]
fn day_month_and_year_closures_sum_exactly() {
    let mut t = new_till();
    // Four trading days well inside one month.
    t.clock.set("2026-03-02T08:00:00Z".parse().unwrap());
    let mut expected_total = Money::ZERO;
    for day in 0..3 {
        for i in 0..5 {
            t.clock.advance(Duration::minutes(30));
            let recorded = t
                .till
                .sell(&sale("ACC-CBL-CC1", 1 + i % 2, vec![cash(10_000)]))
                .unwrap();
            expected_total += recorded.ticket.total;
        }
        let z = t.till.close("manager", ClosureLevel::Day).unwrap();
        assert_eq!(
            z.closure.totals.tickets, 5,
            "day {day}: the Z covers the day's tickets"
        );
        let x = t.till.report_x().unwrap();
        assert_eq!(x.totals.tickets, 0, "after a Z the X report starts empty");
        t.clock.advance(Duration::hours(20));
    }
    // Tickets of a fourth day are still open: the month closure closes that day first.
    t.till
        .sell(&sale("ACC-SD-128", 1, vec![cash(1790)]))
        .unwrap();
    expected_total += Money::from_cents(1790);
    let month = t.till.close("manager", ClosureLevel::Month).unwrap();
    assert_eq!(month.closure.totals.tickets, 16);
    assert_eq!(
        month.closure.totals.total, expected_total,
        "the month equals the sum of its tickets"
    );
    assert_eq!(
        month.closure.closures,
        Some((1, 4)),
        "the month sums Z 1 to 4"
    );
    assert_eq!(month.closure.period, "2026-03");
    let vat_sum: Money = month
        .closure
        .totals
        .vat
        .iter()
        .map(|v| v.including_vat)
        .sum();
    assert_eq!(vat_sum, expected_total, "per-rate totals add up");
    let year = t.till.close("manager", ClosureLevel::Year).unwrap();
    assert_eq!(year.closure.totals.total, expected_total);
    assert_eq!(year.closure.period, "2026-01-01/2026-12-31");
    assert_eq!(
        year.closure.totals.grand_total, expected_total,
        "perpetual total carried"
    );
    let latest_z = t.till.closure(None).unwrap();
    assert_eq!(latest_z.number, 4, "report z shows the newest day closure");
}

#[test]
fn empty_day_closure_carries_the_perpetual_totals() {
    let mut t = new_till();
    t.till
        .sell(&sale("ACC-CBL-CC1", 1, vec![cash(1490)]))
        .unwrap();
    t.till.close("manager", ClosureLevel::Day).unwrap();
    let empty = t.till.close("manager", ClosureLevel::Day).unwrap();
    assert_eq!(empty.closure.totals.tickets, 0);
    assert_eq!(empty.closure.totals.grand_total, Money::from_cents(1490));
}

#[test]
fn duplicates_are_counted_and_recorded() {
    let mut t = new_till();
    t.till
        .sell(&sale("ACC-CBL-CC1", 1, vec![cash(1490)]))
        .unwrap();
    let original = t.till.receipt(None, 1, false).unwrap();
    assert!(!original.text.contains("DUPLICATA"));
    assert!(
        original.text.contains("TOTAL TTC EUR") && original.text.contains("SIRET 12345678900011")
    );
    let first = t.till.receipt(Some("bruno"), 1, true).unwrap();
    let second = t.till.receipt(Some("bruno"), 1, true).unwrap();
    assert!(
        first.text.contains("DUPLICATA 1") && second.text.contains("DUPLICATA 2"),
        "{}",
        second.text
    );
    assert_eq!(
        t.till.chain_length(Chain::Duplicate).unwrap(),
        2,
        "each reprint is a record"
    );
    assert_eq!(
        t.till.receipt(None, 9, true).unwrap_err().code(),
        "unknown_ticket"
    );
    assert_eq!(
        t.till.chain_length(Chain::Duplicate).unwrap(),
        2,
        "a refused reprint records nothing"
    );
}

#[test]
fn cash_count_records_the_difference() {
    let mut t = new_till();
    t.till
        .cash_movement(
            "manager",
            CashMovementKind::OpeningFloat,
            Money::from_cents(15_000),
            None,
        )
        .unwrap();
    t.till
        .sell(&sale("ACC-CBL-CC1", 1, vec![cash(2000)]))
        .unwrap();
    t.till
        .cash_movement(
            "manager",
            CashMovementKind::PayOut,
            Money::from_cents(500),
            Some("window cleaner".into()),
        )
        .unwrap();
    let count = t
        .till
        .cash_movement(
            "manager",
            CashMovementKind::Count,
            Money::from_cents(15_980),
            None,
        )
        .unwrap();
    assert_eq!(count.expected, Some(Money::from_cents(15_000 + 1490 - 500)));
    assert_eq!(
        count.difference,
        Some(Money::from_cents(-10)),
        "10 cents short"
    );
}

#[test]
fn start_up_is_logged_and_verifies() {
    let mut t = new_till();
    let report = t.till.start_up().unwrap();
    assert!(report.intact());
    assert!(
        t.till.chain_length(Chain::Event).unwrap() >= 3,
        "initialized, catalog import and start-up events"
    );
}

#[test]
fn the_database_refuses_updates_and_deletes_of_records() {
    let mut t = new_till();
    t.till
        .sell(&sale("ACC-CBL-CC1", 1, vec![cash(1490)]))
        .unwrap();
    let conn = rusqlite::Connection::open(&t.path).unwrap();
    let update = conn.execute("UPDATE records SET body = x'00' WHERE chain = 'ticket'", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM records WHERE chain = 'ticket'", []);
    assert!(delete.unwrap_err().to_string().contains("never be deleted"));
    let rewind = conn.execute("UPDATE chain_heads SET seq = 0 WHERE chain = 'ticket'", []);
    assert!(rewind.is_err(), "a chain head never moves back");
}

#[test]
fn a_refused_sale_writes_nothing() {
    let mut t = new_till();
    let before = t.till.chain_length(Chain::Ticket).unwrap();
    let err = t
        .till
        .sell(&sale("ACC-CBL-CC1", 1, vec![cash(100)]))
        .unwrap_err();
    assert_eq!(err.code(), "tenders_short");
    assert!(err.to_string().contains("take 13.90 more"), "{err}");
    assert_eq!(t.till.chain_length(Chain::Ticket).unwrap(), before);
}

#[test]
fn archive_round_trip_schema_and_tamper() {
    let mut t = new_till();
    for _ in 0..3 {
        t.till
            .sell(&sale("ACC-CBL-CC1", 1, vec![cash(1490)]))
            .unwrap();
        t.clock.advance(Duration::hours(1));
    }
    t.till.close("manager", ClosureLevel::Day).unwrap();
    let out = t.dir.path().join("archive.json");
    let day = t.clock.now_local_date();
    let summary = t.till.archive_export("manager", day, day, &out).unwrap();
    assert!(summary.records >= 5);
    let check = pos_till::archive::verify_archive(&out).unwrap();
    assert!(check.intact && check.signature_valid, "{check:?}");

    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schema/archive.schema.json")).unwrap();
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the archive follows its JSON Schema: {errors:?}"
    );

    let text = std::fs::read_to_string(&out)
        .unwrap()
        .replacen("\"14.90\"", "\"14.80\"", 1);
    std::fs::write(&out, text).unwrap();
    let check = pos_till::archive::verify_archive(&out).unwrap();
    assert!(
        !check.intact,
        "an archive altered after export fails verification"
    );
    assert_eq!(
        t.till.chain_length(Chain::Archive).unwrap(),
        1,
        "the archive is traced in its chain"
    );
}

trait LocalDate {
    fn now_local_date(&self) -> chrono::NaiveDate;
}

impl LocalDate for std::sync::Arc<pos_domain::clock::ManualClock> {
    fn now_local_date(&self) -> chrono::NaiveDate {
        use pos_domain::clock::Clock;
        self.now()
            .with_timezone(&chrono_tz::Europe::Paris)
            .date_naive()
    }
}

#[test]
fn demo_days_fall_on_distinct_dates_and_never_count_negative_cash() {
    for seed in 1..=8 {
        let mut t = new_till();
        let options = pos_till::demo::DemoOptions {
            tickets: 60,
            seed,
            days: 3,
        };
        pos_till::demo::run(&mut t.till, &t.clock, &options)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let periods: Vec<String> = (1..=t.till.chain_length(Chain::Closure).unwrap())
            .map(|n| t.till.closure(Some(n)).unwrap().closure)
            .filter(|c| c.level == ClosureLevel::Day)
            .map(|c| c.period)
            .collect();
        assert_eq!(
            periods,
            ["2026-03-27", "2026-03-28", "2026-03-29"],
            "seed {seed}: one Z per day, the days before today"
        );
    }
}

#[test]
fn demo_is_deterministic_for_a_seed() {
    let run = |seed| {
        let mut t = new_till();
        let options = pos_till::demo::DemoOptions {
            tickets: 60,
            seed,
            days: 3,
        };
        let summary = pos_till::demo::run(&mut t.till, &t.clock, &options).unwrap();
        assert!(t.till.verify(Depth::Full).unwrap().intact());
        (
            summary.sales,
            summary.returns,
            summary.turnover,
            summary.day_closures,
        )
    };
    let a = run(7);
    assert_eq!(a, run(7), "same seed, same ledger content");
    assert_eq!(a.3, 3, "one Z per day");
    assert_eq!(a.0 + a.1, 60);
}

#[test]
fn settings_changes_are_journaled_with_old_and_new_values() {
    let mut t = new_till();
    let events = t.till.chain_length(Chain::Event).unwrap();
    let change = pos_till::identity::SettingsChange {
        siret: Some("98765432100019".into()),
        ..Default::default()
    };
    let changed = t.till.change_settings("manager", &change).unwrap();
    assert_eq!(changed["siret"]["from"], "12345678900011");
    assert_eq!(changed["siret"]["to"], "98765432100019");
    assert_eq!(
        t.till.chain_length(Chain::Event).unwrap(),
        events + 1,
        "one settings-changed event"
    );
    assert_eq!(t.till.identity().siret, "98765432100019");
    let bad = pos_till::identity::SettingsChange {
        siret: Some("123".into()),
        ..Default::default()
    };
    assert_eq!(
        t.till.change_settings("manager", &bad).unwrap_err().code(),
        "siret_invalid"
    );
    assert_eq!(
        t.till.chain_length(Chain::Event).unwrap(),
        events + 1,
        "a refused change records nothing"
    );
}

#[test]
fn search_ignores_accents_case_and_one_letter_words() {
    let t = new_till();
    let found = |q: &str| {
        t.till
            .search_products(q, 10)
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect::<Vec<_>>()
    };
    assert!(
        found("CABLE usb").contains(&"ACC-CBL-CC1".to_string()),
        "accents and case are ignored"
    );
    assert!(
        found("protection d").contains(&"ACC-VER-UNIV".to_string()),
        "a one-letter word does not hide results"
    );
    assert!(
        found("écou bluet").contains(&"ACC-EAR-BT".to_string()),
        "every word is a prefix"
    );
    assert!(found("c").is_empty(), "one letter alone waits for the next");
    assert!(found("zzzz").is_empty());
}

#[test]
fn a_month_closed_late_holds_only_its_own_days() {
    let mut t = new_till(); // 2026-03-30 08:00 UTC
    let mut day_totals = Vec::new();
    for _ in 0..3 {
        let sold = t
            .till
            .sell(&sale("ACC-CBL-CC1", 1, vec![cash(1490)]))
            .unwrap();
        t.till.close("manager", ClosureLevel::Day).unwrap();
        day_totals.push(sold.ticket.total);
        t.clock.advance(Duration::days(1)); // March 30, March 31, April 1
    }
    // April 2: a ticket still open, and March was never closed.
    t.till
        .sell(&sale("ACC-CBL-CC1", 2, vec![cash(2980)]))
        .unwrap();
    let march = t.till.close("manager", ClosureLevel::Month).unwrap();
    assert_eq!(
        march.closure.period, "2026-03",
        "the earliest unclosed month is closed first"
    );
    assert_eq!(
        march.closure.totals.tickets, 2,
        "March holds only the March days"
    );
    assert_eq!(march.closure.totals.total, day_totals[0] + day_totals[1]);
    let april = t.till.close("manager", ClosureLevel::Month).unwrap();
    assert_eq!(april.closure.period, "2026-04");
    assert_eq!(
        april.closure.totals.tickets, 2,
        "April 1 and the April 2 day closed by the cascade"
    );
    assert_eq!(
        april.closure.totals.grand_total,
        Money::from_cents(1490 * 3 + 2980)
    );
    let year = t.till.close("manager", ClosureLevel::Year).unwrap();
    assert_eq!(year.closure.totals.tickets, 4, "the year sums both months");
    assert_eq!(
        year.closure.totals.total,
        Money::from_cents(1490 * 3 + 2980)
    );
    assert_eq!(
        year.closure.closures,
        Some((march.number, april.number)),
        "the year covers both month closures"
    );
}

#[test]
fn two_returns_racing_cannot_both_take_the_last_unit() {
    let mut t = new_till();
    t.till
        .sell(&sale("ACC-CBL-CC1", 1, vec![cash(1490)]))
        .unwrap();
    let mut other = pos_till::Till::open(&t.path, t.clock.clone()).unwrap();
    let request = ReturnRequest {
        original: 1,
        lines: vec![ReturnLine {
            line: 1,
            quantity: 1,
            serials: vec![],
        }],
        ..Default::default()
    };
    t.till.return_items(&request).unwrap();
    let err = other.return_items(&request).unwrap_err();
    assert_eq!(
        err.code(),
        "return_exceeds_sale",
        "the second till sees the first return inside its transaction"
    );
}

#[test]
fn a_receipt_prints_whatever_the_operator_name() {
    let mut t = new_till();
    let mut request = sale("ACC-CBL-CC1", 1, vec![cash(1490)]);
    request.operator =
        Some("Marie-Thérèse de La Rochefoucauld-Liancourt, responsable adjointe".into());
    t.till.sell(&request).unwrap();
    let receipt = t.till.receipt(None, 1, false).unwrap();
    assert!(
        receipt
            .text
            .lines()
            .all(|l| l.chars().count() <= pos_till::receipt::WIDTH),
        "{}",
        receipt.text
    );
}

fn card(cents: i64) -> Tender {
    Tender {
        kind: TenderKind::Card,
        amount: Money::from_cents(cents),
        reference: Some("A1".into()),
        payment: None,
    }
}

fn new_item(product: &str) -> SaleLineRequest {
    SaleLineRequest {
        product_id: Some(product.into()),
        ..Default::default()
    }
}

#[test]
fn an_exchange_is_one_ticket_counted_as_a_return_and_a_sale() {
    let mut t = new_till();
    // Two cases at 29.99, paid in cash; one comes back for a 49.90 charger.
    t.till
        .sell(&sale("ACC-COQ-IP16", 2, vec![cash(5998)]))
        .unwrap();
    let request = ExchangeRequest {
        operator: Some("alice".into()),
        original: 1,
        returned: vec![ReturnLine {
            line: 1,
            quantity: 1,
            serials: vec![],
        }],
        lines: vec![new_item("ACC-CHG-65W")],
        customer: None,
        tenders: None,
    };
    let quoted = t.till.quote_exchange(&request).unwrap();
    assert_eq!(quoted.total, Money::from_cents(4990 - 2999));
    let unpaid = t.till.exchange(&request).unwrap_err();
    assert_eq!(unpaid.code(), "tenders_short", "{unpaid}");
    let exchange = t
        .till
        .exchange(&ExchangeRequest {
            tenders: Some(vec![card(1991)]),
            ..request.clone()
        })
        .unwrap();
    assert_eq!(exchange.number, 2, "an exchange is one ticket");
    assert_eq!(exchange.ticket.kind, TicketKind::Exchange);
    assert_eq!(exchange.ticket.original, Some(1));
    assert_eq!(exchange.ticket.lines[0].original_line, Some(1));
    assert_eq!(exchange.ticket.lines[0].total, Money::from_cents(-2999));
    assert_eq!(exchange.ticket.lines[1].product_id, "ACC-CHG-65W");
    assert_eq!(exchange.ticket.grand_total, Money::from_cents(5998 + 1991));
    assert_eq!(
        exchange.ticket.perpetual_absolute_total,
        Money::from_cents(5998 + 2999 + 4990),
        "both parts of an exchange count in the absolute total"
    );
    // What the exchange took back is no longer returnable on the original.
    let err = t
        .till
        .return_items(&ReturnRequest {
            original: 1,
            lines: vec![ReturnLine {
                line: 1,
                quantity: 2,
                serials: vec![],
            }],
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code(), "return_exceeds_sale", "{err}");
    // The charger bought on the exchange can come back, refunded as the exchange was paid.
    let back = t
        .till
        .return_items(&ReturnRequest {
            original: 2,
            lines: vec![ReturnLine {
                line: 2,
                quantity: 1,
                serials: vec![],
            }],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(back.ticket.total, Money::from_cents(-4990));
    assert_eq!(back.ticket.tenders[0].kind, TenderKind::Card);
    let receipt = t.till.receipt(Some("alice"), 2, false).unwrap().text;
    for mention in [
        "Echange n° 2",
        "Sur ticket n° 1",
        "ARTICLES REPRIS",
        "Ligne 1 du ticket 1",
        "ARTICLES VENDUS",
        "Chargeur rapide GaN 65 W",
        "A payer",
        "19.91",
    ] {
        assert!(
            receipt.contains(mention),
            "receipt mentions {mention}:\n{receipt}"
        );
    }
    let z = t.till.close("manager", ClosureLevel::Day).unwrap();
    let totals = &z.closure.totals;
    assert_eq!((totals.sales, totals.returns, totals.exchanges), (1, 1, 1));
    assert_eq!(totals.total, Money::from_cents(5998 + 1991 - 4990));
    assert_eq!(totals.sales_amount(), Money::from_cents(5998 + 4990));
    assert_eq!(totals.returns_amount(), Money::from_cents(-2999 - 4990));
    assert_eq!(
        totals.grand_total, back.ticket.grand_total,
        "the grand total is the sum of the ticket totals"
    );
    let vat: Money = totals.vat.iter().map(|v| v.including_vat).sum();
    assert_eq!(
        vat, totals.total,
        "per-rate amounts add up to the period total"
    );
    assert!(t.till.verify(Depth::Full).unwrap().intact());
}

#[test]
fn the_cli_records_an_exchange_read_on_stdin() {
    let t = new_till();
    drop(t.till);
    let sold = run_till(&t.path, &["sell"], support::SIMPLE_SALE);
    assert!(sold.status.success(), "{}", text(&sold.stderr));
    let out = run_till(
        &t.path,
        &["--json", "exchange"],
        r#"{"original":1,"returned":[{"line":1,"quantity":1}],"lines":[{"product_id":"ACC-CBL-CC1"}]}"#,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ticket: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ticket["kind"], "exchange");
    assert_eq!(ticket["total"], "-15.09", "29.99 back, 14.90 out");
    assert_eq!(
        ticket["tenders"][0]["amount"], "-15.09",
        "refunded in cash as the original was paid"
    );
}

#[test]
fn a_late_z_closes_each_open_day_with_its_own_totals() {
    let mut t = new_till(); // 2026-03-30 08:00 UTC, Paris time
    t.clock.set("2026-03-02T09:00:00Z".parse().unwrap());
    let mut per_day = Vec::new();
    for (day, quantity) in [(0, 1), (1, 2), (2, 3)] {
        let mut day_total = Money::ZERO;
        for _ in 0..quantity {
            t.clock.advance(Duration::minutes(30));
            day_total += t
                .till
                .sell(&sale("ACC-CBL-CC1", 1, vec![cash(1490)]))
                .unwrap()
                .ticket
                .total;
        }
        t.till
            .cash_movement(
                "alice",
                CashMovementKind::PayIn,
                Money::from_cents(100 * (day + 1)),
                None,
            )
            .unwrap();
        per_day.push(day_total);
        t.clock.advance(Duration::days(1));
    }
    // Day 4 (March 5): nothing sold yet, the Z of the three days is due.
    let due = t.till.closure_due().unwrap();
    assert_eq!(
        due.open_days,
        ["2026-03-02", "2026-03-03", "2026-03-04"],
        "each day with sales and no Z is open"
    );
    assert_eq!(
        due.reason,
        Some(pos_till::requests::ClosureDueReason::DayChanged),
        "a day before today without a Z makes the Z due"
    );
    let made = t.till.close_all("manager", ClosureLevel::Day).unwrap();
    let periods: Vec<&str> = made.iter().map(|c| c.closure.period.as_str()).collect();
    assert_eq!(
        periods,
        ["2026-03-02", "2026-03-03", "2026-03-04"],
        "a Z taken on day 4 records one closure per day, each dated its own day"
    );
    let mut grand = Money::ZERO;
    for (z, total) in made.iter().zip(&per_day) {
        grand += *total;
        assert_eq!(
            z.closure.totals.total, *total,
            "{}: the Z holds its own day's sales only",
            z.closure.period
        );
        assert_eq!(
            z.closure.totals.grand_total, grand,
            "{}: the perpetual total at the end of that day",
            z.closure.period
        );
    }
    assert_eq!(
        made.iter()
            .map(|z| z.closure.totals.tickets)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        made.iter()
            .map(|z| z.closure.through_cash)
            .collect::<Vec<_>>(),
        [1, 2, 3],
        "each day's pay-in is counted in that day's drawer"
    );
    assert_eq!(
        t.till.closure_due().unwrap().reason,
        None,
        "nothing left to close"
    );
    let month = t.till.close("manager", ClosureLevel::Month).unwrap();
    assert_eq!(
        month.closure.totals.total,
        per_day.iter().copied().sum::<Money>(),
        "the month closure sums its days exactly"
    );
    assert_eq!(month.closure.totals.tickets, 6);
    assert_eq!(
        month.closure.closures,
        Some((made[0].number, made[2].number))
    );
    assert!(t.till.verify(Depth::Full).unwrap().intact());
}

#[test]
fn the_z_is_due_after_the_closing_hour_head_office_set() {
    let mut t = new_till(); // 2026-03-30 08:00 UTC = 10:00 in Paris
    t.till
        .sell(&sale("ACC-CBL-CC1", 1, vec![cash(1490)]))
        .unwrap();
    assert_eq!(
        t.till.closure_due().unwrap().reason,
        None,
        "no closing hour: nothing due the same day"
    );
    let events = t.till.chain_length(Chain::Event).unwrap();
    t.till
        .set_cash_office_rules(&pos_domain::journal::CashOfficeRules {
            closing_hour: Some(19),
            ..Default::default()
        })
        .unwrap();
    let journaled = t.till.chain_length(Chain::Event).unwrap();
    assert_eq!(journaled, events + 1, "a rule change is journaled");
    let mut kind = String::new();
    t.till
        .records(Chain::Event, journaled, journaled, |r| {
            kind = r.record.payload["kind"].as_str().unwrap().to_string();
            Ok(())
        })
        .unwrap();
    assert_eq!(kind, "settings_changed");
    assert_eq!(
        t.till.closure_due().unwrap().reason,
        None,
        "10:00 is before 19:00"
    );
    t.clock.set("2026-03-30T17:05:00Z".parse().unwrap()); // 19:05 in Paris
    assert_eq!(
        t.till.closure_due().unwrap().reason,
        Some(pos_till::requests::ClosureDueReason::PastClosingHour),
        "past the shop's closing hour with sales, the Z is due"
    );
}
