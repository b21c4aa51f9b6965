//! Staff PINs (kept as Argon2 hashes only), the `till staff` commands, and parked carts kept
//! across a restart.

mod support;

use pos_domain::clock::Clock;
use pos_domain::record::{Chain, Depth};
use pos_till::Till;
use pos_till::staff::{PinAttempt, PinCheck, PinPurpose, PinScope, StaffRole};
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

/// A wrong PIN typed for `staff_id` (or without a name), `n` times, waiting the delay asked.
fn wrong_pins(t: &mut support::TestTill, staff_id: Option<&str>, n: u32) -> Vec<PinCheck> {
    let mut answers = Vec::new();
    while answers.len() < n as usize {
        let answer = t
            .till
            .check_pin(&PinAttempt {
                pin: "0000",
                staff_id,
                purpose: PinPurpose::Login,
            })
            .unwrap();
        match answer {
            PinCheck::Wait { seconds } => t.clock.advance(chrono::Duration::seconds(seconds)),
            other => answers.push(other),
        }
    }
    answers
}

fn login(t: &mut support::TestTill, pin: &str, staff_id: Option<&str>) -> PinCheck {
    t.till
        .check_pin(&PinAttempt {
            pin,
            staff_id,
            purpose: PinPurpose::Login,
        })
        .unwrap()
}

fn pin_events(till: &Till) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    let length = till.chain_length(Chain::Event).unwrap();
    till.records(Chain::Event, 1, length, |r| {
        let kind = r.record.payload["kind"].as_str().unwrap_or("").to_string();
        if kind.starts_with("login_") {
            events.push(r.record.payload.clone());
        }
        Ok(())
    })
    .unwrap();
    events
}

#[test]
fn the_sixth_wrong_pin_locks_a_staff_member_out_until_a_manager_or_head_office_lifts_it() {
    let mut t = new_till();
    t.till
        .add_staff("alice", "Alice", StaffRole::Cashier, "1234", [1; 16])
        .unwrap();
    t.till
        .add_staff("bruno", "Bruno", StaffRole::Manager, "9999", [2; 16])
        .unwrap();
    let started = t.clock.now();

    // Two typos are free; the third wrong PIN makes the next one wait.
    wrong_pins(&mut t, Some("alice"), 3);
    assert_eq!(
        login(&mut t, "1234", Some("alice")),
        PinCheck::Wait { seconds: 1 },
        "after three wrong PINs, even the right one waits: nothing is tried"
    );
    let answers = wrong_pins(&mut t, Some("alice"), 3);
    assert_eq!(
        answers.last(),
        Some(&PinCheck::Wrong {
            failures: 6,
            locked: true
        }),
        "the sixth wrong PIN locks out"
    );
    assert!(
        t.clock.now() - started < chrono::Duration::minutes(1),
        "six wrong PINs fit in a minute with the delays"
    );
    assert_eq!(
        login(&mut t, "1234", Some("alice")),
        PinCheck::Locked(PinScope::Staff("alice".into())),
        "the right PIN is refused while locked out"
    );
    assert_eq!(
        login(&mut t, "1234", None),
        PinCheck::Wrong {
            failures: 1,
            locked: false
        },
        "without a name, a locked-out member's right PIN answers as a wrong one (no oracle)"
    );
    t.clock.advance(chrono::Duration::hours(2));

    // A restart forgets nothing.
    let path = t.path.clone();
    t.till = Till::open(&path, t.clock.clone()).unwrap();
    assert_eq!(
        login(&mut t, "1234", Some("alice")),
        PinCheck::Locked(PinScope::Staff("alice".into())),
        "the lockout survives a restart and time"
    );
    assert!(
        matches!(
            login(&mut t, "9999", Some("bruno")),
            PinCheck::Accepted { .. }
        ),
        "another staff member still logs in"
    );
    let lifted = t.till.unlock_pins("bruno", Some("alice")).unwrap();
    assert_eq!(lifted, vec![PinScope::Staff("alice".into())]);
    assert_eq!(
        login(&mut t, "1234", Some("alice")),
        PinCheck::Accepted {
            staff: t.till.staff_member("alice").unwrap().unwrap(),
            wrong_before: 0
        },
        "a manager lifted the lockout"
    );

    // Head office re-sending the staff (here a new PIN added locally) lifts it too.
    wrong_pins(&mut t, Some("alice"), 6);
    assert!(matches!(
        login(&mut t, "1234", Some("alice")),
        PinCheck::Locked(_)
    ));
    t.clock.advance(chrono::Duration::seconds(1));
    t.till
        .add_staff("alice", "Alice", StaffRole::Cashier, "2468", [3; 16])
        .unwrap();
    assert!(
        matches!(
            login(&mut t, "2468", Some("alice")),
            PinCheck::Accepted { .. }
        ),
        "new staff records from head office lift the lockout"
    );

    let events = pin_events(&t.till);
    let locks: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "login_failed" && e["detail"]["locked"] == true)
        .collect();
    assert_eq!(locks.len(), 2, "each lockout is journaled: {events:#?}");
    assert_eq!(locks[0]["detail"]["scope"], "staff:alice");
    assert_eq!(locks[0]["detail"]["attempts"], 6);
    let lifts: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "login_unlocked")
        .map(|e| e["detail"]["by"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(lifts, ["bruno", "head_office"], "each lifting is journaled");
    assert!(
        t.till.verify(Depth::Full).unwrap().intact(),
        "the journal stays a valid signed chain"
    );
}

#[test]
fn a_series_of_typos_ends_after_a_quiet_quarter_hour_and_guessing_without_a_name_locks_the_till() {
    let mut t = new_till();
    t.till
        .add_staff("alice", "Alice", StaffRole::Cashier, "1234", [1; 16])
        .unwrap();
    wrong_pins(&mut t, None, 5);
    t.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        wrong_pins(&mut t, None, 1),
        vec![PinCheck::Wrong {
            failures: 1,
            locked: false
        }],
        "a quiet quarter of an hour starts a new series"
    );
    let answers = wrong_pins(&mut t, None, 5);
    assert_eq!(
        answers.last(),
        Some(&PinCheck::Wrong {
            failures: 6,
            locked: true
        })
    );
    assert_eq!(
        login(&mut t, "1234", None),
        PinCheck::Locked(PinScope::Till)
    );
    assert!(
        matches!(
            login(&mut t, "1234", Some("alice")),
            PinCheck::Accepted { .. }
        ),
        "choosing one's name still logs in: that member's own limit applies"
    );
    let lifted = t.till.unlock_pins("bruno", None).unwrap();
    assert_eq!(lifted, vec![PinScope::Till]);
    assert!(matches!(
        login(&mut t, "1234", None),
        PinCheck::Accepted { .. }
    ));
}
