//! The rules tills apply by themselves, set with the admin binary and carried by the changes
//! feed over real HTTP, on every backend: a VAT rate sent ahead for the shop's territory, the
//! means of payment the shop takes, and promotions for every shop or one. Each shop gets its
//! own and no other's, the till prices and refuses by them, and head office's sales show the
//! promotion's price.

mod support;

use std::process::Command;

use pos_domain::Money;
use pos_domain::record::Chain;
use pos_domain::tender::{Tender, TenderKind};
use pos_till::requests::{SaleLineRequest, SaleRequest};
use reqwest::StatusCode;
use serde_json::Value;
use support::*;

on_every_backend!(a_till_prices_and_takes_payment_by_its_shops_rules);

const TILL: &str = "PARIS-OPERA-7";

fn admin(server: &Server, args: &[&str]) -> Value {
    sync_server_json(&server.db_url, args)
}

/// Runs an admin command that must fail, and returns what it said.
fn admin_refused(server: &Server, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args(["--db", &server.db_url])
        .args(args)
        .output()
        .expect("the sync-server binary runs");
    assert!(!output.status.success(), "sync-server {args:?} should fail");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn on_till<R: Send + 'static>(
    till: TestTill,
    work: impl FnOnce(&mut TestTill) -> R + Send + 'static,
) -> (TestTill, R) {
    tokio::task::spawn_blocking(move || {
        let mut till = till;
        let out = work(&mut till);
        (till, out)
    })
    .await
    .expect("the till work completes")
}

fn sale(product: &str, tenders: Vec<Tender>) -> SaleRequest {
    SaleRequest {
        lines: vec![SaleLineRequest {
            product_id: Some(product.into()),
            ..SaleLineRequest::default()
        }],
        tenders,
        ..SaleRequest::default()
    }
}

fn pay(kind: TenderKind, amount: &str) -> Tender {
    Tender {
        kind,
        amount: amount.parse().unwrap(),
        reference: Some("T-1".into()),
        payment: None,
    }
}

