//! The tills' archives at head office, on every backend, with a real till engine syncing over
//! HTTP: the archive of each closed month reaches head office by itself at the next sync,
//! verifies there with the till's enrolled key, is downloaded byte for byte by an auditor and
//! verifies offline with the check of `till archive verify`; a resend stores nothing; the
//! database refuses to change or delete an archive; and one byte altered in the stored
//! archive (past the trigger) is found by head office's verification, asked for or periodic,
//! and alarmed once.

mod support;

use pos_domain::record::sha256_hex;
use pos_till::archive::{archive_file_name, verify_archive};
use pos_till::demo::{self, DemoOptions};
use reqwest::StatusCode;
use serde_json::Value;
use support::*;

on_every_backend!(
    each_closed_month_is_archived_uploaded_once_and_verifies_offline,
    an_altered_stored_archive_is_found_and_alarmed,
    an_archive_a_pass_could_not_send_goes_at_a_later_pass,
    the_periodic_recheck_alarms_an_altered_archive_once,
);

const TILL: &str = "PARIS-OPERA-1";

/// A till of shop A, enrolled, that traded from 30 March to 2 April (the demo closes March on
/// its last day) and synced once, with nobody asking for an archive.
async fn till_past_a_month_end(server: &Server) -> TestTill {
    let till = trade_past_a_month_end(server).await;
    blocking(move || {
        let mut till = till;
        till.till
            .sync(|_, _, _| {})
            .expect("the sync pass succeeds");
        till
    })
    .await
}

/// [`till_past_a_month_end`] before its sync.
async fn trade_past_a_month_end(server: &Server) -> TestTill {
    let till = enrolled_till(server, SHOP_A, TILL, 7).await;
    blocking(move || {
        let mut till = till;
        // The demo's days end the day before the clock: 30 March to 2 April.
        till.clock.set("2026-04-03T06:00:00Z".parse().unwrap());
        let summary = demo::run(
            &mut till.till,
            &till.clock,
            &DemoOptions {
                tickets: 24,
                seed: 3,
                days: 4,
            },
        )
        .unwrap();
        assert_eq!(summary.month_closures, 1, "the demo closes March");
        till
    })
    .await
}

