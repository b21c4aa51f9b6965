//! Stock operations at the till: a delivery received with differences, a transfer sent and
//! one received, a count started and finished, each a signed record of the `stock` chain
//! (the fiscal chains untouched), refused when wrong with nothing written, and the `till stock`
//! commands over the same engine.

mod support;

use pos_domain::record::{Chain, Depth};
use pos_domain::stock::{CountScope, Effect, StockOperation};
use pos_till::stock::{
    CountLineRequest, ReceiveLineRequest, ReceiveRequest, SendLineRequest, TransferArrivalRequest,
    TransferRequest,
};
use support::{new_till, run_till, text};

fn imei(n: u32) -> String {
    let payload = format!("35209900{n:06}");
    let digits: Vec<u32> = payload.chars().map(|c| c.to_digit(10).unwrap()).collect();
    format!("{payload}{}", pos_domain::codes::Imei::luhn_digit(&digits))
}

fn line(product: &str, expected: u32, received: u32, damaged: u32) -> ReceiveLineRequest {
    ReceiveLineRequest {
        product_id: product.into(),
        expected,
        received,
        damaged,
        serials: Vec::new(),
    }
}

#[test]
fn a_delivery_with_differences_is_one_signed_stock_record() {
    let mut t = new_till();
    let mut phones = line("PHN-IP16-128", 3, 2, 0);
    phones.serials = vec![imei(1), imei(2)];
    let recorded = t
        .till
        .receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: Some("ASN-77".into()),
                lines: vec![phones, line("ACC-COQ-IP16", 10, 11, 1)],
            },
        )
        .unwrap();
    let StockOperation::GoodsReceipt(receipt) = &recorded.operation else {
        panic!("a receipt is recorded as one");
    };
    assert_eq!(
        (
            receipt.lines[0].missing(),
            receipt.lines[1].extra(),
            receipt.lines[1].damaged
        ),
        (1, 1, 1),
        "the differences to the notice (missing, extra, damaged) are recorded"
    );
    assert_eq!(recorded.seq, 1);
    assert_eq!(
        t.till.chain_length(Chain::Stock).unwrap(),
        1,
        "one stock record"
    );
    assert_eq!(
        t.till.chain_length(Chain::Ticket).unwrap(),
        0,
        "a stock operation is no ticket: the fiscal chains are untouched"
    );
    let on_shelf: i64 = recorded
        .operation
        .effects("S1")
        .iter()
        .map(|e| match e {
            Effect::Move { on_hand, .. } => *on_hand,
            Effect::Count { .. } => 0,
        })
        .sum();
    assert_eq!(
        on_shelf,
        2 + 10,
        "what arrived in good condition goes on the shelves"
    );
    assert!(
        t.till.verify(Depth::Full).unwrap().intact(),
        "the ledger verifies"
    );
}

#[test]
fn a_handset_needs_its_imei_and_a_refusal_writes_nothing() {
    let mut t = new_till();
    let err = t
        .till
        .receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: None,
                lines: vec![line("PHN-IP16-128", 0, 1, 0)],
            },
        )
        .unwrap_err();
    assert_eq!(
        err.code(),
        "imei_required",
        "a handset received without its IMEI is refused"
    );
    let err = t
        .till
        .receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: None,
                lines: vec![line("ACC-COQ-IP16", 0, 1, 2)],
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "stock_damaged_beyond_received");
    assert_eq!(
        t.till.chain_length(Chain::Stock).unwrap(),
        0,
        "a refused operation writes nothing"
    );
}

