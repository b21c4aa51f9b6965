//! Accounting exports: daily entries from Z closures, reversals, the FEC and the hledger
//! journal, checked on fixed examples, on generated days (proptest), and with the real `hledger`
//! binary as an independent double-entry checker (fiscal.md, "Independent checks the tests can
//! use").
//!
//! Under `CI=true` a missing `hledger` fails the hledger tests; elsewhere they print a notice
//! and skip. Install it with `apt-get install -y hledger`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use pos_domain::Money;
use pos_domain::accounting::{
    Account, AccountPlan, AccountingError, EntryLine, FEC_COLUMNS, JournalEntry, daily_entry,
    encode_latin9, fec_amount, fec_file_name, render_fec, render_hledger, reverse, sanitize_text,
};
use pos_domain::closure::{Closure, ClosureLevel, TotalsBuilder};
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{
    ReturnLine, SaleDraft, Ticket, compute_cancellation, compute_return, compute_sale, quote_sale,
};
use pos_domain::vat::{VatCode, VatRate};
use proptest::prelude::*;
use rust_decimal::Decimal;
use support::{line, product};

fn tender(kind: TenderKind, cents: i64) -> Tender {
    Tender {
        kind,
        amount: Money::from_cents(cents),
        reference: None,
        payment: None,
    }
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// A day closure of `tickets`, numbered from 1, as `TotalsBuilder` makes it on the till.
fn day_closure(period: &str, tickets: &[&Ticket]) -> Closure {
    let mut builder = TotalsBuilder::new(Money::ZERO, Money::ZERO);
    for (index, ticket) in tickets.iter().enumerate() {
        builder.add_ticket(index as u64 + 1, ticket);
    }
    Closure {
        level: ClosureLevel::Day,
        period: period.into(),
        through_ticket: tickets.len() as u64,
        through_cash: 0,
        closures: None,
        totals: builder.finish(),
        last_ticket_signature: None,
    }
}

/// The two fixed days: sales, a return and a cash shortage on the 22nd; a cancellation of an
/// earlier sale (refunded by card and store credit), a gift-card sale and cash over on the 23rd.
struct Fixture {
    day1: Closure,
    day2: Closure,
}

fn fixture() -> Fixture {
    let sale1 = compute_sale(SaleDraft {
        lines: vec![
            line(product("case", 1999, VatCode::Standard), 2),
            line(product("book", 1250, VatCode::Reduced), 1),
        ],
        tenders: vec![
            tender(TenderKind::Card, 3000),
            tender(TenderKind::Cash, 5000),
        ],
        ..Default::default()
    })
    .unwrap();
    let sale2 = compute_sale(SaleDraft {
        lines: vec![line(product("cable", 999, VatCode::Standard), 3)],
        tenders: vec![tender(TenderKind::Cash, 2997)],
        ..Default::default()
    })
    .unwrap();
    let two_cables = [ReturnLine {
        line: 1,
        quantity: 2,
        serials: vec![],
    }];
    let return2 = compute_return(
        2,
        &sale2,
        &[],
        &two_cables,
        Some(vec![tender(TenderKind::Cash, -1998)]),
    )
    .unwrap();
    let sale3 = compute_sale(SaleDraft {
        lines: vec![line(product("charger", 2500, VatCode::Standard), 1)],
        tenders: vec![tender(TenderKind::GiftCard, 2500)],
        ..Default::default()
    })
    .unwrap();
    let cancel1 = compute_cancellation(
        1,
        &sale1,
        &[],
        Some(vec![
            tender(TenderKind::Card, -3000),
            tender(TenderKind::StoreCredit, -2248),
        ]),
    )
    .unwrap();
    Fixture {
        day1: day_closure("2026-11-22", &[&sale1, &sale2, &return2]),
        day2: day_closure("2026-11-23", &[&sale3, &cancel1]),
    }
}

fn entries(fixture: &Fixture, plan: &AccountPlan) -> (JournalEntry, JournalEntry) {
    let day1 = daily_entry(
        "T1",
        "PARIS-01",
        12,
        &fixture.day1,
        Some(Money::from_cents(-150)),
        plan,
    )
    .unwrap();
    let day2 = daily_entry(
        "T1",
        "PARIS-01",
        13,
        &fixture.day2,
        Some(Money::from_cents(20)),
        plan,
    )
    .unwrap();
    (day1, day2)
}

/// `(account, debit, credit, label)` of every line.
fn lines_of(entry: &JournalEntry) -> Vec<(String, String, String, String)> {
    entry
        .lines
        .iter()
        .map(|l| {
            (
                l.account.number.clone(),
                l.debit.to_string(),
                l.credit.to_string(),
                l.label.clone(),
            )
        })
        .collect()
}

fn expect(rows: &[(&str, &str, &str, &str)]) -> Vec<(String, String, String, String)> {
    rows.iter()
        .map(|(a, d, c, l)| (a.to_string(), d.to_string(), c.to_string(), l.to_string()))
        .collect()
}

#[test]
fn day_with_a_return_and_a_cash_shortage() {
    let plan = AccountPlan::french_default();
    let (entry, _) = entries(&fixture(), &plan);
    // 20 %: 39.98 (33.32 + 6.66) + 29.97 (24.98 + 4.99) - 19.98 (16.65 + 3.33) = 41.65 + 8.32.
    // 5.5 %: 12.50 = 11.85 + 0.65. Cash: 50.00 - 27.52 change + 29.97 - 19.98 = 32.47.
    assert_eq!(
        lines_of(&entry),
        expect(&[
            ("530", "32.47", "0.00", "Espèces - Z12 caisse T1"),
            ("5115", "30.00", "0.00", "Carte bancaire - Z12 caisse T1"),
            ("658", "1.50", "0.00", "Manquant de caisse - Z12 caisse T1"),
            ("530", "0.00", "1.50", "Manquant de caisse - Z12 caisse T1"),
            ("7073", "0.00", "11.85", "Ventes TVA 5,5 % - Z12 caisse T1"),
            (
                "445713",
                "0.00",
                "0.65",
                "TVA collectée 5,5 % - Z12 caisse T1"
            ),
            ("7071", "0.00", "41.65", "Ventes TVA 20 % - Z12 caisse T1"),
            (
                "445711",
                "0.00",
                "8.32",
                "TVA collectée 20 % - Z12 caisse T1"
            ),
        ])
    );
    assert_eq!(entry.total_debit(), Money::from_cents(6397));
    assert_eq!(entry.total_credit(), Money::from_cents(6397));
    assert!(entry.is_balanced());
    assert_eq!(entry.piece_ref, "12", "PieceRef is the Z closure number");
    assert_eq!(entry.date, day("2026-11-22"));
    assert_eq!(entry.label, "Z12 caisse T1 PARIS-01 du 22/11/2026");
}

#[test]
fn net_returns_and_net_refunds_go_on_the_other_side() {
    let plan = AccountPlan::french_default();
    let (_, entry) = entries(&fixture(), &plan);
    // 20 %: 25.00 (20.83 + 4.17) - 39.98 (33.32 + 6.66) = -12.49 - 2.49: a debit.
    // 5.5 %: -12.50 = -11.85 - 0.65: a debit. Card -30.00 and store credit -22.48: credits.
    assert_eq!(
        lines_of(&entry),
        expect(&[
            ("5115", "0.00", "30.00", "Carte bancaire - Z13 caisse T1"),
            ("4191", "25.00", "0.00", "Carte cadeau - Z13 caisse T1"),
            ("4197", "0.00", "22.48", "Avoir - Z13 caisse T1"),
            ("530", "0.20", "0.00", "Excédent de caisse - Z13 caisse T1"),
            ("758", "0.00", "0.20", "Excédent de caisse - Z13 caisse T1"),
            ("7073", "11.85", "0.00", "Ventes TVA 5,5 % - Z13 caisse T1"),
            (
                "445713",
                "0.65",
                "0.00",
                "TVA collectée 5,5 % - Z13 caisse T1"
            ),
            ("7071", "12.49", "0.00", "Ventes TVA 20 % - Z13 caisse T1"),
            (
                "445711",
                "2.49",
                "0.00",
                "TVA collectée 20 % - Z13 caisse T1"
            ),
        ])
    );
    assert!(entry.is_balanced());
    for line in &entry.lines {
        assert!(!line.debit.is_negative() && !line.credit.is_negative());
        assert!(
            line.debit.is_zero() != line.credit.is_zero(),
            "one side per line"
        );
    }
}

#[test]
fn a_reversal_cancels_every_account_and_keeps_the_piece() {
    let plan = AccountPlan::french_default();
    let (entry, _) = entries(&fixture(), &plan);
    let reversal = reverse(&entry, day("2026-11-24"));
    assert!(reversal.is_balanced());
    assert_eq!(reversal.date, day("2026-11-24"));
    assert_eq!(reversal.piece_ref, entry.piece_ref);
    assert_eq!(reversal.piece_date, entry.piece_date);
    assert_eq!(
        reversal.label,
        "Extourne Z12 caisse T1 PARIS-01 du 22/11/2026"
    );
    assert_eq!(
        reversal.lines[0],
        EntryLine {
            account: Account::new("530", "Caisse"),
            label: "Extourne Espèces - Z12 caisse T1".into(),
            debit: Money::ZERO,
            credit: Money::from_cents(3247),
        }
    );
    let mut net = entry.balances();
    for (account, amount) in reversal.balances() {
        *net.entry(account).or_default() += amount;
    }
    assert!(net.values().all(|m| m.is_zero()), "{net:?}");
}

#[test]
fn shop_cash_accounts_and_configured_accounts_are_used() {
    let plan = AccountPlan::french_default()
        .with_shop_cash("LYON-02", Account::new("5321", "Caisse magasin Lyon"));
    let fixture = fixture();
    let lyon = daily_entry("T9", "LYON-02", 4, &fixture.day1, None, &plan).unwrap();
    assert_eq!(
        lyon.lines[0].account,
        Account::new("5321", "Caisse magasin Lyon")
    );
    assert!(
        lyon.lines.iter().all(|l| l.account.number != "530"),
        "no count difference, and the shop's own cash account"
    );
    let paris = daily_entry("T1", "PARIS-01", 12, &fixture.day1, None, &plan).unwrap();
    assert_eq!(paris.lines[0].account.number, "530");
}

#[test]
fn refuses_what_it_cannot_post_correctly() {
    let plan = AccountPlan::french_default();
    let fixture = fixture();
    let mut month = fixture.day1.clone();
    month.level = ClosureLevel::Month;
    month.period = "2026-11".into();
    assert!(matches!(
        daily_entry("T1", "P", 1, &month, None, &plan),
        Err(AccountingError::NotADayClosure { .. })
    ));
    let mut bad_period = fixture.day1.clone();
    bad_period.period = "22/11/2026".into();
    assert!(matches!(
        daily_entry("T1", "P", 1, &bad_period, None, &plan),
        Err(AccountingError::BadPeriod(_))
    ));
    let mut no_twenty = plan.clone();
    let twenty: VatRate = "20".parse().unwrap();
    no_twenty.sales.remove(&twenty);
    assert_eq!(
        daily_entry("T1", "P", 1, &fixture.day1, None, &no_twenty),
        Err(AccountingError::NoSalesAccount(twenty))
    );
    let mut forged = fixture.day1.clone();
    forged.totals.tenders[0].amount += Money::from_cents(1);
    assert!(matches!(
        daily_entry("T1", "P", 1, &forged, None, &plan),
        Err(AccountingError::Unbalanced { .. })
    ));
}

#[test]
fn a_day_that_nets_to_zero_has_no_lines() {
    let plan = AccountPlan::french_default();
    let empty = day_closure("2026-11-25", &[]);
    let entry = daily_entry("T1", "P", 14, &empty, None, &plan).unwrap();
    assert!(entry.is_empty() && entry.is_balanced());
    let only_count =
        daily_entry("T1", "P", 14, &empty, Some(Money::from_cents(-30)), &plan).unwrap();
    assert_eq!(
        lines_of(&only_count),
        expect(&[
            ("658", "0.30", "0.00", "Manquant de caisse - Z14 caisse T1"),
            ("530", "0.00", "0.30", "Manquant de caisse - Z14 caisse T1"),
        ])
    );
    let unchanged = render_fec(&[]).unwrap();
    assert_eq!(
        render_fec(std::slice::from_ref(&entry)).unwrap(),
        unchanged,
        "header only"
    );
    assert_eq!(render_hledger(&[entry]).unwrap(), "");
}

#[test]
fn the_day_difference_is_the_last_counts() {
    use pos_domain::accounting::day_cash_difference;
    use pos_domain::journal::{CashMovement, CashMovementKind};
    let movement = |kind, cents, difference: Option<i64>| CashMovement {
        kind,
        amount: Money::from_cents(cents),
        expected: difference.map(|d| Money::from_cents(cents - d)),
        difference: difference.map(Money::from_cents),
        ..CashMovement::new(kind, Money::from_cents(cents))
    };
    assert_eq!(day_cash_difference(&[]), None);
    assert_eq!(
        day_cash_difference(&[movement(CashMovementKind::OpeningFloat, 15000, None)]),
        None
    );
    let day = [
        movement(CashMovementKind::OpeningFloat, 15000, None),
        movement(CashMovementKind::Count, 20000, Some(-150)),
        movement(CashMovementKind::PayOut, 1000, None),
        movement(CashMovementKind::Count, 25000, Some(-170)),
        movement(CashMovementKind::BankDeposit, 20000, None),
    ];
    assert_eq!(
        day_cash_difference(&day),
        Some(Money::from_cents(-170)),
        "the evening count holds the whole day's difference, never the sum"
    );
}

#[test]
fn every_rate_of_the_spec_has_a_sales_account_and_a_vat_account() {
    let plan = AccountPlan::french_default();
    for rate in ["20", "10", "5.5", "2.1", "13", "0.9", "8.5", "1.75", "1.05"] {
        let rate: VatRate = rate.parse().unwrap();
        let sales = plan.sales_account(rate).unwrap();
        let vat = plan.vat_account(rate).unwrap();
        assert!(sales.number.starts_with("707"), "{sales:?}");
        assert!(vat.number.starts_with("44571"), "{vat:?}");
        assert_eq!(
            sales.number[3..],
            vat.number[5..],
            "same last digit per rate"
        );
    }
    assert_eq!(
        plan.sales_account("0".parse().unwrap()).unwrap().number,
        "7070"
    );
    let numbers: Vec<&str> = plan.sales.values().map(|a| a.number.as_str()).collect();
    let mut unique = numbers.clone();
    unique.dedup();
    assert_eq!(numbers.len(), unique.len(), "one account per rate");
}

// ---------------------------------------------------------------------------------------------
// FEC

fn decode_latin9(bytes: &[u8]) -> String {
    encoding_rs::ISO_8859_15
        .decode_without_bom_handling_and_without_replacement(bytes)
        .expect("valid ISO-8859-15")
        .into_owned()
}

fn fixed_fec() -> (Vec<u8>, JournalEntry, JournalEntry, JournalEntry) {
    let plan = AccountPlan::french_default();
    let (day1, day2) = entries(&fixture(), &plan);
    let reversal = reverse(&day1, day("2026-11-24"));
    // Given out of order: the FEC numbers them chronologically.
    let bytes = render_fec(&[reversal.clone(), day2.clone(), day1.clone()]).unwrap();
    (bytes, day1, day2, reversal)
}

#[test]
fn fec_file_name_is_siren_fec_closing_date() {
    assert_eq!(
        fec_file_name("552100554", day("2026-12-31")).unwrap(),
        "552100554FEC20261231.txt"
    );
    assert!(matches!(
        fec_file_name("55210055", day("2026-12-31")),
        Err(AccountingError::BadSiren(_))
    ));
    assert!(fec_file_name("55210055A", day("2026-12-31")).is_err());
}

#[test]
fn fec_header_columns_numbering_and_amounts() {
    let (bytes, day1, day2, reversal) = fixed_fec();
    let text = decode_latin9(&bytes);
    assert!(text.ends_with("\r\n"), "records end with CR LF");
    let records: Vec<&str> = text.strip_suffix("\r\n").unwrap().split("\r\n").collect();
    assert_eq!(
        records[0],
        "JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|\
         CompAuxLib|PieceRef|PieceDate|EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|\
         Montantdevise|Idevise"
    );
    assert_eq!(records[0].split('|').collect::<Vec<_>>(), FEC_COLUMNS);
    assert_eq!(
        records.len(),
        1 + day1.lines.len() + day2.lines.len() + reversal.lines.len()
    );
    for record in &records {
        assert_eq!(record.split('|').count(), 18, "18 columns: {record}");
        assert!(!record.contains('\n') && !record.contains('\r') && !record.contains('\t'));
    }
    assert_eq!(
        records[1..9],
        [
            "VT|Ventes caisse|1|20261122|530|Caisse|||12|20261122|Espèces - Z12 caisse T1|32,47|0,00|||20261122||",
            "VT|Ventes caisse|1|20261122|5115|Cartes bancaires à encaisser|||12|20261122|Carte bancaire - Z12 caisse T1|30,00|0,00|||20261122||",
            "VT|Ventes caisse|1|20261122|658|Charges diverses de gestion courante|||12|20261122|Manquant de caisse - Z12 caisse T1|1,50|0,00|||20261122||",
            "VT|Ventes caisse|1|20261122|530|Caisse|||12|20261122|Manquant de caisse - Z12 caisse T1|0,00|1,50|||20261122||",
            "VT|Ventes caisse|1|20261122|7073|Ventes de marchandises TVA 5,5 %|||12|20261122|Ventes TVA 5,5 % - Z12 caisse T1|0,00|11,85|||20261122||",
            "VT|Ventes caisse|1|20261122|445713|TVA collectée 5,5 %|||12|20261122|TVA collectée 5,5 % - Z12 caisse T1|0,00|0,65|||20261122||",
            "VT|Ventes caisse|1|20261122|7071|Ventes de marchandises TVA 20 %|||12|20261122|Ventes TVA 20 % - Z12 caisse T1|0,00|41,65|||20261122||",
            "VT|Ventes caisse|1|20261122|445711|TVA collectée 20 %|||12|20261122|TVA collectée 20 % - Z12 caisse T1|0,00|8,32|||20261122||",
        ]
    );
    assert_eq!(
        records[9],
        "VT|Ventes caisse|2|20261123|5115|Cartes bancaires à encaisser|||13|20261123|Carte bancaire - Z13 caisse T1|0,00|30,00|||20261123||"
    );
    assert_eq!(
        *records.last().unwrap(),
        "VT|Ventes caisse|3|20261124|445711|TVA collectée 20 %|||12|20261122|Extourne TVA collectée 20 % - Z12 caisse T1|8,32|0,00|||20261124||"
    );
    // EcritureNum is continuous, in chronological order, the same within an entry.
    let numbers: Vec<u64> = records[1..]
        .iter()
        .map(|r| r.split('|').nth(2).unwrap().parse().unwrap())
        .collect();
    let mut expected = vec![1; day1.lines.len()];
    expected.extend(vec![2; day2.lines.len()]);
    expected.extend(vec![3; reversal.lines.len()]);
    assert_eq!(numbers, expected);
    for record in &records[1..] {
        let fields: Vec<&str> = record.split('|').collect();
        for amount in [fields[11], fields[12]] {
            let (units, cents) = amount.split_once(',').expect("a decimal comma");
            assert!(units.bytes().all(|b| b.is_ascii_digit()), "{amount}");
            assert!(cents.len() == 2 && cents.bytes().all(|b| b.is_ascii_digit()));
        }
        for (a, b) in [(6, 7), (13, 14), (16, 17)] {
            assert_eq!(
                fields[a].is_empty(),
                fields[b].is_empty(),
                "pairs filled together"
            );
        }
    }
}

#[test]
fn fec_entries_balance_line_by_line() {
    let (bytes, ..) = fixed_fec();
    let text = decode_latin9(&bytes);
    let mut per_entry: BTreeMap<String, Money> = BTreeMap::new();
    for record in text.lines().skip(1) {
        let fields: Vec<&str> = record.split('|').collect();
        let amount = |s: &str| s.replace(',', ".").parse::<Money>().unwrap();
        *per_entry.entry(fields[2].to_string()).or_default() +=
            amount(fields[11]) - amount(fields[12]);
    }
    assert_eq!(per_entry.len(), 3);
    assert!(per_entry.values().all(|m| m.is_zero()), "{per_entry:?}");
}

#[test]
fn fec_amounts_have_a_decimal_comma_and_no_thousands_separator() {
    assert_eq!(fec_amount(Money::from_cents(123_456_789)), "1234567,89");
    assert_eq!(fec_amount(Money::ZERO), "0,00");
    assert_eq!(fec_amount(Money::from_cents(5)), "0,05");
}

#[test]
fn fec_is_iso_8859_15() {
    assert_eq!(encode_latin9("€").unwrap(), [0xA4]);
    assert_eq!(encode_latin9("é").unwrap(), [0xE9]);
    assert_eq!(
        encode_latin9("ŠšŽžŒœŸ").unwrap(),
        [0xA6, 0xA8, 0xB4, 0xB8, 0xBC, 0xBD, 0xBE]
    );
    assert_eq!(encode_latin9("Çà ô").unwrap(), [0xC7, 0xE0, 0x20, 0xF4]);
    for refused in ["¤", "½", "¦", "Ł", "漢", "🙂"] {
        let err = encode_latin9(&format!("a{refused}b")).unwrap_err();
        assert!(
            matches!(err, AccountingError::NotLatin9 { character, .. } if character.to_string() == refused),
            "{refused}: {err}"
        );
    }

    // In a whole file: labels with €, é and Œ come out as single Latin-9 bytes.
    let mut plan = AccountPlan::french_default();
    plan.cash = Account::new("530", "Caisse € Œuvre");
    let (entry, _) = entries(&fixture(), &plan);
    let bytes = render_fec(&[entry]).unwrap();
    let find = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(find(b"|Caisse \xA4 \xBCuvre|"), "€ is 0xA4 and Œ is 0xBC");
    assert!(find(b"|Esp\xE8ces - Z12"), "è is 0xE8");
    assert!(find(b"|TVA collect\xE9e 20 %|"), "é is 0xE9");
    assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8");

    // A character outside Latin-9 is an error naming it, never a silent replacement.
    let mut plan = AccountPlan::french_default();
    plan.cash = Account::new("530", "Касса");
    let (entry, _) = entries(&fixture(), &plan);
    let err = render_fec(&[entry]).unwrap_err();
    assert!(err.to_string().contains("U+041A"), "{err}");
}

#[test]
fn fec_fields_are_sanitized() {
    assert_eq!(sanitize_text("a|b\tc\r\nd  e "), "a/b c d e");
    assert_eq!(
        sanitize_text("L\u{2019}atelier \u{201C}Sud\u{201D} \u{2014} caf\u{e9}\u{2026}"),
        "L'atelier \"Sud\" - café..."
    );
    assert_eq!(sanitize_text("10\u{202F}000\u{a0}€"), "10 000 €");
    let plan = AccountPlan::french_default();
    let fixture = fixture();
    let entry = daily_entry(
        "T|1",
        "Gare\nde l\u{2019}Est",
        12,
        &fixture.day1,
        None,
        &plan,
    )
    .unwrap();
    let text = decode_latin9(&render_fec(&[entry]).unwrap());
    for record in text.strip_suffix("\r\n").unwrap().split("\r\n") {
        assert_eq!(record.split('|').count(), 18, "{record}");
    }
    assert!(text.contains("|Espèces - Z12 caisse T/1|"), "{text}");
}

#[test]
fn entries_without_lines_take_no_number() {
    let plan = AccountPlan::french_default();
    let (day1, day2) = entries(&fixture(), &plan);
    let empty = JournalEntry {
        lines: vec![],
        ..day1.clone()
    };
    let text = decode_latin9(&render_fec(&[day1.clone(), empty, day2.clone()]).unwrap());
    let numbers: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|r| r.split('|').nth(2).unwrap())
        .collect();
    assert_eq!(numbers.first(), Some(&"1"));
    assert_eq!(numbers.last(), Some(&"2"));
    let mut unbalanced = day1;
    unbalanced.lines.pop();
    assert!(matches!(
        render_fec(&[unbalanced.clone()]),
        Err(AccountingError::Unbalanced { .. })
    ));
    assert!(render_hledger(&[unbalanced]).is_err());
}

