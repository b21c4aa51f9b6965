//! Head office's credentials can be ended, on every backend, over real HTTP and with the real
//! `sync-server` binary: a new enrollment code or a revocation ends a till's token (its
//! records stay); a user's API token ends when revoked or expired, a session on logout, both
//! on a password change; a web shop's key when revoked. And a burst of wrong head-office
//! logins against a real `sync-server serve` process neither exhausts its memory nor lets
//! the right password in until the lockout is over.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use chrono::Utc;
use pos_domain::record::Chain;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::secrets;

on_every_backend!(
    a_new_enrollment_code_ends_the_old_till_token,
    a_revoked_till_is_refused_and_keeps_its_records,
    user_tokens_end_when_revoked_or_expired,
    logout_ends_the_calling_session_only,
    a_password_change_ends_sessions_and_tokens,
    a_revoked_web_shop_key_is_refused,
    a_login_burst_is_bounded_and_then_throttled,
    tokens_made_before_expiry_work_for_90_more_days,
);

const TILL_A: &str = "PARIS-OPERA-1";
const PASSWORD: &str = "a long enough password";

/// A server with one enrolled till of shop A that uploaded its ledger, and the till's token.
async fn with_enrolled_till(backend: Backend) -> Option<(Server, TestTill, String)> {
    let server = Server::start(backend).await?;
    let code = server.create_till(SHOP_A, TILL_A).await;
    let till = TestTill::new(TILL_A, 11, 4, 1, 7);
    let token = server.enroll(&code, &till).await.token;
    for chains in till.batches(100) {
        server.upload(&token, TILL_A, chains).await;
    }
    Some((server, till, token))
}

/// What the server answers `token` on a route every till and user may read.
async fn answer_to(server: &Server, token: &str) -> StatusCode {
    let (status, _) = server
        .get(&format!("/api/v1/shops/{SHOP_A}/tills"), Some(token))
        .await;
    status
}

/// Runs `sync-server --db DB --json ARGS...` in the blocking pool.
async fn admin(server: &Server, args: &[&str]) -> Value {
    let db = server.db_url.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sync_server_json(&db, &args)
    })
    .await
}

