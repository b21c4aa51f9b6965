//! Deliveries received against an advance shipping notice: the notice as head office's feed
//! delivered it (written to `shipping_notices` here, as the download does; the download itself
//! is tested against a real head office in `sync-server/tests/stock_offline.rs`), then the
//! engine and the `till stock` commands: the expected quantities are the notice's, a product
//! it does not list is an extra, a line not scanned is missing, and a notice is received once.

mod support;

use pos_domain::record::Chain;
use pos_domain::stock::{NoticeLine, ShippingNotice, StockOperation, StockUnit};
use pos_till::stock::{ReceiveLineRequest, ReceiveRequest};
use rusqlite::Connection;
use support::{new_till, run_till, text};

fn notice(id: &str) -> ShippingNotice {
    let line = |product: &str, quantity| NoticeLine {
        product_id: product.into(),
        unit: StockUnit::Units,
        quantity,
        serials: Vec::new(),
    };
    ShippingNotice {
        id: id.into(),
        shop_id: "PARIS-OPERA".into(),
        lines: vec![line("ACC-COQ-IP16", 10), line("ACC-CBL-CC1", 4)],
    }
}

/// Stores a notice as the changes feed delivers it.
fn deliver(path: &std::path::Path, notice: &ShippingNotice) {
    Connection::open(path)
        .unwrap()
        .execute(
            "INSERT INTO shipping_notices (id, body, updated_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![
                notice.id,
                serde_json::to_string(notice).unwrap(),
                "2026-03-30T07:00:00.000000Z"
            ],
        )
        .unwrap();
}

fn scanned(product: &str, expected: u32, received: u32, damaged: u32) -> ReceiveLineRequest {
    ReceiveLineRequest {
        product_id: product.into(),
        expected,
        received,
        damaged,
        serials: Vec::new(),
    }
}

#[test]
fn a_delivery_against_a_notice_takes_the_expected_quantities_from_it_once() {
    let mut t = new_till();
    deliver(&t.path, &notice("ASN-500"));
    assert_eq!(
        t.till.shipping_notices().unwrap(),
        vec![notice("ASN-500")],
        "the notice the feed brought is open at the till"
    );
    let request = ReceiveRequest {
        asn: Some("ASN-500".into()),
        // The caller's `expected` is ignored against a notice; the cable is not scanned; a
        // guide nobody announced arrives.
        lines: vec![
            scanned("ACC-COQ-IP16", 99, 9, 1),
            scanned("LIV-GUIDE-5G", 7, 2, 0),
        ],
    };
    let recorded = t.till.receive_goods("bruno", &request).unwrap();
    let StockOperation::GoodsReceipt(receipt) = &recorded.operation else {
        panic!("a receipt is recorded as one");
    };
    let lines: Vec<(&str, u32, u32, u32)> = receipt
        .lines
        .iter()
        .map(|l| (l.product_id.as_str(), l.expected, l.received, l.damaged))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("ACC-COQ-IP16", 10, 9, 1),
            ("ACC-CBL-CC1", 4, 0, 0),
            ("LIV-GUIDE-5G", 0, 2, 0),
        ],
        "expected comes from the notice: a notice line not scanned is missing, a product it \
         does not list is an extra"
    );
    assert_eq!(
        (
            receipt.lines[0].missing(),
            receipt.lines[1].missing(),
            receipt.lines[2].extra()
        ),
        (1, 4, 2)
    );
    assert_eq!(receipt.asn.as_deref(), Some("ASN-500"));
    assert!(
        t.till.shipping_notices().unwrap().is_empty(),
        "a received notice is no longer open"
    );

    let twice = t.till.receive_goods("bruno", &request).unwrap_err();
    assert_eq!(
        twice.code(),
        "shipping_notice_already_received",
        "a notice is received once: {twice}"
    );
    assert!(twice.to_string().contains("ASN-500"), "{twice}");
    assert_eq!(
        t.till.chain_length(Chain::Stock).unwrap(),
        1,
        "the refused second receipt recorded nothing"
    );
}

#[test]
fn a_notice_received_stays_received_even_if_the_feed_sends_it_again() {
    let mut t = new_till();
    deliver(&t.path, &notice("ASN-501"));
    t.till
        .receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: Some("ASN-501".into()),
                lines: vec![scanned("ACC-COQ-IP16", 0, 10, 0)],
            },
        )
        .unwrap();
    let deleted = Connection::open(&t.path)
        .unwrap()
        .execute("DELETE FROM shipping_notice_receipts", [])
        .unwrap_err();
    assert!(
        deleted.to_string().contains("append-only"),
        "the received notices are append-only: {deleted}"
    );
    // Logistics changes the notice after the delivery was received: it stays received.
    deliver(&t.path, &notice("ASN-501"));
    let again = t
        .till
        .receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: Some("ASN-501".into()),
                lines: vec![scanned("ACC-COQ-IP16", 0, 10, 0)],
            },
        )
        .unwrap_err();
    assert_eq!(again.code(), "shipping_notice_already_received");
}

#[test]
fn the_cli_lists_the_notices_and_receives_against_one() {
    let t = new_till();
    let path = t.path.clone();
    let _dir = t.dir;
    drop(t.till);
    deliver(&path, &notice("ASN-502"));
    let out = run_till(&path, &["stock", "notices"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(
        listed.contains("ASN-502") && listed.contains("ACC-CBL-CC1"),
        "`till stock notices` lists the open notices and their lines: {listed}"
    );
    let out = run_till(
        &path,
        &[
            "--json",
            "stock",
            "receive",
            "--asn",
            "ASN-502",
            "--line",
            "ACC-COQ-IP16:10",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["operation"]["lines"][1]["product_id"], "ACC-CBL-CC1",
        "the notice's line not given on the command line is recorded"
    );
    assert_eq!(json["operation"]["lines"][1]["expected"], 4);
    assert_eq!(json["operation"]["lines"][1]["received"], 0);
    let out = run_till(&path, &["--json", "stock", "notices"], "");
    assert_eq!(text(&out.stdout).trim(), "[]", "nothing left to receive");
    let out = run_till(
        &path,
        &[
            "stock",
            "receive",
            "--asn",
            "ASN-502",
            "--line",
            "ACC-COQ-IP16:10",
        ],
        "",
    );
    assert!(!out.status.success(), "a notice is received once");
    assert!(
        text(&out.stderr).contains("already received"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn on_hand_without_head_office_names_the_products_it_cannot_tell() {
    let t = new_till();
    let path = t.path.clone();
    let _dir = t.dir;
    drop(t.till);
    let out = run_till(
        &path,
        &["--json", "stock", "on-hand", "ACC-COQ-IP16", "ACC-COQ-IP16"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["live"], false,
        "a till not enrolled has no live answer"
    );
    assert_eq!(
        json["unknown"],
        serde_json::json!(["ACC-COQ-IP16"]),
        "a product never answered for is named once as unknown, not shown as zero"
    );
}