// ---------------------------------------------------------------------------------------------
// hledger

/// The `hledger` binary, or `None` (with a notice) outside CI. Under `CI=true` a missing
/// binary fails the test: these checks must never be skipped silently there.
fn hledger() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("hledger"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        let ci = std::env::var("CI").unwrap_or_default();
        if !ci.is_empty() && ci != "false" && ci != "0" {
            panic!(
                "hledger is not installed but CI={ci}: the accounting exports are checked with \
                 it. Install it (Debian/Ubuntu: apt-get install -y hledger) and run again."
            );
        }
        eprintln!(
            "NOTICE: hledger not found, hledger checks SKIPPED. Install it with \
             `apt-get install -y hledger` (under CI=true this test fails instead)."
        );
    }
    found
}

/// A scratch directory for this test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("pos-accounting-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(hledger: &Path, args: &[&str]) -> String {
    let output = Command::new(hledger)
        .args(args)
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("hledger runs");
    assert!(
        output.status.success(),
        "hledger {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `hledger bal -O csv` as account name → amount (commodity and quotes removed, `,` read as
/// the decimal mark).
fn balances(csv: &str) -> BTreeMap<String, Money> {
    csv.lines()
        .skip(1)
        .map(|row| {
            let row = row.trim().trim_matches('"');
            let (account, amount) = row.split_once("\",\"").expect("two columns");
            let amount = amount.replace("EUR", "").replace(',', ".");
            (account.to_string(), amount.trim().parse::<Money>().unwrap())
        })
        .collect()
}

/// Balances keyed by account number (the first word of `NUMBER Label`).
fn by_number(balances: BTreeMap<String, Money>) -> BTreeMap<String, Money> {
    let mut out: BTreeMap<String, Money> = BTreeMap::new();
    for (account, amount) in balances {
        let number = account.split(' ').next().unwrap().to_string();
        *out.entry(number).or_default() += amount;
    }
    out.retain(|_, m| !m.is_zero());
    out
}

/// What the accounts must hold after posting `closures` with their count differences: the Z
/// totals, tender by tender and rate by rate.
fn expected_from_z(
    closures: &[(&Closure, Option<Money>)],
    plan: &AccountPlan,
    shop: &str,
) -> BTreeMap<String, Money> {
    let mut out: BTreeMap<String, Money> = BTreeMap::new();
    for (closure, difference) in closures {
        for t in &closure.totals.tenders {
            *out.entry(plan.tender_account(t.kind, shop).unwrap().number.clone())
                .or_default() += t.amount;
        }
        for v in &closure.totals.vat {
            *out.entry(plan.sales_account(v.rate).unwrap().number.clone())
                .or_default() -= v.excluding_vat;
            if !v.vat.is_zero() {
                *out.entry(plan.vat_account(v.rate).unwrap().number.clone())
                    .or_default() -= v.vat;
            }
        }
        if let Some(d) = difference {
            *out.entry(plan.cash_account(shop).number.clone())
                .or_default() += *d;
            let other = if d.is_positive() {
                &plan.cash_over
            } else {
                &plan.cash_short
            };
            *out.entry(other.number.clone()).or_default() -= *d;
        }
    }
    out.retain(|_, m| !m.is_zero());
    out
}

#[test]
fn hledger_checks_the_journal_and_its_balances_equal_the_z_reports() {
    let Some(hledger) = hledger() else { return };
    let plan = AccountPlan::french_default();
    let fixture = fixture();
    let (day1, day2) = entries(&fixture, &plan);
    let journal = render_hledger(&[day2.clone(), day1.clone()]).unwrap();
    assert!(
        !journal.contains("commodity"),
        "no commodity precision declared"
    );
    assert!(journal.contains(
        "\n2026-11-22 * (12) Z12 caisse T1 PARIS-01 du 22/11/2026  ; journal:VT, till:T1, shop:PARIS-01\n"
    ));
    assert!(journal.contains("    530 Caisse"));
    assert!(journal.contains("32.47 EUR  ; Espèces - Z12 caisse T1\n"));
    let scratch = Scratch::new("hledger");
    let file = scratch.write("days.journal", journal.as_bytes());
    let file = file.to_str().unwrap();
    run(&hledger, &["-f", file, "check"]);
    run(&hledger, &["-f", file, "check", "accounts"]);

    let got = by_number(balances(&run(
        &hledger,
        &["-f", file, "bal", "-N", "-O", "csv"],
    )));
    let z = [
        (&fixture.day1, Some(Money::from_cents(-150))),
        (&fixture.day2, Some(Money::from_cents(20))),
    ];
    assert_eq!(got, expected_from_z(&z, &plan, "PARIS-01"));
    // Spelled out: the two Z reports' tenders and per-rate totals.
    assert_eq!(got["530"], Money::from_cents(3247 - 150 + 20));
    assert!(!got.contains_key("5115"), "30.00 by card, refunded by card");
    assert_eq!(got["7071"], Money::from_cents(-4165 + 1249));
    assert_eq!(got["445711"], Money::from_cents(-832 + 249));
    assert!(!got.contains_key("7073"), "5.5 % sold then returned");

    // The month closure that sums both days gives the same balances.
    let mut month = TotalsBuilder::new(Money::ZERO, Money::ZERO);
    month.add_closure(&fixture.day1);
    month.add_closure(&fixture.day2);
    let month = Closure {
        level: ClosureLevel::Month,
        period: "2026-11".into(),
        totals: month.finish(),
        ..fixture.day1.clone()
    };
    let month_z = expected_from_z(&[(&month, None)], &plan, "PARIS-01");
    for (account, amount) in &month_z {
        let difference = match account.as_str() {
            "530" => Money::from_cents(-150 + 20),
            _ => Money::ZERO,
        };
        assert_eq!(got[account], *amount + difference, "account {account}");
    }

    // A reversal brings every account back to zero.
    let reversal = reverse(&day1, day("2026-11-24"));
    let journal = render_hledger(&[day1, reversal]).unwrap();
    let file = scratch.write("reversed.journal", journal.as_bytes());
    let file = file.to_str().unwrap();
    run(&hledger, &["-f", file, "check"]);
    let got = by_number(balances(&run(
        &hledger,
        &["-f", file, "bal", "-N", "-O", "csv"],
    )));
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn hledger_rejects_an_unbalanced_journal() {
    // The independent check really checks: a journal off by one cent fails `hledger check`.
    let Some(hledger) = hledger() else { return };
    let plan = AccountPlan::french_default();
    let (day1, _) = entries(&fixture(), &plan);
    let journal = render_hledger(&[day1]).unwrap();
    let tampered = journal.replacen("32.47 EUR", "32.48 EUR", 1);
    assert_ne!(journal, tampered);
    let scratch = Scratch::new("unbalanced");
    let file = scratch.write("bad.journal", tampered.as_bytes());
    let output = Command::new(&hledger)
        .args(["-f", file.to_str().unwrap(), "check"])
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert!(!output.status.success(), "hledger must refuse 0.01 off");
}

/// hledger CSV rules reading a FEC (fiscal.md): one transaction per FEC line, whose second
/// posting goes to `ecriture:<EcritureNum>`, so every entry balances when each `ecriture:N`
/// account is zero.
const FEC_RULES: &str = "\
separator |
skip 1
fields journal_code, journal_lib, num, date, account_num, account_lib, aux_num, aux_lib, piece, piece_date, description, debit, credit, lettering, lettering_date, valid_date, currency_amount, currency
date-format %Y%m%d
decimal-mark ,
account1 %account_num %account_lib
amount1-in %debit
amount1-out %credit
account2 ecriture:%num
";

#[test]
fn hledger_reads_the_fec_back_and_every_entry_balances() {
    let Some(hledger) = hledger() else { return };
    let (bytes, day1, day2, reversal) = fixed_fec();
    let scratch = Scratch::new("fec");
    // hledger reads UTF-8: transcode the Latin-9 file first.
    let csv = scratch.write("fec.csv", decode_latin9(&bytes).as_bytes());
    let rules = scratch.write("fec.rules", FEC_RULES.as_bytes());
    let source = format!("csv:{}", csv.to_str().unwrap());
    let base = ["-f", &source, "--rules-file", rules.to_str().unwrap()];
    run(&hledger, &[&base[..], &["check"]].concat());
    let per_entry = balances(&run(
        &hledger,
        &[&base[..], &["bal", "-N", "-E", "-O", "csv", "^ecriture:"]].concat(),
    ));
    assert_eq!(
        per_entry.keys().collect::<Vec<_>>(),
        ["ecriture:1", "ecriture:2", "ecriture:3"]
    );
    assert!(
        per_entry.values().all(|m| m.is_zero()),
        "every entry balances: {per_entry:?}"
    );
    // And the FEC's accounts hold what the entries post.
    let got = by_number(balances(&run(
        &hledger,
        &[&base[..], &["bal", "-N", "-O", "csv", "not:^ecriture:"]].concat(),
    )));
    let mut expected: BTreeMap<String, Money> = BTreeMap::new();
    for entry in [&day1, &day2, &reversal] {
        for (account, amount) in entry.balances() {
            *expected.entry(account).or_default() += amount;
        }
    }
    expected.retain(|_, m| !m.is_zero());
    assert_eq!(got, expected);
}

// ---------------------------------------------------------------------------------------------
// Generated days

const CODES: [VatCode; 5] = [
    VatCode::Standard,
    VatCode::Intermediate,
    VatCode::Reduced,
    VatCode::SuperReduced,
    VatCode::Exempt,
];

/// A sale: lines `(cents, vat code, units)`, a ticket discount, how it is paid (two tenders,
/// the share of the first in percent, cash over-tendered for change), whether it was made on
/// the closed day (otherwise only its return is), and an optional return of some units of its
/// first line refunded to a tender.
#[derive(Clone, Debug)]
struct GenSale {
    lines: Vec<(i64, usize, u32)>,
    discount: Option<u32>,
    first: TenderKind,
    second: TenderKind,
    share: u32,
    over: i64,
    today: bool,
    returned: Option<(u32, TenderKind)>,
}

fn arb_kind() -> impl Strategy<Value = TenderKind> {
    prop::sample::select(TenderKind::ALL.to_vec())
}

fn arb_gen_sale() -> impl Strategy<Value = GenSale> {
    (
        prop::collection::vec((1i64..50_000, 0usize..5, 1u32..5), 1..5),
        prop::option::of(0u32..=30),
        (arb_kind(), arb_kind(), 0u32..=100, 0i64..2_000),
        prop::bool::weighted(0.8),
        prop::option::of((1u32..5, arb_kind())),
    )
        .prop_map(
            |(lines, discount, (first, second, share, over), today, returned)| GenSale {
                lines,
                discount,
                first,
                second,
                share,
                over,
                today,
                returned,
            },
        )
}

/// The tickets of a generated day: every sale made today, and every return (of today's or an
/// earlier sale).
fn tickets_of(sales: &[GenSale]) -> Vec<Ticket> {
    let mut tickets = Vec::new();
    for spec in sales {
        let draft = || SaleDraft {
            lines: spec
                .lines
                .iter()
                .map(|&(cents, code, units)| line(product("p", cents, CODES[code]), units))
                .collect(),
            ticket_discount: spec
                .discount
                .map(|p| pos_domain::ticket::Discount::Percent(Decimal::from(p))),
            ..Default::default()
        };
        let total = quote_sale(draft()).unwrap().total;
        let first = total.times(Decimal::from(spec.share) / Decimal::ONE_HUNDRED);
        let second = total - first;
        let mut tenders = Vec::new();
        for (kind, amount) in [(spec.first, first), (spec.second, second)] {
            if amount.is_positive() {
                tenders.push(Tender {
                    kind,
                    amount,
                    reference: None,
                    payment: None,
                });
            }
        }
        if spec.over > 0 {
            tenders.push(tender(TenderKind::Cash, spec.over));
        }
        let sale = compute_sale(SaleDraft { tenders, ..draft() }).unwrap();
        if let Some((units, kind)) = spec.returned {
            let units = units.min(spec.lines[0].2);
            let asked = [ReturnLine {
                line: 1,
                quantity: units,
                serials: vec![],
            }];
            let as_paid = compute_return(1, &sale, &[], &asked, None).unwrap();
            let refund = if as_paid.total.is_zero() {
                vec![]
            } else {
                vec![Tender {
                    kind,
                    amount: as_paid.total,
                    reference: None,
                    payment: None,
                }]
            };
            let back = compute_return(1, &sale, &[], &asked, Some(refund)).unwrap();
            if spec.today {
                tickets.push(sale);
            }
            tickets.push(back);
        } else if spec.today {
            tickets.push(sale);
        }
    }
    tickets
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_generated_day_balances_to_the_cent_and_matches_its_z(
        sales in prop::collection::vec(arb_gen_sale(), 1..8),
        difference in prop::option::of(-5_000i64..5_000),
    ) {
        let tickets = tickets_of(&sales);
        let refs: Vec<&Ticket> = tickets.iter().collect();
        let closure = day_closure("2026-03-01", &refs);
        let plan = AccountPlan::french_default();
        let difference = difference.map(Money::from_cents);
        let entry = daily_entry("T1", "S1", 7, &closure, difference, &plan).unwrap();

        prop_assert_eq!(entry.total_debit(), entry.total_credit(), "debits == credits");
        for line in &entry.lines {
            prop_assert!(!line.debit.is_negative() && !line.credit.is_negative());
            prop_assert!(line.debit.is_zero() != line.credit.is_zero(), "one non-zero side");
        }
        let expected = expected_from_z(&[(&closure, difference)], &plan, "S1");
        let mut got = entry.balances();
        got.retain(|_, m| !m.is_zero());
        prop_assert_eq!(&got, &expected, "accounts hold the Z totals");

        let reversal = reverse(&entry, day("2026-03-02"));
        prop_assert!(reversal.is_balanced());
        for (account, amount) in reversal.balances() {
            prop_assert_eq!(amount, -entry.balances()[&account]);
        }

        let fec = render_fec(&[entry.clone(), reversal]).unwrap();
        let text = decode_latin9(&fec);
        let mut per_entry: BTreeMap<&str, Money> = BTreeMap::new();
        for record in text.lines().skip(1) {
            let fields: Vec<&str> = record.split('|').collect();
            prop_assert_eq!(fields.len(), 18);
            let amount = |s: &str| s.replace(',', ".").parse::<Money>().unwrap();
            *per_entry.entry(fields[2]).or_default() += amount(fields[11]) - amount(fields[12]);
        }
        prop_assert!(per_entry.values().all(|m| m.is_zero()));
        prop_assert!(render_hledger(&[entry]).is_ok());
    }
}

/// Many generated days on several tills and shops, checked by hledger in one go: the journal
/// passes `hledger check`, every account holds the sum of the Z totals, and the FEC read back
/// through the CSV rules has every entry balanced and the same balances.
#[test]
fn hledger_checks_many_generated_days() {
    let Some(hledger) = hledger() else { return };
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let days = (
        prop::collection::vec(arb_gen_sale(), 1..8),
        prop::option::of(-5_000i64..5_000),
    );
    let plan = AccountPlan::french_default()
        .with_shop_cash("LYON", Account::new("5321", "Caisse magasin Lyon"));
    let mut closures = Vec::new();
    let mut entries = Vec::new();
    for n in 0..60u64 {
        let (sales, difference) = days.new_tree(&mut runner).unwrap().current();
        let tickets = tickets_of(&sales);
        let date = day("2026-01-01") + chrono::Days::new(n / 3);
        let closure = day_closure(
            &date.format("%Y-%m-%d").to_string(),
            &tickets.iter().collect::<Vec<_>>(),
        );
        let (till, shop) = [("T1", "PARIS"), ("T2", "PARIS"), ("T7", "LYON")][n as usize % 3];
        let difference = difference.map(Money::from_cents);
        entries.push(daily_entry(till, shop, n / 3 + 1, &closure, difference, &plan).unwrap());
        closures.push((closure, difference, shop));
    }
    let mut expected: BTreeMap<String, Money> = BTreeMap::new();
    for (closure, difference, shop) in &closures {
        for (account, amount) in expected_from_z(&[(closure, *difference)], &plan, shop) {
            *expected.entry(account).or_default() += amount;
        }
    }
    expected.retain(|_, m| !m.is_zero());
    assert!(expected.contains_key("5321") && expected.contains_key("530"));

    let scratch = Scratch::new("generated");
    let journal = scratch.write("days.journal", render_hledger(&entries).unwrap().as_bytes());
    let journal = journal.to_str().unwrap();
    run(&hledger, &["-f", journal, "check"]);
    let got = by_number(balances(&run(
        &hledger,
        &["-f", journal, "bal", "-N", "-O", "csv"],
    )));
    assert_eq!(got, expected, "hledger balances equal the summed Z totals");

    let fec = render_fec(&entries).unwrap();
    let csv = scratch.write("fec.csv", decode_latin9(&fec).as_bytes());
    let rules = scratch.write("fec.rules", FEC_RULES.as_bytes());
    let source = format!("csv:{}", csv.to_str().unwrap());
    let base = ["-f", &source, "--rules-file", rules.to_str().unwrap()];
    let per_entry = balances(&run(
        &hledger,
        &[&base[..], &["bal", "-N", "-E", "-O", "csv", "^ecriture:"]].concat(),
    ));
    let non_empty = entries.iter().filter(|e| !e.is_empty()).count();
    assert_eq!(per_entry.len(), non_empty, "one EcritureNum per entry");
    assert!(per_entry.values().all(|m| m.is_zero()), "{per_entry:?}");
    let got = by_number(balances(&run(
        &hledger,
        &[&base[..], &["bal", "-N", "-O", "csv", "not:^ecriture:"]].concat(),
    )));
    assert_eq!(
        got, expected,
        "the FEC's balances equal the summed Z totals"
    );
}

#[test]
fn the_account_plan_round_trips_through_json() {
    let plan = AccountPlan::french_default()
        .with_shop_cash("LYON", Account::new("5321", "Caisse magasin Lyon"));
    let json = serde_json::to_string(&plan).unwrap();
    assert!(
        json.contains("\"gift_card\":{\"number\":\"4191\""),
        "{json}"
    );
    assert!(json.contains("\"5.5\":{\"number\":\"7073\""), "{json}");
    let back: AccountPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
}
