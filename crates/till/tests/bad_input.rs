//! Bad input: each refused command exits non-zero with a message that says what to do, and
//! leaves the ledger file byte-for-byte unchanged.

mod support;

use std::path::Path;

use pos_domain::record::sha256_hex;
use support::{SIMPLE_SALE, new_till, run_till, text};

fn fingerprint(db: &Path) -> String {
    let mut bytes = std::fs::read(db).unwrap();
    let wal = db.with_extension("db-wal");
    if wal.exists() {
        bytes.extend(std::fs::read(wal).unwrap());
    }
    sha256_hex(&bytes)
}

#[test]
fn refused_input_changes_nothing() {
    let t = new_till();
    drop(t.till);
    let db = t.path.as_path();
    let sold = run_till(db, &["sell"], SIMPLE_SALE);
    assert!(sold.status.success(), "{}", text(&sold.stderr));
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            "malformed JSON",
            &["sell"],
            r#"{"lines": [ {"barcode": "3760000010634" "#,
            "not valid",
        ),
        (
            "unknown field",
            &["sell"],
            r#"{"lines":[],"tenders":[],"paid":true}"#,
            "unknown field",
        ),
        (
            "unknown barcode",
            &["sell"],
            r#"{"lines":[{"barcode":"4006381333931"}],"tenders":[{"kind":"cash","amount":"10.00"}]}"#,
            "no product with barcode",
        ),
        (
            "zero quantity",
            &["sell"],
            r#"{"lines":[{"product_id":"ACC-CBL-CC1","quantity":0}],"tenders":[{"kind":"cash","amount":"10.00"}]}"#,
            "more than zero",
        ),
        (
            "negative quantity",
            &["sell"],
            r#"{"lines":[{"product_id":"ACC-CBL-CC1","quantity":-2}],"tenders":[{"kind":"cash","amount":"10.00"}]}"#,
            "more than zero",
        ),
        (
            "missing IMEI",
            &["sell"],
            r#"{"lines":[{"product_id":"PHN-IP16-128"}],"tenders":[{"kind":"card","amount":"969.00"}]}"#,
            "IMEI",
        ),
        (
            "invalid IMEI",
            &["sell"],
            r#"{"lines":[{"product_id":"PHN-IP16-128","serials":["490154203237519"]}],"tenders":[{"kind":"card","amount":"969.00"}]}"#,
            "Luhn",
        ),
        (
            "tenders short",
            &["sell"],
            r#"{"lines":[{"product_id":"ACC-CBL-CC1"}],"tenders":[{"kind":"card","amount":"10.00"}]}"#,
            "take 4.90 more",
        ),
        (
            "change on a card",
            &["sell"],
            r#"{"lines":[{"product_id":"ACC-CBL-CC1"}],"tenders":[{"kind":"card","amount":"20.00"}]}"#,
            "only in cash",
        ),
        (
            "huge quantity",
            &["sell"],
            r#"{"lines":[{"product_id":"ACC-CBL-CC1","quantity":99999999999}],"tenders":[{"kind":"cash","amount":"10.00"}]}"#,
            "at most 1000000",
        ),
        (
            "huge price",
            &["sell"],
            r#"{"lines":[{"product_id":"ACC-CBL-CC1","unit_price":"99999999999999999999"}],"tenders":[{"kind":"cash","amount":"10.00"}]}"#,
            "largest amount",
        ),
        (
            "a price the ledger could sign but never read back in its totals",
            &["sell"],
            r#"{"lines":[{"product_id":"ACC-CBL-CC1","unit_price":"1000000000000000.00"}],"tenders":[{"kind":"cash","amount":"1000000000000000.00"}]}"#,
            "9999999.99",
        ),
        (
            "a line returned twice in one return",
            &["return"],
            r#"{"original":1,"lines":[{"line":2,"quantity":1},{"line":2,"quantity":1}]}"#,
            "listed twice",
        ),
        (
            "float amount",
            &["sell"],
            r#"{"lines":[{"product_id":"ACC-CBL-CC1"}],"tenders":[{"kind":"cash","amount":14.9}]}"#,
            "not valid",
        ),
        (
            "return beyond the original",
            &["return"],
            r#"{"original":1,"lines":[{"line":1,"quantity":3}]}"#,
            "only 2 left to return",
        ),
        (
            "return of an unknown ticket",
            &["return"],
            r#"{"original":99,"lines":[{"line":1,"quantity":1}]}"#,
            "does not exist",
        ),
        (
            "exchange beyond the original",
            &["exchange"],
            r#"{"original":1,"returned":[{"line":1,"quantity":3}],"lines":[{"product_id":"ACC-CHG-65W"}],"tenders":[{"kind":"cash","amount":"50.00"}]}"#,
            "only 2 left to return",
        ),
        (
            "exchange with the difference unpaid",
            &["exchange"],
            r#"{"original":1,"returned":[{"line":1,"quantity":1}],"lines":[{"product_id":"ACC-CHG-65W"}]}"#,
            "take 19.91 more",
        ),
        (
            "exchange with nothing new",
            &["exchange"],
            r#"{"original":1,"returned":[{"line":1,"quantity":1}],"lines":[]}"#,
            "add the items taken instead",
        ),
        (
            "reprint of an unknown ticket",
            &["receipt", "42", "--duplicate"],
            "",
            "does not exist",
        ),
        (
            "negative cash movement",
            &["cash", "pay-in", "--amount", "-5.00"],
            "",
            "positive amount",
        ),
    ];
    for (name, args, stdin, hint) in cases {
        let before = fingerprint(db);
        let out = run_till(db, args, stdin);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: refused input exits 2: {}",
            text(&out.stderr)
        );
        let message = text(&out.stderr);
        assert!(
            message.contains(hint),
            "{name}: the message says what is wrong ({hint}): {message}"
        );
        assert_eq!(
            fingerprint(db),
            before,
            "{name}: the ledger is byte-for-byte unchanged"
        );
    }
    let json = run_till(
        db,
        &["--json", "sell"],
        r#"{"lines":[{"barcode":"4006381333931"}],"tenders":[]}"#,
    );
    let error: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        error["error"]["code"], "unknown_barcode",
        "--json errors carry a stable code"
    );
}

#[test]
fn a_bad_catalog_is_refused_whole() {
    let t = new_till();
    drop(t.till);
    let bad = t.dir.path().join("bad.csv");
    std::fs::write(&bad, "id,barcodes,label,category,vat_code,price\nA,,Thing,Misc,standard,1.00\nB,4006381333932,Other,Misc,standard,2.00\n").unwrap();
    let before = fingerprint(&t.path);
    let out = run_till(&t.path, &["catalog", "import", bad.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("catalog row 3") && text(&out.stderr).contains("check digit"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        fingerprint(&t.path),
        before,
        "nothing of a refused catalog is imported"
    );
}

#[test]
fn missing_ledger_says_how_to_create_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_till(&dir.path().join("none.db"), &["sell"], SIMPLE_SALE);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("init --shop"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !dir.path().join("none.db").exists(),
        "no ledger is created by a failed sale"
    );
}
