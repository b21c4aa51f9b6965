//! What a dishonest cashier or a web page open on the till tries, over the real loopback HTTP
//! transport with the printer simulator on a real socket: each attempt is refused and leaves
//! the ledger as it was.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{TestTill, line};

const TIMEOUT: Duration = Duration::from_secs(180);

/// Every string anywhere in a JSON answer.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// What a cashier could paste into the returns screen from `text`: every word and every line.
fn candidates(text: &str) -> Vec<String> {
    text.lines()
        .flat_map(|l| {
            l.split_whitespace()
                .map(str::to_string)
                .chain([l.trim().to_string()])
        })
        .filter(|c| c.contains(':'))
        .collect()
}

#[test]
fn a_cashier_cannot_make_a_scanned_receipt_from_what_the_till_shows() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let cart = json!({"lines": [line("ACC-CBL-CC1", 2), line("ACC-CHG-25W", 1)]});
    let sale = till
        .call(
            "sell",
            json!({"cart": cart, "tenders": [{"kind": "cash", "amount": "54.70"}]}),
        )
        .ok();
    assert_eq!(sale["ticket"]["number"], 1);
    let original_qr = till.scan_printed_qr("Ticket n° 1");

    // Everything the API answers about the ticket, and a reprint's paper (a duplicate).
    let mut answers = vec![sale.clone()];
    answers.push(till.call("receipt", json!({"number": 1})).ok());
    answers.push(till.call("reprint", json!({"number": 1})).ok());
    answers.push(till.call("find_ticket", json!({"number": 1})).ok());
    let mut seen = Vec::new();
    for answer in &answers {
        strings(answer, &mut seen);
    }
    let duplicate_qr = till.scan_printed_qr("DUPLICATA");
    let mut tries: Vec<String> = seen.iter().flat_map(|s| candidates(s)).collect();
    tries.push(duplicate_qr.clone());
    assert!(
        tries.iter().any(|t| t.starts_with("POS1:")),
        "the ticket's reference is on screen: {tries:?}"
    );
    for answer in &answers {
        assert!(
            !answer.to_string().contains(&original_qr),
            "no answer carries the original receipt's QR code: {answer}"
        );
    }
    assert_ne!(
        duplicate_qr, original_qr,
        "a duplicate's QR code is not the original's"
    );

    let refund = json!({"original": 1, "lines": [{"line": 1, "quantity": 1}],
                        "refund_to": "cash", "by_receipt": true});
    for text in &tries {
        let found = till.call("find_ticket", json!({ "qr": text }));
        if found.status == 200 {
            assert_eq!(
                found.body["by_receipt"], false,
                "`{text}` from the screen or a duplicate is no proof of purchase"
            );
        }
        let refused = till.call("return_items", refund.clone());
        assert_eq!(
            refused.code(),
            "approval_required",
            "after pasting `{text}`, a refund still needs a manager: {}",
            refused.body
        );
    }
    let tickets = till.call("find_ticket", json!({"number": 1})).ok();
    assert_eq!(
        tickets["returns"],
        json!([]),
        "nothing was refunded by the attempts"
    );

    // The paper the customer took home still proves the purchase.
    let found = till.call("find_ticket", json!({ "qr": original_qr })).ok();
    assert_eq!(
        found["by_receipt"], true,
        "the original receipt's QR code proves the purchase"
    );
    let returned = till.call("return_items", refund).ok();
    assert_eq!(returned["ticket"]["total"], "-14.90");
}

/// What is tried, with which headers, and the status and code it must get.
type Attempt<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);

