//! Gift cards in head office's accounting, from a real till's Z closure, on every backend: a
//! gift card sold is a liability (4191), never a sale, and carries no VAT; the goods it later
//! pays for are sales with their VAT, and its redemption is debited to 4191 (multi-purpose
//! vouchers, CGI art. 256 ter: VAT at redemption, not at sale). The FEC and the hledger journal
//! balance and show the liability, checked by `hledger check`.

mod support;

use pos_domain::Money;
use pos_domain::closure::ClosureLevel;
use pos_domain::journal::CashMovementKind;
use pos_domain::stored_value::{InstrumentKind, InstrumentNumber};
use pos_domain::tender::{Tender, TenderKind};
use pos_till::demo::demo_catalog;
use pos_till::requests::{SaleLineRequest, SaleRequest};
use pos_till::stored_value::{GiftCardRequest, StoredValueRequest};
use support::*;

on_every_backend!(a_gift_card_is_a_liability_and_its_goods_are_taxed_when_it_is_spent);

fn tender(kind: TenderKind, cents: i64, reference: Option<&InstrumentNumber>) -> Tender {
    Tender {
        kind,
        amount: Money::from_cents(cents),
        reference: reference.map(|n| n.to_string()),
        payment: None,
    }
}

/// `sync-server admin ARGS` on the database, which must succeed.
fn admin(db_url: &str, args: &[&str]) {
    let command: Vec<&str> = std::iter::once("admin")
        .chain(args.iter().copied())
        .collect();
    sync_server_json(db_url, &command);
}

async fn a_gift_card_is_a_liability_and_its_goods_are_taxed_when_it_is_spent(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let card = InstrumentNumber::generate(InstrumentKind::GiftCard, [21; 16]);
    let t = enrolled_till(&server, SHOP_A, "OPERA-GC", 71).await;
    let (_t, ()) = on_till(t, move |till| {
        till.import_catalog(&demo_catalog().unwrap(), "demo")
            .unwrap();
        // A 50.00 gift card sold for cash: no sale, no VAT.
        till.sell_with(
            &SaleRequest {
                operator: Some("alice".into()),
                tenders: vec![tender(TenderKind::Cash, 5000, None)],
                ..Default::default()
            },
            &StoredValueRequest {
                gift_cards: vec![GiftCardRequest {
                    number: card.to_string(),
                    amount: Money::from_cents(5000),
                    top_up: false,
                }],
                ..Default::default()
            },
        )
        .unwrap();
        // A case (29.99, 20 % VAT) paid with it: 24.99 of sales and 5.00 of VAT.
        till.sell(&SaleRequest {
            operator: Some("alice".into()),
            lines: vec![SaleLineRequest {
                product_id: Some("ACC-COQ-IP16".into()),
                quantity: Some(1),
                ..Default::default()
            }],
            tenders: vec![tender(TenderKind::GiftCard, 2999, Some(&card))],
            ..Default::default()
        })
        .unwrap();
        let expected = till.report_x().unwrap().expected_cash;
        till.cash_movement("manager", CashMovementKind::Count, expected, None)
            .unwrap();
        till.close("manager", ClosureLevel::Day).unwrap();
        till.sync(|_, _, _| {}).unwrap();
    })
    .await;

    let entries = server
        .store
        .journal_entries(ENTITY, "2026-01-01", "2026-12-31")
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "the Z posts one entry");
    let balances = entries[0].balances();
    assert_eq!(
        balances.get("4191"),
        Some(&Money::from_cents(-2001)),
        "4191 is credited 50.00 at the sale and debited 29.99 at the redemption: {balances:?}"
    );
    let vat: Money = balances
        .iter()
        .filter(|(account, _)| account.starts_with("4457"))
        .map(|(_, amount)| *amount)
        .sum();
    assert_eq!(
        vat,
        Money::from_cents(-500),
        "VAT only on the goods the card paid for, none on the card's sale: {balances:?}"
    );
    let sales: Money = balances
        .iter()
        .filter(|(account, _)| account.starts_with('7'))
        .map(|(_, amount)| *amount)
        .sum();
    assert_eq!(
        sales,
        Money::from_cents(-2499),
        "the card's sale is no revenue: {balances:?}"
    );

    // The FEC: the entry balances and names 4191.
    let out_dir = server.dir.path().join("fec");
    std::fs::create_dir(&out_dir).unwrap();
    admin(
        &server.db_url,
        &[
            "export",
            "fec",
            "--entity",
            ENTITY,
            "--year",
            "2026",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let fec = std::fs::read(out_dir.join("123456789FEC20261231.txt")).unwrap();
    let text: String = fec.iter().map(|&b| b as char).collect();
    let (mut debit, mut credit) = (Money::ZERO, Money::ZERO);
    let mut liability = false;
    for line in text.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('|').collect();
        let amount = |f: &str| f.replace(',', ".").parse::<Money>().unwrap();
        debit += amount(fields[11]);
        credit += amount(fields[12]);
        liability |= fields[4] == "4191";
    }
    assert_eq!(debit, credit, "the FEC balances");
    assert!(
        liability,
        "the FEC shows the gift card liability on 4191:\n{text}"
    );

    // The hledger journal, checked by hledger itself.
    let journal = server.dir.path().join("acme.journal");
    admin(
        &server.db_url,
        &[
            "export",
            "hledger",
            "--entity",
            ENTITY,
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--out",
            journal.to_str().unwrap(),
        ],
    );
    hledger(&["-f", journal.to_str().unwrap(), "check"]);
    assert_eq!(
        hledger_total(&journal, "4191"),
        Money::from_cents(-2001),
        "hledger shows what the chain still owes on the card"
    );
    assert_eq!(hledger_total(&journal, "4457"), Money::from_cents(-500));
    server.stop().await;
}