async fn archives(server: &Server, token: &str) -> Vec<Value> {
    let (status, list) = server.get("/api/v1/hq/archives", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn download(server: &Server, id: i64) -> Vec<u8> {
    let response = server
        .http
        .get(format!("{}/api/v1/hq/archives/{id}", server.url))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap().to_vec()
}

/// Runs `sql` on the server's database, answering whether the database accepted it.
async fn execute(server: &Server, sql: &str, content: Option<(&[u8], i64)>) -> bool {
    if let Some(path) = server.db_url.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).unwrap();
        match content {
            Some((bytes, id)) => conn.execute(sql, rusqlite::params![bytes, id]).is_ok(),
            None => conn.execute_batch(sql).is_ok(),
        }
    } else {
        let (client, connection) = tokio_postgres::connect(&server.db_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let sql = sql.replace("?1", "$1").replace("?2", "$2");
        match content {
            Some((bytes, id)) => client.execute(&sql, &[&bytes, &id]).await.is_ok(),
            None => client.batch_execute(&sql).await.is_ok(),
        }
    }
}

async fn each_closed_month_is_archived_uploaded_once_and_verifies_offline(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let till = till_past_a_month_end(&server).await;

    let listed = archives(&server, &server.admin_token).await;
    assert_eq!(
        listed.len(),
        1,
        "the closed month's archive is at head office after one sync, unasked: {listed:?}"
    );
    let archive = &listed[0];
    assert_eq!(archive["till_id"], TILL);
    assert_eq!(archive["shop_id"], SHOP_A);
    assert_eq!(
        (archive["from"].as_str(), archive["to"].as_str()),
        (Some("2026-03-01"), Some("2026-03-31")),
        "the archive covers the closed month"
    );
    assert_eq!(
        archive["intact"], true,
        "the archive verified on arrival with the till's enrolled key: {archive}"
    );

    // The auditor's copy is the till's file byte for byte, and verifies on its own.
    let bytes = download(&server, archive["id"].as_i64().unwrap()).await;
    let from = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let to = chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let local = std::fs::read(till.till.archives_dir().join(archive_file_name(from, to))).unwrap();
    assert_eq!(
        sha256_hex(&bytes),
        sha256_hex(&local),
        "head office hands out the archive exactly as the till made it"
    );
    assert_eq!(archive["sha256"], sha256_hex(&local));
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("downloaded.json");
    std::fs::write(&copy, &bytes).unwrap();
    let check = verify_archive(&copy).unwrap();
    assert!(
        check.intact && check.records > 0,
        "the downloaded archive verifies offline with nothing but the file: {check:?}"
    );

    // A second pass sends nothing new; a resend by hand is a no-op.
    let till = blocking(move || {
        let mut till = till;
        till.till.sync(|_, _, _| {}).unwrap();
        till
    })
    .await;
    assert_eq!(
        archives(&server, &server.admin_token).await.len(),
        1,
        "an archive is stored once, however often the till syncs"
    );
    let token = {
        let conn = rusqlite::Connection::open(&till.path).unwrap();
        conn.query_row("SELECT token FROM sync_server", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap()
    };
    let (status, receipt) = server
        .post_raw(
            &format!("/api/v1/tills/{TILL}/archives"),
            Some(&token),
            Some("application/json"),
            local.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(
        receipt["already_held"], true,
        "a resent archive stores nothing: {receipt}"
    );

    // Auditors only, and nothing deletes or changes an archive.
    let (status, _) = server
        .get("/api/v1/hq/archives", Some(&server.manager_token))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a shop manager is not an auditor: archives are for admins and accountants"
    );
    for sql in [
        "DELETE FROM till_archives",
        "UPDATE till_archives SET period_to = period_from",
        "DELETE FROM archive_checks",
    ] {
        assert!(
            !execute(&server, sql, None).await,
            "the database itself refuses `{sql}`: archives are kept unchanged"
        );
    }
    assert_eq!(archives(&server, &server.admin_token).await.len(), 1);
    server.stop().await;
}

async fn an_altered_stored_archive_is_found_and_alarmed(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let _till = till_past_a_month_end(&server).await;
    let listed = archives(&server, &server.admin_token).await;
    let id = listed[0]["id"].as_i64().unwrap();
    let (status, first) = server
        .post_json(
            "/api/v1/hq/archives/verify",
            Some(&server.admin_token),
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first[0]["intact"], true,
        "an untouched archive verifies again: {first}"
    );

    // One byte altered in the stored archive, by someone who can drop the trigger.
    let mut bytes = download(&server, id).await;
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    let drop_trigger = if server.db_url.starts_with("sqlite:") {
        "DROP TRIGGER till_archives_no_update"
    } else {
        "DROP TRIGGER till_archives_append_only ON till_archives"
    };
    assert!(execute(&server, drop_trigger, None).await);
    assert!(
        execute(
            &server,
            "UPDATE till_archives SET content = ?1 WHERE id = ?2",
            Some((&bytes, id))
        )
        .await,
        "the test alters the stored archive"
    );

    let (status, rechecked) = server
        .post_json(
            "/api/v1/hq/archives/verify",
            Some(&server.admin_token),
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rechecked}");
    assert_eq!(
        (&rechecked[0]["intact"], &rechecked[0]["alarm_raised"]),
        (&Value::Bool(false), &Value::Bool(true)),
        "head office's verification finds the altered byte and raises an alarm: {rechecked}"
    );
    let (_, alarms) = server
        .get("/api/v1/hq/alarms", Some(&server.admin_token))
        .await;
    let alarmed: Vec<&Value> = alarms
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "archive_unverified")
        .collect();
    assert_eq!(
        alarmed.len(),
        1,
        "one alarm names the altered archive: {alarms}"
    );
    assert_eq!(alarmed[0]["till_id"], TILL);
    assert_eq!(alarmed[0]["seq"], id);
    assert_eq!(
        archives(&server, &server.admin_token).await[0]["intact"],
        false,
        "the list shows the archive's latest verification"
    );

    // Found again, the same altered bytes raise no second alarm.
    let (_, again) = server
        .post_json(
            "/api/v1/hq/archives/verify",
            Some(&server.admin_token),
            &Value::Null,
        )
        .await;
    assert_eq!(again[0]["alarm_raised"], false, "{again}");
    server.stop().await;
}

async fn an_archive_a_pass_could_not_send_goes_at_a_later_pass(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let till = trade_past_a_month_end(&server).await;
    let dir = till.till.archives_dir();
    let moved = dir.with_file_name("archives-aside");
    // The file is out of reach during the first pass (a disk not mounted yet).
    std::fs::rename(&dir, &moved).unwrap();
    let till = blocking(move || {
        let mut till = till;
        till.till
            .sync(|_, _, _| {})
            .expect("the records still sync");
        till
    })
    .await;
    let listed = archives(&server, &server.admin_token).await;
    assert!(
        listed.is_empty(),
        "no archive reached head office in that pass: {listed:?}"
    );
    std::fs::rename(&moved, &dir).unwrap();
    let _till = blocking(move || {
        let mut till = till;
        till.till.sync(|_, _, _| {}).unwrap();
        till
    })
    .await;
    let listed = archives(&server, &server.admin_token).await;
    assert_eq!(
        listed.len(),
        1,
        "an archive is marked sent only once head office holds it, so the next pass sends it: {listed:?}"
    );
    assert_eq!(listed[0]["intact"], true);
    server.stop().await;
}

/// The periodic re-check `serve` runs (under its job's lead) finds one byte altered in a
/// stored archive nobody asked about, and raises exactly one alarm however many rounds see it.
async fn the_periodic_recheck_alarms_an_altered_archive_once(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let _till = till_past_a_month_end(&server).await;
    let id = archives(&server, &server.admin_token).await[0]["id"]
        .as_i64()
        .unwrap();
    let mut bytes = download(&server, id).await;
    let at = bytes.len() / 3;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    let drop_trigger = if server.db_url.starts_with("sqlite:") {
        "DROP TRIGGER till_archives_no_update"
    } else {
        "DROP TRIGGER till_archives_append_only ON till_archives"
    };
    assert!(execute(&server, drop_trigger, None).await);
    assert!(
        execute(
            &server,
            "UPDATE till_archives SET content = ?1 WHERE id = ?2",
            Some((&bytes, id))
        )
        .await,
        "the test alters the stored archive"
    );

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let job = tokio::spawn(sync_server::archives_api::recheck_periodically(
        server.store.clone(),
        std::time::Duration::from_millis(100),
        stopped,
    ));
    // Several rounds: each checks the archive again; the alarm is raised once.
    let mut checks = 0;
    for _ in 0..300 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        checks = archive_check_count(&server, id).await;
        if checks >= 4 {
            break;
        }
    }
    stop.send(true).unwrap();
    job.await.unwrap();
    assert!(
        checks >= 4,
        "the periodic job verifies the stored archive again at each round (arrival + 3): {checks}"
    );
    let (_, alarms) = server
        .get("/api/v1/hq/alarms", Some(&server.admin_token))
        .await;
    let alarmed: Vec<&Value> = alarms
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "archive_unverified")
        .collect();
    assert_eq!(
        alarmed.len(),
        1,
        "the periodic re-check raises exactly one alarm for one altered archive: {alarms}"
    );
    assert_eq!(alarmed[0]["seq"], id);
    assert_eq!(
        archives(&server, &server.admin_token).await[0]["intact"],
        false,
        "the list shows the failed re-check"
    );
    server.stop().await;
}

/// How many verifications of archive `id` head office recorded.
async fn archive_check_count(server: &Server, id: i64) -> i64 {
    if let Some(path) = server.db_url.strip_prefix("sqlite:") {
        let path = path.to_string();
        return blocking(move || {
            rusqlite::Connection::open(path)
                .unwrap()
                .query_row(
                    "SELECT count(*) FROM archive_checks WHERE archive_id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .unwrap()
        })
        .await;
    }
    let (client, connection) = tokio_postgres::connect(&server.db_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .query_one(
            "SELECT count(*) FROM archive_checks WHERE archive_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
}