async fn a_till_prices_and_takes_payment_by_its_shops_rules(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let catalog = server.dir.path().join("catalog.csv");
    std::fs::write(
        &catalog,
        "id,barcodes,label,category,vat_code,price,sold_by,serial\n\
         ACC-CAB,,Câble USB-C,Accessoires,standard,9.90,,\n\
         LIV-5G,,Guide de la 5G,Livres,reduced,12.00,,\n",
    )
    .unwrap();
    admin(
        &server,
        &["admin", "catalog", "import", catalog.to_str().unwrap()],
    );

    // The till's clock starts on 30 March 2026: the reduced rate changes on 1 April.
    let vat = ["admin", "vat", "set", "--code", "reduced", "--rate", "7"];
    admin(
        &server,
        &[
            &vat[..],
            &["--territory", "metropole", "--from", "2026-04-01"],
        ]
        .concat(),
    );
    admin(
        &server,
        &[
            &vat[..],
            &["--territory", "reunion", "--from", "2026-01-01"],
        ]
        .concat(),
    );
    let refused = admin_refused(
        &server,
        &[
            "admin",
            "vat",
            "set",
            "--territory",
            "metropole",
            "--code",
            "standard",
            "--rate",
            "120",
            "--from",
            "2026-04-01",
        ],
    );
    assert!(refused.contains("between 0 and 100"), "{refused}");

    admin(
        &server,
        &[
            "admin", "tender", "set", "--shop", SHOP_A, "--kind", "cheque", "--refuse",
        ],
    );
    let vouchers = admin(
        &server,
        &[
            "admin",
            "tender",
            "set",
            "--all-shops",
            "--kind",
            "voucher",
            "--label",
            "Titre-restaurant",
            "--max",
            "20.00",
        ],
    );
    assert_eq!(vouchers["shops"].as_array().unwrap().len(), 2);
    let refused = admin_refused(
        &server,
        &[
            "admin",
            "tender",
            "set",
            "--all-shops",
            "--kind",
            "cash",
            "--refuse",
        ],
    );
    assert!(refused.contains("cash cannot be refused"), "{refused}");

    let promotion = [
        "admin",
        "promotion",
        "set",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-30",
    ];
    admin(
        &server,
        &[
            &promotion[..],
            &[
                "--id",
                "CAB-10",
                "--label",
                "Câbles -10 %",
                "--percent",
                "10",
                "--category",
                "Accessoires",
            ],
        ]
        .concat(),
    );
    admin(
        &server,
        &[
            &promotion[..],
            &[
                "--id",
                "LYON-1",
                "--label",
                "Lyon",
                "--amount-off",
                "1.00",
                "--product",
                "LIV-5G",
                "--shop",
                SHOP_B,
            ],
        ]
        .concat(),
    );
    let refused = admin_refused(
        &server,
        &[
            &promotion[..],
            &[
                "--id",
                "CAB-10",
                "--label",
                "x",
                "--percent",
                "5",
                "--category",
                "Livres",
                "--shop",
                SHOP_A,
            ],
        ]
        .concat(),
    );
    assert!(refused.contains("already set for every shop"), "{refused}");

    let code = server.create_till(SHOP_A, TILL).await;
    let url = server.url.clone();
    let till = TestTill::new(TILL, 43, 0, 1, 1);
    let (till, rules) = on_till(till, move |t| {
        t.till.enroll(&url, &code).expect("enrollment");
        t.till.sync(|_, _, _| {}).expect("sync").download.rules
    })
    .await;
    // Metropole's rate, Paris's two tender rules and the promotion for every shop; nothing of
    // Réunion or of Lyon.
    assert_eq!(rules, 4);

    let (till, ()) = on_till(till, |test_till| {
        let t = &mut test_till.till;
        assert_eq!(t.promotions().unwrap().len(), 1);
        let cable = t
            .sell(&sale("ACC-CAB", vec![pay(TenderKind::Cash, "8.91")]))
            .expect("sale");
        assert_eq!(cable.ticket.total, Money::from_cents(891), "9.90 less 10 %");
        assert_eq!(
            cable.ticket.lines[0].promotion.as_ref().unwrap().id,
            "CAB-10"
        );

        let err = t
            .sell(&sale("LIV-5G", vec![pay(TenderKind::Cheque, "12.00")]))
            .unwrap_err();
        assert_eq!(err.code(), "tender_not_accepted", "{err}");
        // Two books, 24.00: vouchers may pay 20.00 of it at most.
        let mut two_books = sale(
            "LIV-5G",
            vec![
                pay(TenderKind::Voucher, "21.00"),
                pay(TenderKind::Cash, "3.00"),
            ],
        );
        two_books.lines[0].quantity = Some(2);
        let err = t.sell(&two_books).unwrap_err();
        assert_eq!(err.code(), "tender_above_limit", "{err}");

        let book = t
            .sell(&sale("LIV-5G", vec![pay(TenderKind::Voucher, "12.00")]))
            .expect("sale");
        assert_eq!(book.ticket.lines[0].vat_rate.to_string(), "5.5");
        test_till.clock.advance(chrono::Duration::days(2));
        let t = &mut test_till.till;
        let book = t
            .sell(&sale("LIV-5G", vec![pay(TenderKind::Card, "12.00")]))
            .expect("sale");
        assert_eq!(
            book.ticket.lines[0].vat_rate.to_string(),
            "7",
            "the rate of 1 April on"
        );
        assert_eq!(t.chain_length(Chain::Ticket).unwrap(), 3);

        t.sync(|_, _, _| {}).expect("upload");
    })
    .await;

    let (status, sales) = server
        .get(
            &format!("/api/v1/hq/sales?by=product&shop={SHOP_A}"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sales}");
    let amount = |product: &str| {
        sales["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == product)
            .map(|r| r["amount"].as_str().unwrap().to_string())
    };
    assert_eq!(amount("ACC-CAB").as_deref(), Some("8.91"));
    assert_eq!(amount("LIV-5G").as_deref(), Some("24.00"));

    // Withdrawn: the promotion is gone from the till at its next sync.
    admin(&server, &["admin", "promotion", "remove", "--id", "CAB-10"]);
    let (_till, left) = on_till(till, |t| {
        t.till.sync(|_, _, _| {}).expect("sync");
        t.till.promotions().unwrap().len()
    })
    .await;
    assert_eq!(left, 0);
    server.stop().await;
}