/// Runs `sync-server --db DB --json admin user password --id USER` with `password` on stdin.
fn set_password_with_the_binary(db: &str, user: &str, password: &str) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args([
            "--db", db, "--json", "admin", "user", "password", "--id", user,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the sync-server binary runs");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "admin user password succeeds: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn set_password(server: &Server, user: &'static str, password: &'static str) {
    let db = server.db_url.clone();
    blocking(move || set_password_with_the_binary(&db, user, password)).await;
}

async fn login(server: &Server, user: &str, password: &str) -> (StatusCode, Value) {
    server
        .post_json(
            "/api/v1/login",
            None,
            &json!({"user": user, "password": password}),
        )
        .await
}

async fn session_of(server: &Server, user: &str) -> String {
    let (status, body) = login(server, user, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "the right password logs in: {body}");
    body["token"].as_str().unwrap().to_string()
}

async fn a_new_enrollment_code_ends_the_old_till_token(backend: Backend) {
    let Some((server, till, old_token)) = with_enrolled_till(backend).await else {
        return;
    };
    assert_eq!(answer_to(&server, &old_token).await, StatusCode::OK);
    let answer = admin(&server, &["admin", "till", "code", "--id", TILL_A]).await;
    assert_eq!(
        answer_to(&server, &old_token).await,
        StatusCode::UNAUTHORIZED,
        "a new enrollment code ends the till's token at once, before anyone enrolls with it"
    );
    let code = answer["enrollment_code"].as_str().unwrap();
    let new_token = server.enroll(code, &till).await.token;
    assert_eq!(
        answer_to(&server, &new_token).await,
        StatusCode::OK,
        "the till enrolled again with its key works with its new token"
    );
    assert_eq!(
        answer_to(&server, &old_token).await,
        StatusCode::UNAUTHORIZED,
        "and the old token stays dead"
    );
    server.stop().await;
}

async fn a_revoked_till_is_refused_and_keeps_its_records(backend: Backend) {
    let Some((server, till, token)) = with_enrolled_till(backend).await else {
        return;
    };
    let held = server.store.record_count(TILL_A).await.unwrap();
    assert!(held > 0, "the till uploaded its ledger");
    let revoke = format!("/api/v1/hq/tills/{TILL_A}/revoke");
    let (status, body) = server
        .post_json(&revoke, Some(&server.manager_token), &json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only an admin revokes a till: {body}"
    );
    let (status, body) = server
        .post_json(
            "/api/v1/hq/tills/NOPE/revoke",
            Some(&server.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown till: {body}");
    let (status, body) = server
        .post_json(&revoke, Some(&server.admin_token), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    assert_eq!(
        answer_to(&server, &token).await,
        StatusCode::UNAUTHORIZED,
        "a revoked till's token is refused"
    );
    let tickets = till.records(Chain::Ticket);
    let (status, _) = server
        .post_json(
            &format!("/api/v1/tills/{TILL_A}/records"),
            Some(&token),
            &json!({"protocol": "1.0", "chains": [batch(Chain::Ticket, &tickets)]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked till cannot upload"
    );
    assert_eq!(
        server.store.record_count(TILL_A).await.unwrap(),
        held,
        "a revoked till's records stay"
    );
    let listed = admin(&server, &["admin", "till", "list"]).await;
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == TILL_A)
        .unwrap()
        .clone();
    assert!(
        entry["revoked_at"].is_string(),
        "the till list says when it was revoked: {entry}"
    );

    // The admin command revokes too, and a new code lets the till back in with its key.
    let answer = admin(&server, &["admin", "till", "revoke", "--id", TILL_A]).await;
    assert_eq!(answer["revoked"], true);
    let answer = admin(&server, &["admin", "till", "code", "--id", TILL_A]).await;
    let token = server
        .enroll(answer["enrollment_code"].as_str().unwrap(), &till)
        .await
        .token;
    assert_eq!(answer_to(&server, &token).await, StatusCode::OK);
    server.stop().await;
}

async fn user_tokens_end_when_revoked_or_expired(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    // A token made by the admin command works, for the days asked.
    let answer = admin(
        &server,
        &["admin", "user", "token", "--id", "max", "--days", "2"],
    )
    .await;
    let second = answer["token"].as_str().unwrap().to_string();
    let expires: chrono::DateTime<Utc> = answer["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - Utc::now()).num_hours();
    assert!((47..=48).contains(&days), "--days 2: {answer}");
    assert_eq!(answer_to(&server, &second).await, StatusCode::OK);
    let listed = admin(&server, &["admin", "user", "tokens", "--id", "max"]).await;
    let expiries: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["expires_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        expiries.len(),
        2,
        "the first token and the new one: {listed}"
    );
    assert!(
        expiries.contains(&answer["expires_at"].as_str().unwrap()),
        "the list says when each token expires: {listed}"
    );

    // An expired token is refused.
    let expired = secrets::new_token().unwrap();
    server
        .store
        .create_user_token(
            &secrets::token_hash(&expired),
            "max",
            Utc::now() - chrono::Duration::days(3),
            Utc::now() - chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(
        answer_to(&server, &expired).await,
        StatusCode::UNAUTHORIZED,
        "an expired API token is refused"
    );

    // A user's first token expires too, by default after 90 days.
    let created = admin(
        &server,
        &[
            "admin",
            "user",
            "create",
            "--id",
            "acc",
            "--name",
            "Accountant",
            "--role",
            "accountant",
        ],
    )
    .await;
    let expires: chrono::DateTime<Utc> = created["token_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        (expires - Utc::now()).num_days(),
        89,
        "a new user's token works 90 days: {created}"
    );

    // Revocation ends every token and session of the user, and only theirs.
    server
        .store
        .set_password("max", &secrets::hash_password(PASSWORD).unwrap())
        .await
        .unwrap();
    let session = session_of(&server, "max").await;
    let revoke = "/api/v1/hq/users/max/revoke";
    let (status, _) = server
        .post_json(revoke, Some(&server.manager_token), &json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only an admin revokes a user"
    );
    let (status, body) = server
        .post_json(revoke, Some(&server.admin_token), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for (what, token) in [
        ("first API token", &server.manager_token),
        ("second API token", &second),
        ("session", &session),
    ] {
        assert_eq!(
            answer_to(&server, token).await,
            StatusCode::UNAUTHORIZED,
            "a revoked user's {what} is refused"
        );
    }
    assert_eq!(
        answer_to(&server, &server.admin_token).await,
        StatusCode::OK,
        "other users' tokens keep working"
    );
    // The admin command does the same.
    let third = admin(&server, &["admin", "user", "token", "--id", "max"]).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(answer_to(&server, &third).await, StatusCode::OK);
    let answer = admin(&server, &["admin", "user", "revoke", "--id", "max"]).await;
    assert_eq!(answer["ended"], 1, "{answer}");
    assert_eq!(answer_to(&server, &third).await, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

async fn logout_ends_the_calling_session_only(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    server
        .store
        .set_password("max", &secrets::hash_password(PASSWORD).unwrap())
        .await
        .unwrap();
    let (first, second) = (
        session_of(&server, "max").await,
        session_of(&server, "max").await,
    );
    let (status, body) = server
        .post_json("/api/v1/logout", Some(&first), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        answer_to(&server, &first).await,
        StatusCode::UNAUTHORIZED,
        "a session ends at logout"
    );
    let (status, _) = server
        .post_json("/api/v1/logout", Some(&first), &json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an ended session cannot log out again"
    );
    assert_eq!(
        answer_to(&server, &second).await,
        StatusCode::OK,
        "the user's other session goes on"
    );
    assert_eq!(
        answer_to(&server, &server.manager_token).await,
        StatusCode::OK
    );

    // An API token logging out ends that token.
    let (status, _) = server
        .post_json("/api/v1/logout", Some(&server.manager_token), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        answer_to(&server, &server.manager_token).await,
        StatusCode::UNAUTHORIZED,
        "logout ends the credential it is called with"
    );
    // A till has nothing to log out of, and keeps its token.
    let code = server.create_till(SHOP_A, TILL_A).await;
    let till = TestTill::new(TILL_A, 11, 0, 1, 7);
    let token = server.enroll(&code, &till).await.token;
    let (status, _) = server
        .post_json("/api/v1/logout", Some(&token), &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(answer_to(&server, &token).await, StatusCode::OK);
    server.stop().await;
}

async fn a_password_change_ends_sessions_and_tokens(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    // Setting a first password ends no API token.
    set_password(&server, "max", PASSWORD).await;
    assert_eq!(
        answer_to(&server, &server.manager_token).await,
        StatusCode::OK,
        "a first password leaves the user's API token alone"
    );
    let session = session_of(&server, "max").await;
    assert_eq!(answer_to(&server, &session).await, StatusCode::OK);

    set_password(&server, "max", "another long password").await;
    assert_eq!(
        answer_to(&server, &session).await,
        StatusCode::UNAUTHORIZED,
        "a password change ends the user's sessions"
    );
    assert_eq!(
        answer_to(&server, &server.manager_token).await,
        StatusCode::UNAUTHORIZED,
        "a password change ends the user's API tokens"
    );
    assert_eq!(
        answer_to(&server, &server.admin_token).await,
        StatusCode::OK,
        "and no one else's"
    );
    let (status, _) = login(&server, "max", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old password no longer logs in"
    );
    let (status, _) = login(&server, "max", "another long password").await;
    assert_eq!(status, StatusCode::OK, "the new one does");
    server.stop().await;
}

async fn a_revoked_web_shop_key_is_refused(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let key = secrets::new_token().unwrap();
    server
        .store
        .create_webshop("eshop", "Boutique en ligne", &secrets::token_hash(&key))
        .await
        .unwrap();
    let order = "/api/v1/web-orders/WO-UNKNOWN";
    let (status, body) = server.get(order, Some(&key)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the web shop's key is accepted (the order does not exist): {body}"
    );
    let (status, _) = server
        .post_json(
            "/api/v1/hq/webshops/eshop/revoke",
            Some(&server.manager_token),
            &json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only an admin revokes a web shop"
    );
    let (status, body) = server
        .post_json(
            "/api/v1/hq/webshops/eshop/revoke",
            Some(&server.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = server.get(order, Some(&key)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked web shop key is refused: {body}"
    );
    // A new key from the admin command works; the old one stays dead.
    let answer = admin(&server, &["admin", "webshop", "key", "--id", "eshop"]).await;
    let new_key = answer["api_key"].as_str().unwrap();
    let (status, _) = server.get(order, Some(new_key)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the new key is accepted");
    let (status, _) = server.get(order, Some(&key)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let answer = admin(&server, &["admin", "webshop", "revoke", "--id", "eshop"]).await;
    assert_eq!(answer["revoked"], true);
    let (status, _) = server.get(order, Some(new_key)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the admin command revokes too"
    );
    server.stop().await;
}

/// The peak resident memory of a process, in bytes (`VmHWM` of /proc/PID/status).
fn peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib * 1024
}

/// A `sync-server serve` process, stopped (SIGINT) when dropped.
struct ServeProcess {
    child: std::process::Child,
    url: String,
    /// Its log lines so far.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServeProcess {
    fn start(db: &str, extra: &[&str]) -> ServeProcess {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the sync-server binary runs");
        let (found, address) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let lines = log.clone();
        // Read the whole log, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("address=").nth(1) {
                    let _ = found.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let address = address
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs the address it listens on");
        ServeProcess {
            child,
            url: format!("http://{address}"),
            log,
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

async fn a_login_burst_is_bounded_and_then_throttled(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(backend, dir.path()).await else {
        return;
    };
    let db2 = db.clone();
    blocking(move || {
        sync_server_json(
            &db2,
            &[
                "admin", "user", "create", "--id", "ada", "--name", "Ada", "--role", "admin",
            ],
        );
        set_password_with_the_binary(&db2, "ada", PASSWORD);
    })
    .await;
    // Lockouts of 2 s (doubling) keep the test short; the limits are otherwise the defaults.
    let server = ServeProcess::start(&db, &["--login-lockout", "2"]);
    let http = reqwest::Client::new();
    let attempt = |password: &'static str| {
        let request = http
            .post(format!("{}/api/v1/login", server.url))
            .json(&json!({"user": "ada", "password": password}));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, retry_after, body)
        }
    };

    let answers =
        futures_util::future::join_all((0..200).map(|_| attempt("wrong password!!"))).await;
    let peak = peak_rss_bytes(server.child.id());
    assert!(
        peak < 500 * 1024 * 1024,
        "200 concurrent wrong logins leave the server under 500 MB (peak {} MB)",
        peak / (1024 * 1024)
    );
    for (status, retry_after, body) in &answers {
        assert!(
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(status),
            "a wrong password is refused, never let in nor a server error: {status} {body}"
        );
        if *status != StatusCode::UNAUTHORIZED {
            assert!(
                retry_after.is_some(),
                "429 and 503 say when to retry: {body}"
            );
        } else {
            assert_eq!(body["code"], "login_failed", "{body}");
        }
    }
    let throttled = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    eprintln!(
        "200 wrong logins: peak RSS {} MB, {throttled} throttled",
        peak / (1024 * 1024)
    );
    assert!(
        throttled > 150,
        "past the free failures, attempts are throttled without checking the password ({throttled} of 200)"
    );

    let log = server.log.lock().unwrap().join("\n");
    assert!(
        log.contains("head-office login failed") && log.contains("user=\"ada\""),
        "failed logins are logged with the user name: {log}"
    );
    assert!(
        !log.contains("wrong password!!"),
        "the log never holds a password: {log}"
    );

    // The right password is throttled for a while, then accepted.
    let (status, retry_after, body) = attempt(PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password is refused while the user is locked: {body}"
    );
    assert_eq!(body["code"], "login_throttled");
    let started = Instant::now();
    let mut wait = retry_after.expect("a 429 says when to retry");
    loop {
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let (status, retry_after, body) = attempt(PASSWORD).await;
        if status == StatusCode::OK {
            assert!(body["token"].is_string(), "{body}");
            break;
        }
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the lockout ends: {body}"
        );
        wait = retry_after.unwrap_or(1);
    }
    drop(server);
    drop_database(&db).await;
}

/// The migrations applied after the credentials one, oldest first, undone before it (none
/// depends on another).
const UNDO_LATER_MIGRATIONS: &[&str] = &[
    // Claims of webhook deliveries by replicas.
    "ALTER TABLE webhook_deliveries DROP COLUMN claimed_by;
     ALTER TABLE webhook_deliveries DROP COLUMN claimed_until;",
    // The tills' archives and their checks.
    "DROP TABLE archive_checks;
     DROP TABLE till_archives;",
    // Credit notes' and gift cards' balances, history and holds.
    "DROP TABLE instrument_holds;
     DROP TABLE instrument_movements;
     DROP TABLE instruments;",
    // Returns indexed under the ticket they give back, and return reservations.
    "DROP TABLE return_reservations;
     DROP TABLE ticket_returns;",
    // The commission plan.
    "DROP TABLE commission_rates;",
    // The days each till sold on and has not closed (on PostgreSQL its triggers are created
    // again in place; SQLite's are dropped first, below).
    "DROP TABLE till_days_without_z;
     DROP INDEX daily_entries_by_till_day;",
    // The administration journal.
    "DROP TABLE admin_audit;",
    // Stock movements, handsets by IMEI, and the levels' new columns.
    "DROP TABLE stock_serials;
     DROP TABLE stock_movements;
     ALTER TABLE stock_levels DROP COLUMN in_transit;
     ALTER TABLE stock_levels DROP COLUMN reserved;
     ALTER TABLE stock_levels DROP COLUMN counted_at;",
    // The logistics spoke: shipping notices, their receipts, drop-folder files, min/max.
    "DROP TABLE stock_minmax;
     DROP TABLE logistics_files;
     DROP TABLE notice_receipts;
     DROP TABLE shipping_notices;
     DROP INDEX stock_levels_by_product;",
    // Disabled head-office users.
    "ALTER TABLE users DROP COLUMN disabled_at;",
    // The reservations' partial index (gone with `stock_movements`, dropped above).
    "DROP INDEX IF EXISTS stock_movements_reserving;",
    // Large bodies compressed with lz4 (PostgreSQL): nothing to undo.
    "-- nothing",
    // Records' events by reference.
    "ALTER TABLE outbox DROP COLUMN record_till;
     ALTER TABLE outbox DROP COLUMN record_chain;
     ALTER TABLE outbox DROP COLUMN record_seq;
     ALTER TABLE outbox DROP COLUMN record_shop;",
];

/// Puts the database back as it was before revocable credentials: users' API tokens in
/// `users.token_hash`, no `user_tokens` table, no `revoked_at` columns, the migration (and
/// those after it) not applied.
async fn undo_credentials_migration(db_url: &str, tokens: &[(&str, String)]) {
    let undone = 1 + UNDO_LATER_MIGRATIONS.len() as i64;
    if let Some(path) = db_url.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).unwrap();
        // SQLite checks every trigger at each schema change: the days-without-Z triggers go
        // before their table (PostgreSQL replaces them in place when the migration runs again).
        conn.execute_batch(
            "DROP TRIGGER sales_rollup_till_day_sold;
             DROP TRIGGER daily_entries_till_day_closed;",
        )
        .unwrap();
        for undo in UNDO_LATER_MIGRATIONS {
            conn.execute_batch(undo).unwrap();
        }
        conn.execute_batch(
            "DROP TABLE user_tokens;
             DROP INDEX sessions_by_user;
             ALTER TABLE tills DROP COLUMN revoked_at;
             ALTER TABLE webshops DROP COLUMN revoked_at;",
        )
        .unwrap();
        for (user, token) in tokens {
            conn.execute(
                "UPDATE users SET token_hash = ?2 WHERE id = ?1",
                [user, &secrets::token_hash(token).as_str()],
            )
            .unwrap();
        }
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "user_version", version - undone)
            .unwrap();
        return;
    }
    let (client, connection) = tokio_postgres::connect(db_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    for undo in UNDO_LATER_MIGRATIONS {
        client.batch_execute(undo).await.unwrap();
    }
    client
        .batch_execute(
            "DROP TABLE user_tokens;
             DROP INDEX sessions_by_user;
             ALTER TABLE tills DROP COLUMN revoked_at;
             ALTER TABLE webshops DROP COLUMN revoked_at;
             ALTER TABLE users ADD COLUMN token_hash TEXT UNIQUE;",
        )
        .await
        .unwrap();
    for (user, token) in tokens {
        client
            .execute(
                "UPDATE users SET token_hash = $2 WHERE id = $1",
                &[user, &secrets::token_hash(token)],
            )
            .await
            .unwrap();
    }
    client
        .batch_execute(
            "ALTER TABLE users ALTER COLUMN token_hash SET NOT NULL;
",
        )
        .await
        .unwrap();
    client
        .execute(
            "DELETE FROM schema_migrations
             WHERE version > (SELECT max(version) FROM schema_migrations) - $1",
            &[&(undone as i32)],
        )
        .await
        .unwrap();
}

async fn tokens_made_before_expiry_work_for_90_more_days(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let tokens = [
        ("ada", server.admin_token.clone()),
        ("max", server.manager_token.clone()),
    ];
    let db_url = server.db_url.clone();
    let dir = server.stop_keeping_data().await;
    undo_credentials_migration(&db_url, &tokens).await;

    let store = sync_server::open_store(&db_url)
        .await
        .expect("the store migrates a database from before revocable credentials");
    let now = Utc::now();
    for (user, token) in &tokens {
        let found = store
            .user_by_token(&secrets::token_hash(token), now)
            .await
            .unwrap();
        assert_eq!(
            found.map(|u| u.id).as_deref(),
            Some(*user),
            "a token made before tokens expired still works after the upgrade"
        );
        let in_89_days = now + chrono::Duration::days(89);
        assert!(
            store
                .user_by_token(&secrets::token_hash(token), in_89_days)
                .await
                .unwrap()
                .is_some(),
            "for 90 days"
        );
        let in_91_days = now + chrono::Duration::days(91);
        assert!(
            store
                .user_by_token(&secrets::token_hash(token), in_91_days)
                .await
                .unwrap()
                .is_none(),
            "and no longer"
        );
    }
    assert_eq!(
        store.revoke_user("max").await.unwrap(),
        1,
        "the migrated token can be revoked"
    );
    drop(store);
    drop_database(&db_url).await;
    drop(dir);
}