#[test]
fn a_page_of_another_origin_cannot_drive_the_till() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let before = till.chain_lengths();
    let secret = till.secret.as_str().to_string();
    let own_origin = till.url.clone();
    let json_type = ("content-type", "application/json");
    let with_secret = (pos_till_service::http::SECRET_HEADER, secret.as_str());
    let wrong_secret = (pos_till_service::http::SECRET_HEADER, "0123456789abcdef");
    // What a web page open in the till's browser, or a tool without the secret, sends.
    let attempts: Vec<Attempt> = vec![
        (
            "a cross-site form post (text/plain)",
            vec![
                ("content-type", "text/plain"),
                ("origin", "http://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
            403,
            "cross_site_refused",
        ),
        (
            "a text/plain body, even with the secret",
            vec![("content-type", "text/plain;charset=UTF-8"), with_secret],
            415,
            "content_type_refused",
        ),
        (
            "a foreign Origin",
            vec![json_type, ("origin", "http://evil.example"), with_secret],
            403,
            "origin_refused",
        ),
        (
            "another loopback origin (another port)",
            vec![json_type, ("origin", "http://127.0.0.1:1"), with_secret],
            403,
            "origin_refused",
        ),
        (
            "Sec-Fetch-Site: cross-site",
            vec![json_type, ("sec-fetch-site", "cross-site"), with_secret],
            403,
            "cross_site_refused",
        ),
        (
            "no launch secret",
            vec![
                json_type,
                ("origin", own_origin.as_str()),
                ("sec-fetch-site", "same-origin"),
            ],
            403,
            "secret_refused",
        ),
        (
            "a wrong launch secret",
            vec![json_type, ("origin", own_origin.as_str()), wrong_secret],
            403,
            "secret_refused",
        ),
    ];
    let commands = [
        (
            "cash_movement",
            json!({"kind": "pay_out", "amount": "50.00", "reason": "x"}),
        ),
        (
            "sell",
            json!({"cart": {"lines": [line("ACC-CBL-CC1", 1)]},
                   "tenders": [{"kind": "cash", "amount": "7.45"}]}),
        ),
        ("login", json!({"pin": "9999"})),
        ("logout", json!({})),
    ];
    for (what, headers, status, code) in &attempts {
        for (command, request) in &commands {
            let answer = till.call_with(command, request.to_string(), headers);
            assert_eq!(
                (answer.status, answer.code()),
                (*status, *code),
                "{what}: `{command}` must be refused before it runs: {}",
                answer.body
            );
        }
    }
    assert_eq!(
        till.chain_lengths(),
        before,
        "the refused requests recorded nothing in any chain"
    );
    let session = till.call("session", json!({})).ok();
    assert_eq!(
        session["session"]["staff"]["name"], "Alice",
        "the refused login and logout changed nobody's session"
    );

    // The till's own page: same origin, JSON, the secret.
    let own = till.call_with(
        "cash_movement",
        json!({"kind": "pay_in", "amount": "1.00"}).to_string(),
        &[
            json_type,
            ("origin", own_origin.as_str()),
            ("sec-fetch-site", "same-origin"),
            with_secret,
        ],
    );
    assert_eq!(
        own.status, 200,
        "the till's own UI is answered: {}",
        own.body
    );
}

/// Types a wrong PIN through `command` until `n` were counted, waiting when asked to; answers
/// the last refusal and how long the series took.
fn wrong_pins(
    till: &TestTill,
    command: &str,
    request: Value,
    n: usize,
) -> (support::Answer, Duration) {
    let started = std::time::Instant::now();
    let mut counted = 0;
    let mut waited = false;
    loop {
        let answer = till.call(command, request.clone());
        if answer.code() == "pin_wait" {
            assert_eq!(answer.status, 429, "{}", answer.body);
            waited = true;
            std::thread::sleep(Duration::from_millis(500));
            continue;
        }
        counted += 1;
        if counted == n {
            assert!(n < 4 || waited, "a growing delay comes before the lockout");
            return (answer, started.elapsed());
        }
        assert!(
            ["pin_wrong", "approval_refused"].contains(&answer.code()),
            "wrong PIN {counted}: {}",
            answer.body
        );
    }
}

/// The `login_failed` and `login_unlocked` events of the ledger's journal, after checking
/// every signature and link of every chain.
fn pin_events(till: &TestTill) -> Vec<Value> {
    let mut ledger = pos_till::Till::open(
        &till.db(),
        std::sync::Arc::new(pos_till::system::SystemClock),
    )
    .expect("ledger");
    let report = ledger
        .verify(pos_domain::record::Depth::Full)
        .expect("verify");
    assert!(report.intact(), "the signed chains verify: {report:?}");
    let chain = pos_domain::record::Chain::Event;
    let mut events = Vec::new();
    ledger
        .records(chain, 1, ledger.chain_length(chain).expect("length"), |r| {
            if r.record.payload["kind"]
                .as_str()
                .is_some_and(|k| k.starts_with("login_"))
            {
                events.push(r.record.payload.clone());
            }
            Ok(())
        })
        .expect("events");
    events
}

#[test]
fn the_sixth_wrong_pin_in_a_minute_locks_out_is_journaled_and_survives_a_restart() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    let (sixth, took) = wrong_pins(&till, "login", json!({"pin": "0000"}), 6);
    assert!(took < Duration::from_secs(60), "six tries took {took:?}");
    assert_eq!(
        (sixth.status, sixth.code()),
        (403, "pin_locked"),
        "the sixth wrong PIN within a minute locks out: {}",
        sixth.body
    );
    assert!(
        sixth.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("manager")),
        "the refusal says who can unlock: {}",
        sixth.body
    );
    let right = till.call("login", json!({"pin": "1234"}));
    assert_eq!(
        right.code(),
        "pin_locked",
        "the right PIN is refused until a manager unlocks"
    );
    let events = pin_events(&till);
    let locked: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "login_failed" && e["detail"]["locked"] == true)
        .collect();
    assert_eq!(
        locked.len(),
        1,
        "the lockout is a signed event of the journal: {events:#?}"
    );
    assert_eq!(locked[0]["detail"]["scope"], "till");
    assert_eq!(locked[0]["detail"]["attempts"], 6);

    // A restart forgets nothing.
    let dir = till.stop();
    let till = TestTill::start_in(dir, "amount-rule", TIMEOUT);
    assert_eq!(
        till.call("login", json!({"pin": "1234"})).code(),
        "pin_locked",
        "the lockout survives a restart"
    );

    // The manager, choosing his name, logs in and lifts it.
    till.call("login", json!({"pin": "9999", "staff_id": "bruno"}))
        .ok();
    let lifted = till.call("unlock_pins", json!({})).ok();
    assert_eq!(lifted["lifted"], json!(["till"]));
    till.call("logout", json!({})).ok();
    let session = till.login("1234");
    assert_eq!(session["staff"]["name"], "Alice", "unlocked: the PIN works");
    let events = pin_events(&till);
    let lifts: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "login_unlocked")
        .collect();
    assert_eq!(lifts.len(), 1, "the lifting is journaled");
    assert_eq!(lifts[0]["detail"]["by"], "bruno");
}

