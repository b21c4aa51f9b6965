//! Reliability of the whole sync path, on every backend, with the real `sync-server` and `till`
//! binaries where a process must die or run twice: the server killed in the middle of a batch
//! and restarted; answers cut by a proxy after the server committed; two `till sync` processes
//! of one till at once; the app's background sync loop through an outage of head office. Each test ends with head office holding exactly the till's records, and
//! its sales totals equal to the till's.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pos_domain::record::Chain;
use pos_till::Till;
use pos_till::requests::{SaleLineRequest, SaleRequest};
use pos_till::sync_loop::{SyncLoop, SyncLoopOptions};
use serde_json::Value;
use support::*;
use sync_server::open_store;
use sync_server::store::SalesQuery;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

on_every_backend!(
    the_server_killed_mid_batch_restarts_and_the_sync_resumes,
    answers_cut_after_the_server_committed_are_retried_exactly_once,
    two_till_sync_processes_of_one_till_upload_each_record_once,
    the_background_loop_rides_out_an_outage_of_head_office,
);

/// Creates the legal entity, the shop and the till with the admin commands; the till's id and
/// its one-time enrollment code.
fn set_up_shop(db: &str) -> (String, String) {
    sync_server_json(
        db,
        &[
            "admin",
            "entity",
            "create",
            "--name",
            "Acme",
            "--siren",
            "123456789",
        ],
    );
    sync_server_json(
        db,
        &[
            "admin",
            "shop",
            "create",
            "--entity",
            "ACME",
            "--name",
            "Paris Opera",
            "--territory",
            "metropole",
            "--timezone",
            "Europe/Paris",
        ],
    );
    let till = sync_server_json(
        db,
        &[
            "admin",
            "till",
            "create",
            "--shop",
            "PARIS-OPERA",
            "--name",
            "Caisse 1",
        ],
    );
    (
        till["till_id"].as_str().unwrap().to_string(),
        till["enrollment_code"].as_str().unwrap().to_string(),
    )
}

/// A free port on 127.0.0.1, so a restarted server listens where the till enrolled.
/// What head office holds of `till_id`: its record count and its sales total in cents.
async fn held_at_head_office(db: &str, till_id: &str) -> (u64, i64) {
    let store = open_store(db).await.expect("the store opens");
    let records = store.record_count(till_id).await.unwrap();
    let rows = store
        .sales(&SalesQuery {
            by: "shop".into(),
            ..SalesQuery::default()
        })
        .await
        .unwrap();
    (records, rows.iter().map(|r| r.amount_cents).sum())
}

/// Every record of every chain of `till`, enrollment and sync events included.
fn record_count(till: &Till) -> u64 {
    Chain::ALL
        .iter()
        .map(|c| till.chain_length(*c).unwrap())
        .sum()
}

/// Syncs until a pass succeeds (what the app's background loop does), at most `attempts`
/// times; the failures seen on the way.
fn sync_until_done(till: &mut Till, attempts: usize) -> Vec<String> {
    let mut failures = Vec::new();
    for _ in 0..attempts {
        match till.sync(|_, _, _| {}) {
            Ok(summary) if summary.waiting == 0 => return failures,
            Ok(summary) => failures.push(format!("records still waiting: {summary:?}")),
            Err(error) => failures.push(error.to_string()),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the sync never completed: {failures:?}");
}

async fn the_server_killed_mid_batch_restarts_and_the_sync_resumes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(backend, dir.path()).await else {
        return;
    };
    let (till_id, code) = set_up_shop(&db);
    // Four days offline: enough tickets for several batches of the ticket chain.
    let t = TestTill::new(&till_id, 31, 1800, 4, 5);
    let total = t.ticket_total_cents();
    let port = free_port();
    let server = ServerProcess::start(&db, port);
    let url = format!("http://127.0.0.1:{port}");
    let mut till = t.till;
    let db2 = db.clone();
    let (mut till, failures) = blocking(move || {
        till.enroll(&url, &code).expect("enrollment");
        // The server dies without warning while it ingests the second batch.
        let server = Arc::new(std::sync::Mutex::new(server));
        let killed = Arc::new(AtomicBool::new(false));
        let first = till.sync(|_, _, _| {
            if !killed.swap(true, Ordering::SeqCst) {
                let server = server.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    server.lock().unwrap().kill();
                });
            }
        });
        // Whichever way the cut pass ended (usually an error), nothing it did may count twice.
        let mut failures: Vec<String> = first.err().into_iter().map(|e| e.to_string()).collect();
        std::thread::sleep(Duration::from_millis(100));
        let restarted = ServerProcess::start(&db2, port);
        failures.extend(sync_until_done(&mut till, 20));
        drop(restarted);
        (till, failures)
    })
    .await;
    let again = blocking(move || {
        let restarted = ServerProcess::start(&db, port);
        let summary = till
            .sync(|_, _, _| {})
            .expect("a sync after everything is held");
        drop(restarted);
        (summary, db, record_count(&till))
    })
    .await;
    let (summary, db, records) = again;
    assert!(!failures.is_empty(), "the kill cut a sync pass short");
    assert_eq!(
        summary.chains.iter().map(|c| c.sent).sum::<u64>(),
        0,
        "nothing is sent twice: {summary:?} (failures on the way: {failures:?})"
    );
    assert_eq!(
        held_at_head_office(&db, &till_id).await,
        (records, total),
        "head office holds each record once and the till's totals"
    );
}

