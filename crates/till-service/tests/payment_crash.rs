//! A card payment across a crash of the real `till-app-http` process (SIGKILL): an approval no
//! ticket holds yet comes back after the restart as charged, pays exactly one ticket, and no
//! new debit starts while a payment is charged and unused or its outcome is unknown.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The app as a separate process, so the test can kill it as a power cut would.
struct App {
    child: Child,
    url: String,
    /// The per-launch secret every command must carry (as the served page does).
    secret: String,
    client: reqwest::blocking::Client,
}

impl App {
    fn start(db: &Path, terminal: &str) -> App {
        let secret_file = db.with_extension("secret");
        let mut child = Command::new(env!("CARGO_BIN_EXE_till-app-http"))
            .arg("--db")
            .arg(db)
            .arg("--secret-file")
            .arg(&secret_file)
            .args(["--demo", "--listen", "127.0.0.1:0", "--printer", "none"])
            .args(["--terminal", terminal, "--terminal-timeout", "60"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("till-app-http starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("the app says where it listens");
        let ready: Value = serde_json::from_str(&first).expect("a JSON line");
        App {
            child,
            url: ready["url"].as_str().expect("url").to_string(),
            secret: std::fs::read_to_string(&secret_file)
                .expect("the launch secret file")
                .trim()
                .to_string(),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    fn call(&self, command: &str, request: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/{command}", self.url))
            .header("x-till-secret", &self.secret)
            .json(&request)
            .send()
            .expect("HTTP request");
        (
            response.status().as_u16(),
            response.json().expect("JSON body"),
        )
    }

    fn ok(&self, command: &str, request: Value) -> Value {
        let (status, body) = self.call(command, request);
        assert_eq!(status, 200, "{command} should succeed: {body}");
        body
    }

    fn refused(&self, command: &str, request: Value) -> String {
        let (status, body) = self.call(command, request);
        assert_ne!(status, 200, "{command} should be refused: {body}");
        body["code"].as_str().unwrap_or_default().to_string()
    }

    /// SIGKILL: no shutdown code runs, as in a crash or a power cut.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn status_of(&self, payment_id: &str) -> Value {
        self.ok("card_payment_status", json!({ "payment_id": payment_id }))
    }
}

fn cart() -> Value {
    json!({ "lines": [{ "product_id": "SRV-SIM", "quantity": 1 }] })
}

#[test]
fn an_approval_survives_a_kill_and_pays_exactly_one_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("till.db");
    let app = App::start(&db, "sim:amount-rule");
    app.ok("login", json!({ "pin": "1234" }));
    let started = app.ok("card_payment_start", json!({ "amount": "10.00" }));
    let id = started["payment_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.status_of(&id)["state"] == "pending" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(app.status_of(&id)["state"], "approved");
    // The customer was charged; the app dies before the sale is recorded.
    app.kill();

    let app = App::start(&db, "sim:amount-rule");
    app.ok("login", json!({ "pin": "1234" }));
    let charged = app.ok("card_payments_charged", json!({}));
    let listed = charged.as_array().unwrap();
    assert_eq!(
        listed.len(),
        1,
        "the approval no ticket holds is listed after the restart: {charged}"
    );
    assert_eq!(listed[0]["payment_id"], id.as_str());
    assert_eq!(listed[0]["state"], "approved");
    assert_eq!(listed[0]["charged"], "10.00");

    assert_eq!(
        app.refused("card_payment_start", json!({ "amount": "10.00" })),
        "payment_charged_unused",
        "the API, not the screen, refuses to charge the card again while a charge is unused"
    );
    assert_eq!(
        app.ok(
            "card_payment_start",
            json!({ "amount": "5.00", "alongside": [id] })
        )["state"],
        "pending",
        "a second card on the same sale (the unused charge alongside) may start"
    );

    let sale = app.ok(
        "sell",
        json!({ "cart": cart(), "tenders": [{ "kind": "card", "amount": "10.00", "payment_id": id }] }),
    );
    assert_eq!(
        sale["ticket"]["tenders"][0]["kind"], "card",
        "the sale is completed with the charge found after the restart"
    );
    let again = app.refused(
        "sell",
        json!({ "cart": cart(), "tenders": [{ "kind": "card", "amount": "10.00", "payment_id": id }] }),
    );
    assert_eq!(
        again, "payment_not_approved",
        "one approval never pays a second ticket"
    );
    assert!(
        app.ok("card_payments_charged", json!({}))
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["payment_id"] != id.as_str()),
        "a charge on a ticket is no longer listed as unused"
    );
    app.kill();

    // After another restart the journal has released it: still never usable again.
    let app = App::start(&db, "sim:amount-rule");
    app.ok("login", json!({ "pin": "1234" }));
    let after = app.ok("card_payments_charged", json!({}));
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["payment_id"] != id.as_str()),
        "a charge a ticket consumed does not come back after a restart: {after}"
    );
    assert_ne!(
        app.call(
            "sell",
            json!({ "cart": cart(), "tenders": [{ "kind": "card", "amount": "10.00", "payment_id": id }] }),
        )
        .0,
        200,
        "a consumed approval cannot pay a ticket after a restart either"
    );
    app.kill();
}

#[test]
fn no_debit_starts_while_a_payment_interrupted_by_a_kill_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("till.db");
    let app = App::start(&db, "sim:never-answer");
    app.ok("login", json!({ "pin": "1234" }));
    let started = app.ok("card_payment_start", json!({ "amount": "10.00" }));
    let id = started["payment_id"].as_str().unwrap().to_string();
    assert_eq!(app.status_of(&id)["state"], "pending");
    app.kill();

    let app = App::start(&db, "sim:amount-rule");
    app.ok("login", json!({ "pin": "1234" }));
    let unresolved = app.ok("card_payments_unresolved", json!({}));
    assert_eq!(unresolved[0]["payment_id"], id.as_str(), "{unresolved}");
    assert_eq!(
        app.refused("card_payment_start", json!({ "amount": "10.00" })),
        "payment_unresolved",
        "no new debit while a payment's outcome is unknown"
    );

    // The cashier reads the terminal's receipt: it was approved. Now it is a charge to use.
    app.ok(
        "card_payment_resolve",
        json!({ "payment_id": id, "approved": true }),
    );
    assert_eq!(
        app.refused("card_payment_start", json!({ "amount": "10.00" })),
        "payment_charged_unused"
    );
    app.kill();

    // The verdict is journaled: after a restart the charge is still known, and usable.
    let app = App::start(&db, "sim:amount-rule");
    app.ok("login", json!({ "pin": "1234" }));
    let charged = app.ok("card_payments_charged", json!({}));
    assert_eq!(charged[0]["payment_id"], id.as_str(), "{charged}");
    app.ok(
        "sell",
        json!({ "cart": cart(), "tenders": [{ "kind": "card", "amount": "10.00", "payment_id": id }] }),
    );
    assert_eq!(
        app.ok("card_payment_start", json!({ "amount": "10.00" }))["state"],
        "pending",
        "with every charge on a ticket, the card can be charged again"
    );
    app.kill();
}
