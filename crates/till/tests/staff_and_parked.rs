//! Staff PINs (kept as Argon2 hashes only), the `till staff` commands, and parked carts kept
//! across a restart.

mod support;

use pos_till::Till;
use pos_till::staff::StaffRole;
use serde_json::json;
use support::{new_till, run_till, text};

#[test]
fn a_pin_logs_its_owner_in_and_is_never_stored() {
    let mut t = new_till();
    t.till
        .add_staff("alice", "Alice", StaffRole::Cashier, "1234", [1; 16])
        .unwrap();
    t.till
        .add_staff("bruno", "Bruno", StaffRole::Manager, "9999", [2; 16])
        .unwrap();
    let alice = t
        .till
        .staff_by_pin("1234", None)
        .unwrap()
        .expect("Alice's PIN");
    assert_eq!(
        (alice.id.as_str(), alice.role),
        ("alice", StaffRole::Cashier)
    );
    let bruno = t.till.staff_by_pin("9999", Some("bruno")).unwrap();
    assert_eq!(bruno.map(|s| s.role), Some(StaffRole::Manager));
    assert!(
        t.till
            .staff_by_pin("9999", Some("alice"))
            .unwrap()
            .is_none(),
        "a PIN is only its owner's"
    );
    assert!(t.till.staff_by_pin("0000", None).unwrap().is_none());

    let error = t
        .till
        .add_staff("carl", "Carl", StaffRole::Cashier, "12a", [3; 16])
        .unwrap_err();
    assert_eq!(error.code(), "pin_invalid");

    let conn = rusqlite::Connection::open(&t.path).unwrap();
    let hashes: Vec<String> = conn
        .prepare("SELECT pin_hash FROM staff")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        hashes
            .iter()
            .all(|h| !h.contains("1234") && !h.contains("9999")),
        "no PIN appears in its hash: {hashes:?}"
    );
}

#[test]
fn till_staff_add_and_list() {
    let t = new_till();
    let db = t.path.clone();
    drop(t.till);
    let out = run_till(
        &db,
        &[
            "staff",
            "add",
            "--name",
            "Chloé Martin",
            "--role",
            "manager",
            "--pin",
            "4321",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run_till(&db, &["--json", "staff", "list"], "");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["name"], "Chloé Martin");
    assert_eq!(listed[0]["id"], "chloe-martin");
    assert_eq!(listed[0]["role"], "manager");
    let out = run_till(
        &db,
        &[
            "staff", "add", "--name", "X", "--role", "cashier", "--pin", "1",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "a bad PIN is refused input");
}

#[test]
fn parked_carts_outlive_the_process_and_resume_once() {
    let mut t = new_till();
    let cart = json!({"lines": [{"product_id": "ACC-BAT-10K"}]});
    let parked = t
        .till
        .park_cart("alice", Some("manteau rouge"), 1, "34.90", &cart)
        .unwrap();
    let path = t.path.clone();
    drop(t.till);

    let mut till = Till::open(&path, t.clock.clone()).unwrap();
    let list = till.parked_carts().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].label.as_deref(), Some("manteau rouge"));
    let resumed = till.take_parked_cart(parked.id).unwrap();
    assert_eq!(resumed.cart, cart);
    assert!(till.parked_carts().unwrap().is_empty());
    let again = till.take_parked_cart(parked.id).unwrap_err();
    assert_eq!(again.code(), "unknown_parked_cart");
}