/// A TCP proxy to `target` that, `cuts` times, lets an upload reach the server and then cuts
/// the connection as the server's answer arrives: the server committed, the till never hears.
async fn cutting_proxy(target: String, cuts: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let left = Arc::new(AtomicUsize::new(cuts));
    let left2 = left.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let Ok(server) = TcpStream::connect(&target).await else {
                continue;
            };
            tokio::spawn(relay(client, server, left2.clone()));
        }
    });
    (address, left)
}

async fn relay(client: TcpStream, server: TcpStream, cuts_left: Arc<AtomicUsize>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let uploading = Arc::new(AtomicBool::new(false));
    let uploading2 = uploading.clone();
    let upstream = tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if buffer[..n].starts_with(b"POST /api/v1/tills/") {
                uploading2.store(true, Ordering::SeqCst);
            }
            if server_write.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match server_read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let cut = uploading.swap(false, Ordering::SeqCst)
            && cuts_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                .is_ok();
        if cut || client_write.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    upstream.abort();
}

async fn answers_cut_after_the_server_committed_are_retried_exactly_once(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let till_id = "PARIS-OPERA-7";
    let code = server.create_till(SHOP_A, till_id).await;
    let t = TestTill::new(till_id, 32, 900, 3, 6);
    let total = t.ticket_total_cents();
    let target = server.url.trim_start_matches("http://").to_string();
    let (proxy, cuts_left) = cutting_proxy(target, 4).await;
    let url = format!("http://{proxy}");
    let (t, failures) = blocking(move || {
        let mut t = t;
        t.till.enroll(&url, &code).expect("enrollment");
        let failures = sync_until_done(&mut t.till, 30);
        (t, failures)
    })
    .await;
    assert_eq!(
        cuts_left.load(Ordering::SeqCst),
        0,
        "every planned cut happened"
    );
    assert!(
        failures.len() >= 4,
        "the till saw the cut answers and retried: {failures:?}"
    );
    assert_eq!(
        server.store.record_count(till_id).await.unwrap(),
        t.record_count()
    );
    let events = server.feed_all().await;
    let ids: std::collections::BTreeSet<_> = events.iter().map(|e| e["id"].to_string()).collect();
    assert_eq!(ids.len(), events.len(), "no event twice");
    // The till's sync also uploads the customers it made: one customer event each.
    assert_eq!(
        facts(&events),
        t.fact_count() + t.till.customer_count().unwrap(),
        "the events of each record and customer, each once"
    );
    let (status, sales) = server
        .get("/api/v1/hq/sales?by=shop", Some(&server.admin_token))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{sales}");
    let head_office: pos_domain::Money = serde_json::from_value(sales["total"].clone()).unwrap();
    assert_eq!(
        head_office.cents(),
        total,
        "head office totals equal the till's"
    );
    server.stop().await;
}

/// The `till` binary built with this workspace (next to this test's own executable).
fn till_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let debug = deps.parent().and_then(Path::parent).unwrap();
    let binary = debug.join("till");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "pos-till", "--bin", "till"])
            .status()
            .expect("cargo builds the till binary");
        assert!(status.success(), "cargo build -p pos-till --bin till");
    }
    binary
}