#[test]
fn a_logged_in_cashier_cannot_find_the_managers_pin_through_approvals() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let approve = |pin: &str| json!({"pin": pin, "action": "refund_without_receipt"});
    let (sixth, _) = wrong_pins(&till, "approve", approve("0000"), 6);
    assert_eq!(
        sixth.code(),
        "pin_locked",
        "approvals count wrong PINs like logins: {}",
        sixth.body
    );
    assert_eq!(
        till.call("approve", approve("9999")).code(),
        "pin_locked",
        "the manager's right PIN is no longer tried"
    );
    // Naming the manager: his own limit, six more tries, then he is locked out too.
    let named = json!({"pin": "0001", "action": "refund_without_receipt", "staff_id": "bruno"});
    let (sixth, _) = wrong_pins(&till, "approve", named, 6);
    assert_eq!(sixth.code(), "pin_locked", "{}", sixth.body);
    let right = json!({"pin": "9999", "action": "refund_without_receipt", "staff_id": "bruno"});
    assert_eq!(
        till.call("approve", right).code(),
        "pin_locked",
        "the manager is locked out: head office or another manager must lift it"
    );
    assert_eq!(
        till.call("unlock_pins", json!({})).code(),
        "approval_required",
        "a cashier cannot lift a lockout herself"
    );
}

