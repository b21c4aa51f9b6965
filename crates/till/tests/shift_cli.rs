//! The `till shift` commands: a cashier's shift opened with a float and closed with a blind
//! count, its X report and the X of a cashier, through the real binary on a real ledger. The
//! count stays blind: no output tells the expected cash before the count is recorded.

mod support;

use serde_json::Value;
use support::{SIMPLE_SALE, new_till, run_till, text};

/// `till --operator alice --json shift ARGS...`, which must succeed; its JSON answer.
fn shift(db: &std::path::Path, args: &[&str]) -> Value {
    let out = run_till(
        db,
        &[&["--operator", "alice", "--json", "shift"], args].concat(),
        "",
    );
    assert!(
        out.status.success(),
        "shift {args:?}: {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn a_shift_opens_with_a_float_closes_with_a_blind_count_and_reports_per_cashier() {
    let t = new_till();
    drop(t.till);
    let db = t.path.as_path();

    let opened = shift(db, &["open", "--float", "100.00"]);
    assert_eq!(opened["float"], "100.00", "{opened}");
    assert_eq!(opened["cashier"], "alice");
    assert_eq!(
        opened["expected_cash"],
        Value::Null,
        "the count is blind: opening a shift does not tell the expected cash"
    );

    let sold = run_till(db, &["sell"], SIMPLE_SALE); // alice: 2 x 29.99 + 12.90 in cash
    assert!(sold.status.success(), "{}", text(&sold.stderr));

    let x = shift(db, &["report"]);
    assert_eq!(
        x["totals"]["tickets"], 1,
        "the shift's X holds alice's sale: {x}"
    );
    assert_eq!(
        x["expected_cash"],
        Value::Null,
        "the shift's X does not tell the expected cash before the count"
    );
    let human = run_till(db, &["--operator", "alice", "shift", "report"], "");
    assert!(
        !text(&human.stdout).contains("172.88"),
        "nor does its printed text: {}",
        text(&human.stdout)
    );

    let by_cashier = shift(db, &["cashier"]);
    assert_eq!(
        by_cashier["totals"]["tickets"], 1,
        "the X per cashier counts alice's ticket since the last Z: {by_cashier}"
    );
    let bruno = shift(db, &["cashier", "--id", "bruno"]);
    assert_eq!(bruno["totals"]["tickets"], 0, "and none of it is bruno's");

    let closed = shift(db, &["close", "--counted", "170.00"]);
    assert_eq!(closed["counted"], "170.00", "{closed}");
    assert_eq!(
        closed["expected_cash"], "172.88",
        "once counted: the float plus the shift's cash"
    );
    assert_eq!(closed["difference"], "-2.88", "counted minus expected");

    let refused = run_till(
        db,
        &["--operator", "alice", "shift", "close", "--counted", "1.00"],
        "",
    );
    assert_eq!(
        refused.status.code(),
        Some(2),
        "a shift closes once: {}",
        text(&refused.stderr)
    );
}