async fn two_till_sync_processes_of_one_till_upload_each_record_once(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let till_id = "PARIS-OPERA-8";
    let code = server.create_till(SHOP_A, till_id).await;
    let t = TestTill::new(till_id, 33, 900, 3, 7);
    let total = t.ticket_total_cents();
    let (path, clock) = (t.path.clone(), t.clock.clone());
    let mut till = t.till;
    let url = server.url.clone();
    let till = blocking(move || {
        till.enroll(&url, &code).expect("enrollment");
        till
    })
    .await;
    drop(till);
    let binary = till_binary();
    let ledger = path.clone();
    let outputs = blocking(move || {
        let path = ledger;
        let children: Vec<Child> = (0..2)
            .map(|_| {
                Command::new(&binary)
                    .arg("--db")
                    .arg(&path)
                    .args(["--json", "sync"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("the till binary starts")
            })
            .collect();
        let outputs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let last = Command::new(&binary)
            .arg("--db")
            .arg(&path)
            .args(["--json", "sync"])
            .output()
            .unwrap();
        (outputs, last)
    })
    .await;
    let (outputs, last) = outputs;
    let mut finished = 0;
    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            finished += 1;
        } else {
            assert!(
                stderr.contains("sync"),
                "the other process is told a sync is running: {stderr}"
            );
        }
    }
    assert!(finished >= 1, "at least one process synced");
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let summary: Value = serde_json::from_slice(&last.stdout).unwrap();
    assert_eq!(summary["waiting"], 0, "{summary}");
    let records = record_count(&Till::open(&path, clock).unwrap());
    assert_eq!(server.store.record_count(till_id).await.unwrap(), records);
    let (status, sales) = server
        .get("/api/v1/hq/sales?by=shop", Some(&server.admin_token))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{sales}");
    let head_office: pos_domain::Money = serde_json::from_value(sales["total"].clone()).unwrap();
    assert_eq!(head_office.cents(), total, "no ticket counted twice");
    server.stop().await;
}

/// Waits (blocking) until the loop's status satisfies `done`.
fn wait_for(
    sync: &SyncLoop,
    what: &str,
    done: impl Fn(&pos_till::sync_loop::SyncLoopStatus) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = sync.status();
        if done(&status) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {status:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn the_background_loop_rides_out_an_outage_of_head_office(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(backend, dir.path()).await else {
        return;
    };
    let (till_id, code) = set_up_shop(&db);
    let t = TestTill::new(&till_id, 34, 60, 1, 8);
    let port = free_port();
    let db2 = db.clone();
    let (t, records) = blocking(move || {
        let mut t = t;
        let mut server = ServerProcess::start(&db2, port);
        t.till
            .enroll(&format!("http://127.0.0.1:{port}"), &code)
            .expect("enrollment");
        let options = SyncLoopOptions {
            every: Duration::from_millis(200),
            retry_min: Duration::from_millis(50),
            retry_max: Duration::from_millis(400),
        };
        let sync = SyncLoop::start(t.path.clone(), t.clock.clone(), options);
        wait_for(&sync, "the first pass uploads everything", |s| {
            s.online == Some(true) && s.waiting == Some(0)
        });
        // Head office goes away; the till keeps selling.
        server.kill();
        let sale = SaleRequest {
            lines: vec![SaleLineRequest {
                product_id: Some("ACC-CBL-CC1".into()),
                ..Default::default()
            }],
            tenders: vec![pos_domain::tender::Tender {
                kind: pos_domain::tender::TenderKind::Cash,
                amount: pos_domain::Money::from_cents(1490),
                reference: None,
                payment: None,
            }],
            ..Default::default()
        };
        t.till
            .sell(&sale)
            .expect("the till sells while head office is away");
        sync.sync_now();
        wait_for(&sync, "the loop sees head office offline", |s| {
            s.online == Some(false) && s.failures >= 2 && s.last_error.is_some()
        });
        let _restarted = ServerProcess::start(&db2, port);
        wait_for(&sync, "the loop catches up once head office is back", |s| {
            s.online == Some(true) && s.waiting == Some(0) && s.failures == 0
        });
        sync.stop();
        let records = record_count(&t.till);
        (t, records)
    })
    .await;
    assert_eq!(
        held_at_head_office(&db, &till_id).await,
        (records, t.ticket_total_cents()),
        "head office holds every record once, the sale made offline included"
    );
}