/// `till-app-http`, the real process, serving a UI directory; killed when dropped.
struct AppProcess {
    child: std::process::Child,
    url: String,
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_app(
    dir: &std::path::Path,
    ui: &std::path::Path,
    secret_file: &std::path::Path,
) -> AppProcess {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_till-app-http"))
        .arg("--db")
        .arg(dir.join("till.db"))
        .args(["--demo", "--listen", "127.0.0.1:0", "--sync-every", "3600"])
        .arg("--ui")
        .arg(ui)
        .arg("--secret-file")
        .arg(secret_file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("till-app-http starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut first)
        .expect("ready line");
    let ready: Value = serde_json::from_str(&first).expect("the ready line is JSON");
    let url = ready["url"].as_str().expect("url").to_string();
    AppProcess { child, url }
}

#[test]
fn the_served_page_carries_the_launch_secret_that_opens_the_api() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let ui = dir.path().join("ui");
    std::fs::create_dir_all(&ui).expect("ui dir");
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><html><head><title>Caisse</title></head><body></body></html>",
    )
    .expect("index.html");
    std::fs::write(ui.join("app.js"), "console.log('till');").expect("app.js");
    let secret_file = dir.path().join("http.secret");
    let app = start_app(dir.path(), &ui, &secret_file);
    let client = reqwest::blocking::Client::new();

    let page = client.get(format!("{}/", app.url)).send().expect("GET /");
    assert_eq!(
        page.headers()["x-frame-options"],
        "DENY",
        "no other page may frame the till"
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert_eq!(
        page.headers()["content-security-policy"],
        "frame-ancestors 'none'; connect-src 'self'",
        "the page talks to its own engine only"
    );
    let html = page.text().expect("page");
    let secret = html
        .split(r#"<meta name="till-secret" content=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the served page carries the launch secret: {html}"))
        .to_string();
    assert_eq!(secret.len(), 64, "32 random bytes in hex");
    assert_eq!(
        std::fs::read_to_string(&secret_file).expect("secret file"),
        secret,
        "--secret-file holds the same secret"
    );
    let mode = std::fs::metadata(&secret_file)
        .expect("secret file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the secret file is its owner's only");
    let deep = client
        .get(format!("{}/returns", app.url))
        .send()
        .expect("GET /returns")
        .text()
        .expect("page");
    assert!(
        deep.contains(&secret),
        "any screen's address serves the page with its secret"
    );
    let script = client
        .get(format!("{}/app.js", app.url))
        .send()
        .expect("GET /app.js")
        .text()
        .expect("script");
    assert_eq!(script, "console.log('till');", "assets are served as built");

    let post = |secret: Option<&str>| {
        let mut request = client
            .post(format!("{}/api/session", app.url))
            .header("content-type", "application/json")
            .header("origin", &app.url)
            .header("sec-fetch-site", "same-origin")
            .body("{}");
        if let Some(secret) = secret {
            request = request.header(pos_till_service::http::SECRET_HEADER, secret);
        }
        request.send().expect("POST").status().as_u16()
    };
    assert_eq!(post(Some(&secret)), 200, "the page's secret opens the API");
    assert_eq!(post(None), 403, "without it, the API refuses");

    // Another launch draws another secret: an old page's no longer works.
    drop(app);
    let again = start_app(dir.path(), &ui, &secret_file);
    let status = client
        .post(format!("{}/api/session", again.url))
        .header("content-type", "application/json")
        .header(pos_till_service::http::SECRET_HEADER, &secret)
        .body("{}")
        .send()
        .expect("POST")
        .status()
        .as_u16();
    assert_eq!(status, 403, "each launch has its own secret");
}

/// The app enrolls as `till enroll` does: plain HTTP to another machine is refused before any
/// connection, and the authority a manager pastes is read (a text that is no certificate is
/// refused), so head office's private authority can be pinned from the settings screen.
#[test]
fn the_apps_enrollment_refuses_plain_http_and_reads_the_pasted_authority() {
    let till = TestTill::start("amount-rule", Duration::from_secs(5));
    till.login("9999");
    let started = std::time::Instant::now();
    let plain = till.call(
        "enroll",
        json!({"server": "http://192.0.2.1:8080", "code": "K7QM-2XPD-9RTA"}),
    );
    assert_eq!(
        plain.code(),
        "plain_http_refused",
        "plain HTTP to another machine is refused: {}",
        plain.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the refusal comes before any connection"
    );
    let pasted = till.call(
        "enroll",
        json!({"server": "https://192.0.2.1:8443", "code": "K7QM-2XPD-9RTA", "ca_pem": "not a certificate"}),
    );
    assert_eq!(
        pasted.code(),
        "ca_cert_invalid",
        "the pasted authority is checked before any connection: {}",
        pasted.body
    );
    assert_eq!(
        till.call("sync_status", json!({})).ok()["enrolled"],
        false,
        "a refused enrollment leaves the till unenrolled"
    );
}