#[test]
fn a_service_is_never_received_sent_or_counted() {
    let mut t = new_till();
    let csv = "id,label,category,vat_code,price,stock\n\
               SVC-REPAIR,Screen repair,Services,standard,89.00,not_kept\n";
    let products =
        pos_till::catalog::read(pos_till::catalog::CatalogFormat::Csv, csv.as_bytes()).unwrap();
    t.till.import_catalog(&products, "services").unwrap();
    let stored = t.till.product_by_id("SVC-REPAIR").unwrap().unwrap();
    assert_eq!(
        stored.stock,
        pos_domain::product::StockKeeping::NotKept,
        "the till keeps what the catalog says of the product's stock"
    );
    let mut written = Vec::new();
    pos_till::catalog::write_csv([stored].into_iter(), &mut written).unwrap();
    let written = String::from_utf8(written).unwrap();
    assert!(
        written.starts_with("id,barcodes,label,category,vat_code,price,sold_by,serial,stock\n")
            && written.trim_end().ends_with(",not_kept"),
        "the exported catalog says it too: {written}"
    );
    let err = t
        .till
        .receive_goods(
            "bruno",
            &ReceiveRequest {
                asn: None,
                lines: vec![line("SVC-REPAIR", 0, 1, 0)],
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "stock_not_kept", "{err}");
    let err = t
        .till
        .send_transfer(
            "bruno",
            &TransferRequest {
                to_shop: "LYON-BELLECOUR".into(),
                lines: vec![SendLineRequest {
                    product_id: "SVC-REPAIR".into(),
                    quantity: 1,
                    serials: Vec::new(),
                }],
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "stock_not_kept", "{err}");
    assert_eq!(t.till.chain_length(Chain::Stock).unwrap(), 0);
}

#[test]
fn a_transfer_is_sent_and_received_once() {
    let mut t = new_till();
    let sent = t
        .till
        .send_transfer(
            "bruno",
            &TransferRequest {
                to_shop: "SHOP-2".into(),
                lines: vec![SendLineRequest {
                    product_id: "ACC-COQ-IP16".into(),
                    quantity: 4,
                    serials: Vec::new(),
                }],
            },
        )
        .unwrap();
    let transfer_id = sent.operation.id().to_string();
    assert!(
        transfer_id.starts_with("T-"),
        "the transfer gets its id at the sending till"
    );
    let arrival = TransferArrivalRequest {
        transfer_id: "T-OTHER-9".into(),
        from_shop: "SHOP-3".into(),
        lines: vec![line("ACC-COQ-IP16", 4, 3, 0)],
    };
    t.till.receive_transfer("bruno", &arrival).unwrap();
    let again = t.till.receive_transfer("bruno", &arrival).unwrap_err();
    assert_eq!(
        again.code(),
        "stock_already_recorded",
        "the same transfer cannot be received twice"
    );
    assert_eq!(t.till.chain_length(Chain::Stock).unwrap(), 2);
}

#[test]
fn a_count_names_the_moment_it_started() {
    let mut t = new_till();
    let start = t
        .till
        .start_count("bruno", CountScope::Category("Accessoires".into()), true)
        .unwrap();
    let count_id = start.operation.id().to_string();
    assert_eq!(t.till.open_counts().unwrap().len(), 1);
    t.clock.advance(chrono::Duration::minutes(40));
    let finished = t
        .till
        .finish_count(
            "bruno",
            &count_id,
            &[CountLineRequest {
                product_id: "ACC-COQ-IP16".into(),
                counted: 7,
            }],
        )
        .unwrap();
    let StockOperation::CountFinished(result) = &finished.operation else {
        panic!("a finished count is recorded as one");
    };
    assert_eq!(
        result.started_at, start.at,
        "head office adjusts against the stock at the count's start, not its end"
    );
    assert!(t.till.open_counts().unwrap().is_empty());
    let twice = t.till.finish_count("bruno", &count_id, &[]).unwrap_err();
    assert_eq!(twice.code(), "count_finished", "a count is finished once");
    assert_eq!(t.till.stock_records(10).unwrap().len(), 2);
}

#[test]
fn the_cli_receives_and_counts() {
    let t = new_till();
    let path = t.path.clone();
    let _dir = t.dir;
    drop(t.till);
    let out = run_till(
        &path,
        &[
            "--json",
            "stock",
            "receive",
            "--asn",
            "ASN-1",
            "--line",
            "ACC-COQ-IP16:9:10",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["operation"]["lines"][0]["expected"], 10);
    let out = run_till(
        &path,
        &["--json", "stock", "count-start", "--shelf", "A3"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let count = json["operation"]["count_id"].as_str().unwrap().to_string();
    let out = run_till(
        &path,
        &["stock", "count-finish", &count, "--line", "ACC-COQ-IP16:8"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run_till(&path, &["stock", "receive", "--line", "nope"], "");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad line is refused as input: {}",
        text(&out.stderr)
    );
}
