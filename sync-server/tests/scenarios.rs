//! Scenario tests of the sync server over real HTTP, with real signed ledgers from the till
//! engine, run against every storage backend: each scenario below exists once per backend
//! (`sqlite::...` and `postgres::...`).

mod support;

use pos_domain::record::{Chain, SignedRecord, Signer, canonical_bytes, sha256_hex};
use pos_domain::wire::{ChainBatch, ChainOutcome, WireRecord};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::ServerConfig;

on_every_backend!(
    enroll_upload_and_resend_are_exactly_once,
    enrollment_codes_are_one_time_and_checked,
    a_fork_is_refused_alarmed_and_never_stored,
    an_altered_record_is_rejected_and_alarmed,
    a_forged_signature_in_a_catch_up_is_judged_record_by_record,
    a_gap_is_answered_with_the_expected_sequence,
    tokens_are_checked_401_and_403,
    bad_bodies_are_refused_and_store_nothing,
    rollups_equal_the_tills_totals,
    admin_commands_create_and_list,
    concurrent_uploads_of_one_till_store_each_record_once,
    data_survives_a_restart,
    the_feed_pages_with_a_cursor,
    an_unreadable_ticket_is_stored_and_alarmed,
    a_lost_answer_then_a_retry_stores_each_record_once,
    feed_consumers_resume_from_their_acknowledged_cursor,
    held_records_and_alarms_cannot_be_changed_even_with_sql,
    a_till_enrolls_again_with_its_key_only,
    head_office_users_log_in_with_a_password,
);

const TILL_A: &str = "PARIS-OPERA-1";
const TILL_B: &str = "LYON-BELLECOUR-1";

/// A server with till A enrolled, its ledger holding `tickets` demo tickets.
async fn with_till(backend: Backend, tickets: u64) -> Option<(Server, TestTill, String)> {
    let server = Server::start(backend).await?;
    let code = server.create_till(SHOP_A, TILL_A).await;
    let till = TestTill::new(TILL_A, 11, tickets, 3, 7);
    let enrolled = server.enroll(&code, &till).await;
    assert_eq!(enrolled.till_id, TILL_A);
    assert_eq!(enrolled.shop_id, SHOP_A);
    Some((server, till, enrolled.token))
}

async fn upload_everything(server: &Server, till: &TestTill, token: &str, size: usize) {
    for chains in till.batches(size) {
        let answer = server.upload(token, TILL_A, chains.clone()).await;
        for (ack, sent) in answer.chains.iter().zip(&chains) {
            assert_eq!(
                ack.outcome,
                ChainOutcome::Ok,
                "a genuine ledger is accepted: {ack:?}"
            );
            assert_eq!(
                ack.held,
                sent.records.last().unwrap().seq,
                "the server acknowledges up to the last record sent"
            );
        }
    }
}

async fn enroll_upload_and_resend_are_exactly_once(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 60).await else {
        return;
    };
    let total = till.record_count();
    assert!(total > 60, "the demo ledger has tickets and other records");
    upload_everything(&server, &till, &token, 25).await;
    assert_eq!(server.store.record_count(TILL_A).await.unwrap(), total);

    // The same uploads again (a retry after a lost answer): no-ops.
    for chains in till.batches(25) {
        let sent: u64 = chains.iter().map(|c| c.records.len() as u64).sum();
        let answer = server.upload(&token, TILL_A, chains).await;
        let duplicates: u64 = answer.chains.iter().map(|c| c.duplicates).sum();
        let stored: u64 = answer.chains.iter().map(|c| c.stored).sum();
        assert_eq!(
            (stored, duplicates),
            (0, sent),
            "a resend stores nothing: {answer:?}"
        );
    }
    // One upload overlapping held and new records cannot exist here; an empty batch asks
    // where the server stands.
    let answer = server
        .upload(
            &token,
            TILL_A,
            vec![ChainBatch {
                chain: Chain::Ticket,
                records: vec![],
            }],
        )
        .await;
    assert_eq!(
        answer.chains[0].held,
        till.till.chain_length(Chain::Ticket).unwrap()
    );
    assert_eq!(
        server.store.record_count(TILL_A).await.unwrap(),
        total,
        "resends never duplicate a record"
    );

    let events = server.feed_all().await;
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(
        facts(&events),
        till.fact_count(),
        "one outbox event per accepted record and per posted day entry"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
    let first = &events[0];
    assert_eq!(first["specversion"], "1.0", "events are CloudEvents 1.0");
    for field in ["id", "source", "type", "time", "subject", "data"] {
        assert!(
            first.get(field).is_some(),
            "CloudEvents field {field} present"
        );
    }

    // The till says its clock is two minutes ahead.
    let ahead = chrono::Utc::now() + chrono::Duration::minutes(2);
    let (status, _) = server
        .post_json(
            &format!("/api/v1/tills/{TILL_A}/records"),
            Some(&token),
            &json!({"protocol": "1.0", "chains": [], "sent_at": pos_domain::record::timestamp::format(&ahead)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, fleet) = server
        .get("/api/v1/hq/fleet", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let skew = fleet[0]["clock_skew_ms"]
        .as_i64()
        .expect("fleet shows the clock skew");
    assert!(
        (110_000..=125_000).contains(&skew),
        "skew {skew} ms is about two minutes"
    );
    assert!(
        fleet[0]["software"]
            .as_str()
            .unwrap()
            .starts_with("pos-till "),
        "fleet shows the software of the newest record: {}",
        fleet[0]["software"]
    );
    let a = fleet
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["till_id"] == TILL_A)
        .unwrap();
    assert_eq!(
        a["records_held"].as_u64().unwrap(),
        total,
        "fleet shows records held"
    );
    assert_eq!(a["alarms"], 0);
    assert!(
        a["last_contact_at"].is_string(),
        "fleet shows the last contact"
    );
    server.stop().await;
}

async fn enrollment_codes_are_one_time_and_checked(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let code = server.create_till(SHOP_A, TILL_A).await;
    let till = TestTill::new(TILL_A, 11, 0, 1, 1);
    let request = |code: &str, protocol: &str, key: String| json!({"protocol": protocol, "code": code, "public_key": key, "software": "t"});
    let key = till.till.public_key().to_string();

    let (status, body) = server
        .post_json(
            "/api/v1/enroll",
            None,
            &request("AAAA-BBBB-CCCC", "1.0", key.clone()),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an unknown code is refused"
    );
    assert_eq!(body["code"], "enrollment_code_invalid");

    let (status, body) = server
        .post_json("/api/v1/enroll", None, &request(&code, "2.0", key.clone()))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an unknown major version is refused"
    );
    assert_eq!(body["code"], "protocol_unsupported");

    let (status, body) = server
        .post_json(
            "/api/v1/enroll",
            None,
            &request(&code, "1.0", "04zz".into()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "public_key_invalid");

    // A newer minor version of the same major is accepted; the code typed in lower case too.
    let (status, body) = server
        .post_json(
            "/api/v1/enroll",
            None,
            &request(&code.to_lowercase(), "1.7", key.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["capabilities"]["supported_majors"], json!([1]));
    assert_eq!(body["token"].as_str().unwrap().len(), 64);

    let (status, body) = server
        .post_json("/api/v1/enroll", None, &request(&code, "1.0", key))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a code is good for one enrollment only"
    );
    assert_eq!(body["code"], "enrollment_code_invalid");

    let tills = server.store.tills().await.unwrap();
    let stored = tills.iter().find(|t| t.id == TILL_A).unwrap();
    assert!(stored.enrolled);
    assert_eq!(
        stored.public_key.as_deref(),
        Some(till.till.public_key().to_string().as_str())
    );
    server.stop().await;
}

async fn a_fork_is_refused_alarmed_and_never_stored(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 20).await else {
        return;
    };
    upload_everything(&server, &till, &token, 100).await;
    let held_before = server.store.record_count(TILL_A).await.unwrap();

    // The same till (same id and key) restored from an old copy and selling again: its ticket
    // chain diverges from what the server holds.
    let other = TestTill::new(TILL_A, 11, 20, 3, 99);
    let forked = other.records(Chain::Ticket);
    let held = till.records(Chain::Ticket);
    let seq = held
        .iter()
        .zip(&forked)
        .find(|(a, b)| a.stored != b.stored)
        .map(|(a, _)| a.record.seq)
        .expect("two seeds give different tickets");
    let fork = forked[seq as usize - 1].clone();
    for _ in 0..2 {
        let answer = server
            .upload(
                &token,
                TILL_A,
                vec![batch(Chain::Ticket, std::slice::from_ref(&fork))],
            )
            .await;
        let ack = &answer.chains[0];
        assert!(
            matches!(ack.outcome, ChainOutcome::Fork { seq: s, .. } if s == seq),
            "a different record under a held sequence is a fork: {ack:?}"
        );
        assert_eq!(ack.held, held.len() as u64, "the held chain is unchanged");
    }
    assert_eq!(
        server.store.record_count(TILL_A).await.unwrap(),
        held_before,
        "a fork is never stored"
    );
    let (status, alarms) = server
        .get("/api/v1/hq/alarms", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let alarms = alarms.as_array().unwrap();
    assert_eq!(
        alarms.len(),
        1,
        "the same fork sent twice raises one alarm: {alarms:?}"
    );
    assert_eq!(alarms[0]["kind"], "fork");
    assert_eq!(alarms[0]["seq"].as_u64(), Some(seq));
    let events = server.feed_all().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "pos.alarm.raised")
            .count(),
        1,
        "the alarm is in the outbox once"
    );
    // The held record is still the original, byte for byte.
    let (_, fleet) = server
        .get("/api/v1/hq/fleet", Some(&server.admin_token))
        .await;
    assert_eq!(fleet[0]["alarms"], 1, "fleet status shows the alarm");
    server.stop().await;
}

/// `record` with its operator changed and its original signature kept.
fn altered(record: &SignedRecord) -> WireRecord {
    let mut value: Value = serde_json::from_slice(&record.stored).unwrap();
    value["operator"] = json!("mallory");
    let bytes = canonical_bytes(&value).unwrap();
    WireRecord {
        seq: record.record.seq,
        stored: String::from_utf8(bytes).unwrap(),
    }
}

/// The kinds of the alarms head office shows, oldest first.
async fn alarm_kinds(server: &Server) -> Vec<String> {
    let (_, alarms) = server
        .get("/api/v1/hq/alarms", Some(&server.admin_token))
        .await;
    alarms
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn an_altered_record_is_rejected_and_alarmed(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 20).await else {
        return;
    };
    let tickets = till.records(Chain::Ticket);
    let mut records: Vec<WireRecord> = tickets.iter().map(wire).collect();
    records[5] = altered(&tickets[5]);
    let answer = server
        .upload(
            &token,
            TILL_A,
            vec![ChainBatch {
                chain: Chain::Ticket,
                records,
            }],
        )
        .await;
    let ack = &answer.chains[0];
    assert!(
        matches!(&ack.outcome, ChainOutcome::Rejected { seq: 6, reason } if reason.contains("signature")),
        "an altered record is rejected for its signature: {ack:?}"
    );
    assert_eq!(
        (ack.held, ack.stored),
        (5, 5),
        "the records before it are stored"
    );
    assert_eq!(server.store.record_count(TILL_A).await.unwrap(), 5);

    // Altering a record the server already holds: refused, alarmed, the original kept.
    let answer = server
        .upload(
            &token,
            TILL_A,
            vec![ChainBatch {
                chain: Chain::Ticket,
                records: vec![altered(&tickets[2])],
            }],
        )
        .await;
    assert!(matches!(
        answer.chains[0].outcome,
        ChainOutcome::Fork { seq: 3, .. }
    ));
    let kinds = alarm_kinds(&server).await;
    assert_eq!(
        kinds,
        ["invalid_record", "altered_record"],
        "both are alarmed"
    );

    // The genuine record then goes through.
    let answer = server
        .upload(&token, TILL_A, vec![batch(Chain::Ticket, &tickets[5..])])
        .await;
    assert_eq!(answer.chains[0].outcome, ChainOutcome::Ok);
    assert_eq!(answer.chains[0].held, tickets.len() as u64);
    server.stop().await;
}

/// A catch-up's signatures are checked beside its writes; one that fails undoes them all and
/// the upload is judged again record by record: the same answer, records and alarms as when
/// each signature is checked first.
async fn a_forged_signature_in_a_catch_up_is_judged_record_by_record(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 100).await else {
        return;
    };
    let tickets = till.records(Chain::Ticket);
    assert!(
        tickets.len() >= 100,
        "a catch-up large enough to be checked beside its writes"
    );
    let mut records: Vec<WireRecord> = tickets.iter().map(wire).collect();
    // The content kept, the signature changed: only the signature check can tell.
    let mut value: Value = serde_json::from_slice(&tickets[80].stored).unwrap();
    let signature = value["signature"].as_str().unwrap().to_string();
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    value["signature"] = json!(format!("{flipped}{}", &signature[1..]));
    records[80].stored = String::from_utf8(canonical_bytes(&value).unwrap()).unwrap();
    let answer = server
        .upload(
            &token,
            TILL_A,
            vec![ChainBatch {
                chain: Chain::Ticket,
                records,
            }],
        )
        .await;
    let ack = &answer.chains[0];
    assert!(
        matches!(&ack.outcome, ChainOutcome::Rejected { seq: 81, reason } if reason.contains("signature")),
        "rejected at the forged record, for its signature, not at the next one's link: {ack:?}"
    );
    assert_eq!(
        (ack.held, ack.stored),
        (80, 80),
        "the records before it are stored"
    );
    assert_eq!(server.store.record_count(TILL_A).await.unwrap(), 80);
    let kinds = alarm_kinds(&server).await;
    assert_eq!(
        kinds,
        ["invalid_record"],
        "one alarm, nothing of the undone writes"
    );
    let events = server.feed_all().await;
    let records_accepted = events
        .iter()
        .filter(|e| e["type"] == "pos.record.ticket.accepted")
        .count();
    assert_eq!(
        records_accepted, 80,
        "one event per record stored, none undone"
    );

    // The genuine records then go through.
    let answer = server
        .upload(&token, TILL_A, vec![batch(Chain::Ticket, &tickets[80..])])
        .await;
    assert_eq!(answer.chains[0].outcome, ChainOutcome::Ok);
    assert_eq!(answer.chains[0].held, tickets.len() as u64);
    server.stop().await;
}

async fn a_gap_is_answered_with_the_expected_sequence(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 20).await else {
        return;
    };
    let tickets = till.records(Chain::Ticket);
    server
        .upload(&token, TILL_A, vec![batch(Chain::Ticket, &tickets[..4])])
        .await;
    let answer = server
        .upload(&token, TILL_A, vec![batch(Chain::Ticket, &tickets[8..])])
        .await;
    assert_eq!(
        answer.chains[0].outcome,
        ChainOutcome::Gap { expected: 5 },
        "the till is told to resend from sequence 5"
    );
    assert_eq!(answer.chains[0].held, 4);
    assert_eq!(
        server.store.record_count(TILL_A).await.unwrap(),
        4,
        "nothing after a gap is stored"
    );
    let answer = server
        .upload(&token, TILL_A, vec![batch(Chain::Ticket, &tickets[4..])])
        .await;
    assert_eq!(answer.chains[0].outcome, ChainOutcome::Ok);
    let (_, alarms) = server
        .get("/api/v1/hq/alarms", Some(&server.admin_token))
        .await;
    assert_eq!(alarms, json!([]), "a gap is not an alarm");
    server.stop().await;
}

async fn tokens_are_checked_401_and_403(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 5).await else {
        return;
    };
    let code_b = server.create_till(SHOP_B, TILL_B).await;
    let till_b = TestTill::new(TILL_B, 12, 5, 1, 3);
    let token_b = server.enroll(&code_b, &till_b).await.token;
    let body = json!({"protocol": "1.0", "chains": [serde_json::to_value(batch(Chain::Ticket, &till.records(Chain::Ticket))).unwrap()]});
    let path_a = format!("/api/v1/tills/{TILL_A}/records");

    let (status, answer) = server.post_json(&path_a, None, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token: 401");
    assert_eq!(answer["code"], "unauthenticated");
    let (status, _) = server.post_json(&path_a, Some("not-a-token"), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "unknown token: 401");
    let (status, answer) = server.post_json(&path_a, Some(&token_b), &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another till's token: 403");
    assert_eq!(answer["code"], "forbidden");
    let (status, _) = server
        .post_json(&path_a, Some(&server.admin_token), &body)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a user cannot upload records: 403"
    );
    assert_eq!(
        server.store.record_count(TILL_A).await.unwrap(),
        0,
        "nothing stored"
    );

    let (status, _) = server
        .get(&format!("/api/v1/shops/{SHOP_B}/tills"), Some(&token))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a till reading another shop's data: 403"
    );
    let (status, tills) = server
        .get(&format!("/api/v1/shops/{SHOP_A}/tills"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "a till reads its own shop");
    assert_eq!(tills[0]["id"], TILL_A);

    let (status, _) = server.get("/api/v1/hq/sales?by=shop", Some(&token)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "tills have no head-office access"
    );
    let (status, _) = server.get("/api/v1/hq/sales?by=shop", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server
        .get(
            &format!("/api/v1/hq/sales?by=day&shop={SHOP_B}"),
            Some(&server.manager_token),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a shop manager cannot see another shop"
    );
    let (status, _) = server
        .get("/api/v1/feed", Some(&server.manager_token))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a shop manager cannot read the whole feed"
    );
    server.stop().await;
}

/// A bad body: what it is, its content type, bytes, expected status and error code.
type BadBody = (
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    StatusCode,
    &'static str,
);

async fn bad_bodies_are_refused_and_store_nothing(backend: Backend) {
    let config = ServerConfig {
        max_body_bytes: 64 * 1024,
        max_records_per_upload: 10,
        ..ServerConfig::default()
    };
    let Some(server) = Server::start_with(backend, config).await else {
        return;
    };
    let code = server.create_till(SHOP_A, TILL_A).await;
    let till = TestTill::new(TILL_A, 11, 20, 1, 7);
    let token = server.enroll(&code, &till).await.token;
    let path = format!("/api/v1/tills/{TILL_A}/records");
    let tickets = till.records(Chain::Ticket);
    let json = Some("application/json");

    let cases: Vec<BadBody> = vec![
        ("not JSON", json, b"{\"protocol\": \"1.0\", \"chains\": [".to_vec(), StatusCode::BAD_REQUEST, "json_malformed"),
        ("wrong type", json, br#"{"protocol": "1.0", "chains": [{"chain": "ticket", "records": [{"seq": "one", "stored": "x"}]}]}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "json_invalid"),
        ("unknown chain", json, br#"{"protocol": "1.0", "chains": [{"chain": "nope", "records": []}]}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "json_invalid"),
        ("missing field", json, br#"{"chains": []}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "json_invalid"),
        ("no content type", None, br#"{"protocol": "1.0", "chains": []}"#.to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_type"),
        ("oversized", json, {
            let mut big = br#"{"protocol": "1.0", "chains": [], "pad": ""#.to_vec();
            big.extend(std::iter::repeat_n(b'x', 100 * 1024));
            big.extend(b"\"}");
            big
        }, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        ("unknown major", json, serde_json::to_vec(&json!({"protocol": "2.0", "chains": [batch(Chain::Ticket, &tickets[..2])]})).unwrap(), StatusCode::BAD_REQUEST, "protocol_unsupported"),
        ("chain twice", json, serde_json::to_vec(&json!({"protocol": "1.0", "chains": [batch(Chain::Ticket, &tickets[..1]), batch(Chain::Ticket, &tickets[1..2])]})).unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "batch_invalid"),
        ("too many records", json, serde_json::to_vec(&json!({"protocol": "1.0", "chains": [batch(Chain::Ticket, &tickets[..11])]})).unwrap(), StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large"),
    ];
    for (name, content_type, body, status, code) in cases {
        let (got, answer) = server
            .post_raw(&path, Some(&token), content_type, body)
            .await;
        assert_eq!(got, status, "{name}: status ({answer})");
        assert_eq!(
            answer["code"], code,
            "{name}: a stable machine code ({answer})"
        );
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}: a message saying what to do"
        );
    }
    assert_eq!(
        server.store.record_count(TILL_A).await.unwrap(),
        0,
        "nothing was stored"
    );
    assert!(
        server.feed_all().await.is_empty(),
        "nothing reached the outbox"
    );
    let (status, answer) = server.get("/api/v1/nowhere", None).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, answer) = server
        .get("/api/v1/hq/sales?by=colour", Some(&server.admin_token))
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("query_invalid"))
    );
    server.stop().await;
}

async fn rollups_equal_the_tills_totals(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 80).await else {
        return;
    };
    let code_b = server.create_till(SHOP_B, TILL_B).await;
    let till_b = TestTill::new(TILL_B, 12, 40, 2, 5);
    let token_b = server.enroll(&code_b, &till_b).await.token;
    upload_everything(&server, &till, &token, 30).await;
    for chains in till_b.batches(30) {
        server.upload(&token_b, TILL_B, chains).await;
    }
    let expected_a = till.ticket_total_cents();
    let expected_b = till_b.ticket_total_cents();
    let cents = |v: &Value| -> i64 {
        let money: pos_domain::Money = serde_json::from_value(v.clone()).unwrap();
        money.cents()
    };
    for by in ["shop", "day", "product", "category", "seller", "tender"] {
        let (status, answer) = server
            .get(
                &format!("/api/v1/hq/sales?by={by}"),
                Some(&server.admin_token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let sum: i64 = answer["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| cents(&r["amount"]))
            .sum();
        assert_eq!(
            sum,
            expected_a + expected_b,
            "sales by {by} add up to the sum of every ticket of every till"
        );
        assert_eq!(cents(&answer["total"]), sum);
    }
    let (_, by_shop) = server
        .get("/api/v1/hq/sales?by=shop", Some(&server.admin_token))
        .await;
    let shop_a = by_shop["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == SHOP_A)
        .unwrap();
    assert_eq!(
        cents(&shop_a["amount"]),
        expected_a,
        "shop A's sales equal its till's tickets"
    );
    assert_eq!(
        shop_a["tickets"].as_u64().unwrap(),
        till.till.chain_length(Chain::Ticket).unwrap(),
        "every ticket is counted once"
    );
    // One shop's figures by any dimension add up to its till's tickets.
    for by in ["product", "tender", "day"] {
        let (_, answer) = server
            .get(
                &format!("/api/v1/hq/sales?by={by}&shop={SHOP_B}"),
                Some(&server.admin_token),
            )
            .await;
        assert_eq!(cents(&answer["total"]), expected_b, "shop B by {by}");
    }
    // A shop manager sees only their shop, whatever they ask.
    let (status, mine) = server
        .get("/api/v1/hq/sales?by=shop", Some(&server.manager_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["rows"].as_array().unwrap().len(), 1);
    assert_eq!(mine["rows"][0]["key"], SHOP_A);
    // Resending everything changes no total.
    for chains in till.batches(30) {
        server.upload(&token, TILL_A, chains).await;
    }
    let (_, again) = server
        .get("/api/v1/hq/sales?by=shop", Some(&server.admin_token))
        .await;
    assert_eq!(
        again, by_shop,
        "an idempotent resend leaves the rollups unchanged"
    );
    // Day filters: one day only.
    let (_, days) = server
        .get("/api/v1/hq/sales?by=day", Some(&server.admin_token))
        .await;
    let first_day = days["rows"][0]["key"].as_str().unwrap().to_string();
    let (_, one) = server
        .get(
            &format!("/api/v1/hq/sales?by=shop&from={first_day}&to={first_day}"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(one["total"], days["rows"][0]["amount"]);
    server.stop().await;
}

#[test]
fn stored_hash_is_sha256_of_stored_bytes() {
    // The outbox and fork detection rely on the record hash being the SHA-256 of the stored
    // bytes, as the domain defines it.
    let till = TestTill::new(TILL_A, 11, 1, 1, 1);
    let record = &till.records(Chain::Ticket)[0];
    assert_eq!(record.hash(), sha256_hex(&record.stored));
}

async fn admin_commands_create_and_list(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_database(backend, dir.path()).await else {
        return;
    };
    let db2 = db.clone();
    let (entity, shop, till, user, tills) = tokio::task::spawn_blocking(move || {
        let db = db2.as_str();
        let entity = sync_server_json(
            db,
            &[
                "admin",
                "entity",
                "create",
                "--name",
                "Acme Télécom",
                "--siren",
                "123456789",
                "--fiscal-year-start",
                "4",
            ],
        );
        let shop = sync_server_json(
            db,
            &[
                "admin",
                "shop",
                "create",
                "--entity",
                "ACME-TELECOM",
                "--name",
                "Paris Opéra",
                "--territory",
                "corsica",
                "--timezone",
                "Europe/Paris",
                "--address",
                "1 place de l'Opéra",
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
        let user = sync_server_json(
            db,
            &[
                "admin",
                "user",
                "create",
                "--name",
                "Max",
                "--role",
                "shop_manager",
                "--shop",
                "PARIS-OPERA",
            ],
        );
        let tills = sync_server_json(db, &["admin", "till", "list"]);
        (entity, shop, till, user, tills)
    })
    .await
    .unwrap();
    assert_eq!(entity["id"], "ACME-TELECOM");
    assert_eq!(entity["fiscal_year_start_month"], 4);
    assert_eq!(shop["id"], "PARIS-OPERA");
    assert_eq!(shop["territory"], "corsica");
    assert_eq!(till["till_id"], "PARIS-OPERA-CAISSE-1");
    let first_code = till["enrollment_code"].as_str().unwrap().to_string();
    assert_eq!(first_code.len(), 14, "a short code to type at the till");
    // A new code replaces the first one.
    let db2 = db.clone();
    let reissued = tokio::task::spawn_blocking(move || {
        sync_server_json(
            &db2,
            &["admin", "till", "code", "--id", "PARIS-OPERA-CAISSE-1"],
        )
    })
    .await
    .unwrap();
    let code = reissued["enrollment_code"].as_str().unwrap().to_string();
    assert_ne!(code, first_code);
    assert!(till["expires_at"].is_string(), "the code expires");
    assert_eq!(user["role"], "shop_manager");
    assert_eq!(user["token"].as_str().unwrap().len(), 64);
    assert_eq!(tills[0]["enrolled"], false);

    // Bad input is refused with a message, and nothing is created.
    let db2 = db.clone();
    let refused = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args([
                "--db", &db2, "--json", "admin", "entity", "create", "--name", "X", "--siren", "12",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!refused.status.success(), "a 2-digit SIREN is refused");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let error: Value = serde_json::from_str(stderr.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the last stderr line is a JSON error ({e}): {stderr}"));
    assert!(error["message"].as_str().unwrap().contains("9 digits"));

    // The code printed by the command enrolls a till over HTTP.
    let store = sync_server::open_store(&db).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = sync_server::AppState {
        store,
        config: ServerConfig::default(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(sync_server::serve(listener, state, async {
        let _ = rx.await;
    }));
    // A password set from standard input opens a session.
    let db2 = db.clone();
    let set = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args([
                "--db", &db2, "--json", "admin", "user", "password", "--id", "max",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a long enough password\n")
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(set.status.success(), "admin user password succeeds");
    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/login"))
        .json(&json!({"user": "max", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the password set by the command logs in"
    );
    let till = TestTill::new("PARIS-OPERA-CAISSE-1", 3, 0, 1, 1);
    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/enroll"))
        .json(&json!({"protocol": "1.0", "code": code, "public_key": till.till.public_key().to_string(), "software": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let _ = tx.send(());
    task.await.unwrap().unwrap();
    drop_database(&db).await;
}

async fn concurrent_uploads_of_one_till_store_each_record_once(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 60).await else {
        return;
    };
    let server = std::sync::Arc::new(server);
    let uploads = till.batches(20);
    // Four "windows" of the same till upload the whole ledger at once.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (server, token, uploads) = (server.clone(), token.clone(), uploads.clone());
        tasks.push(tokio::spawn(async move {
            for chains in uploads {
                let answer = server.upload(&token, TILL_A, chains).await;
                for ack in answer.chains {
                    assert_eq!(
                        ack.outcome,
                        ChainOutcome::Ok,
                        "racing uploads never fork: {ack:?}"
                    );
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        server.store.record_count(TILL_A).await.unwrap(),
        till.record_count(),
        "every record stored exactly once"
    );
    assert_eq!(facts(&server.feed_all().await), till.fact_count());
    let (_, sales) = server
        .get("/api/v1/hq/sales?by=shop", Some(&server.admin_token))
        .await;
    let total: pos_domain::Money = serde_json::from_value(sales["total"].clone()).unwrap();
    assert_eq!(
        total.cents(),
        till.ticket_total_cents(),
        "rollups counted each ticket once"
    );
    let Ok(server) = std::sync::Arc::try_unwrap(server) else {
        panic!("every upload task has ended");
    };
    server.stop().await;
}

async fn data_survives_a_restart(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 20).await else {
        return;
    };
    let tickets = till.records(Chain::Ticket);
    server
        .upload(&token, TILL_A, vec![batch(Chain::Ticket, &tickets[..10])])
        .await;
    let db_url = server.db_url.clone();
    // Stop the server; its directory (the SQLite file) is kept.
    let server_dir = server.stop_keeping_data().await;
    // Reopen the same database (migrations run again: a no-op) and continue.
    let store = sync_server::open_store(&db_url).await.unwrap();
    assert_eq!(
        store.record_count(TILL_A).await.unwrap(),
        10,
        "records survive a restart"
    );
    let auth = store
        .till_by_token(
            &sync_server::secrets::token_hash(&token),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .expect("the till's token survives a restart");
    let answer = store
        .ingest(
            &auth,
            vec![batch(Chain::Ticket, &tickets[8..])],
            chrono::Utc::now(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(answer.chains[0].outcome, ChainOutcome::Ok);
    assert_eq!(
        (answer.chains[0].duplicates, answer.chains[0].stored),
        (2, 10)
    );
    drop(store);
    drop_database(&db_url).await;
    drop(server_dir);
}

async fn the_feed_pages_with_a_cursor(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 10).await else {
        return;
    };
    upload_everything(&server, &till, &token, 100).await;
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let (status, page) = server
            .get(
                &format!("/api/v1/feed?after={after}&limit=7"),
                Some(&server.admin_token),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 7);
        if events.is_empty() {
            assert_eq!(page["next"], after, "an empty page keeps the cursor");
            break;
        }
        after = page["next"].as_i64().unwrap();
        seen.extend(events.iter().cloned());
    }
    assert_eq!(
        facts(&seen),
        till.fact_count(),
        "paging sees every event once"
    );
    let ids = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&seen),
        ids(&server.feed_all().await),
        "the feed order is stable"
    );
    // A record's event is stored by reference and rendered from the stored record when read.
    let tickets = till.records(Chain::Ticket);
    assert!(!tickets.is_empty());
    for record in &tickets {
        let id = format!("record/{TILL_A}/ticket/{}", record.record.seq);
        let event = seen.iter().find(|e| e["id"] == id.as_str()).unwrap();
        assert_eq!(
            event,
            &sync_server::events::record_accepted(SHOP_A, record, &record.hash()).envelope,
            "the feed gives a record's event whole: its shop, hash and payload"
        );
    }
    server.stop().await;
}

async fn an_unreadable_ticket_is_stored_and_alarmed(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 0).await else {
        return;
    };
    // A genuine record of the ticket chain (signed with the till's key) whose payload this
    // server cannot read as a ticket, as a newer till version might write.
    let key = pos_domain::record::SoftwareKey::from_secret_bytes(&[11; 32]).unwrap();
    assert_eq!(key.public_key(), till.till.public_key());
    let record = pos_domain::record::Record {
        till: TILL_A.into(),
        chain: Chain::Ticket,
        seq: 1,
        at: start_time(),
        tz: "Europe/Paris".into(),
        operator: "alice".into(),
        software: "pos-till 9.0".into(),
        first: true,
        prev: String::new(),
        payload: json!({"kind": "hologram", "total": "1.00"}),
    }
    .sign(&key)
    .unwrap();
    for _ in 0..2 {
        let answer = server
            .upload(
                &token,
                TILL_A,
                vec![batch(Chain::Ticket, std::slice::from_ref(&record))],
            )
            .await;
        assert_eq!(
            answer.chains[0].outcome,
            ChainOutcome::Ok,
            "a genuine record is held"
        );
        assert_eq!(answer.chains[0].held, 1);
    }
    assert_eq!(server.store.record_count(TILL_A).await.unwrap(), 1);
    let (_, alarms) = server
        .get("/api/v1/hq/alarms", Some(&server.admin_token))
        .await;
    assert_eq!(
        alarms.as_array().unwrap().len(),
        1,
        "one alarm, not one per resend"
    );
    assert_eq!(
        alarms[0]["kind"], "payload_unreadable",
        "head office learns the rollups miss it"
    );
    server.stop().await;
}

async fn a_lost_answer_then_a_retry_stores_each_record_once(backend: Backend) {
    use tokio::io::AsyncWriteExt;
    let Some((server, till, token)) = with_till(backend, 40).await else {
        return;
    };
    let uploads = till.batches(1000);
    let body = serde_json::to_vec(&json!({"protocol": "1.0", "chains": uploads[0]})).unwrap();
    let address = server.url.trim_start_matches("http://").to_string();
    // The till sends its upload and the link drops before any answer arrives.
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/v1/tills/{TILL_A}/records HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    stream.flush().await.unwrap();
    drop(stream);
    // It retries until it gets an answer; the server ends up holding each record once.
    let answer = server.upload(&token, TILL_A, uploads[0].clone()).await;
    for ack in &answer.chains {
        assert_eq!(ack.outcome, ChainOutcome::Ok);
        assert_eq!(
            ack.stored + ack.duplicates,
            till.till.chain_length(ack.chain).unwrap()
        );
    }
    // Wait for the first request's transaction, whichever way it went, then check.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let answer = server.upload(&token, TILL_A, uploads[0].clone()).await;
    assert!(
        answer.chains.iter().all(|c| c.stored == 0),
        "everything is held by now"
    );
    assert_eq!(
        server.store.record_count(TILL_A).await.unwrap(),
        till.record_count(),
        "a lost answer and a retry store each record exactly once"
    );
    assert_eq!(
        facts(&server.feed_all().await),
        till.fact_count(),
        "and one event each"
    );
    server.stop().await;
}

async fn feed_consumers_resume_from_their_acknowledged_cursor(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 10).await else {
        return;
    };
    upload_everything(&server, &till, &token, 100).await;
    let admin = Some(server.admin_token.as_str());
    let all = server.feed_all().await;
    assert_eq!(facts(&all), till.fact_count());
    let total = all.len();

    // Accounting reads a page, acknowledges it, and a later read resumes after it.
    let (status, page) = server
        .get("/api/v1/feed?consumer=accounting&limit=5", admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["events"].as_array().unwrap().len(), 5);
    let next = page["next"].as_i64().unwrap();
    let (status, _) = put_json(
        &server,
        "/api/v1/feed/consumers/accounting",
        admin,
        json!({"cursor": next}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, rest) = server
        .get("/api/v1/feed?consumer=accounting&limit=5000", admin)
        .await;
    assert_eq!(
        rest["events"].as_array().unwrap().len(),
        total - 5,
        "resumes after the acknowledged cursor"
    );
    assert_eq!(
        rest["events"][0],
        server.feed_all().await[5],
        "and in order"
    );

    // A consumer that never acknowledged starts at the beginning; each has its own cursor.
    let (_, crm) = server
        .get("/api/v1/feed?consumer=crm&limit=5000", admin)
        .await;
    assert_eq!(crm["events"].as_array().unwrap().len(), total);
    let (_, list) = server.get("/api/v1/feed/consumers", admin).await;
    assert_eq!(list[0]["name"], "accounting");
    assert_eq!(
        list[0]["lag"].as_u64().unwrap() as usize,
        total - 5,
        "head office sees the lag"
    );

    // Rewinding replays.
    put_json(
        &server,
        "/api/v1/feed/consumers/accounting",
        admin,
        json!({"cursor": 0}),
    )
    .await;
    let (_, replay) = server
        .get("/api/v1/feed?consumer=accounting&limit=5000", admin)
        .await;
    assert_eq!(replay["events"].as_array().unwrap().len(), total);

    let (status, _) = put_json(
        &server,
        "/api/v1/feed/consumers/bad%20name",
        admin,
        json!({"cursor": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = put_json(
        &server,
        "/api/v1/feed/consumers/crm",
        Some(&server.manager_token),
        json!({"cursor": 1}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a shop manager is no feed consumer"
    );
    server.stop().await;
}

async fn put_json(
    server: &Server,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, String) {
    let mut request = server.http.put(format!("{}{path}", server.url)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn held_records_and_alarms_cannot_be_changed_even_with_sql(backend: Backend) {
    let Some((server, till, token)) = with_till(backend, 5).await else {
        return;
    };
    let tickets = till.records(Chain::Ticket);
    server
        .upload(&token, TILL_A, vec![batch(Chain::Ticket, &tickets)])
        .await;
    server
        .upload(
            &token,
            TILL_A,
            vec![ChainBatch {
                chain: Chain::Ticket,
                records: vec![altered(&tickets[0])],
            }],
        )
        .await;
    let statements = [
        "UPDATE records SET body = body WHERE seq = 1",
        "DELETE FROM records WHERE seq = 1",
        "UPDATE alarms SET reason = 'nothing happened'",
        "DELETE FROM alarms",
    ];
    for sql in statements {
        let refused = if let Some(path) = server.db_url.strip_prefix("sqlite:") {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute(sql, []).is_err()
        } else {
            let (client, connection) =
                tokio_postgres::connect(&server.db_url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(connection);
            client.batch_execute(sql).await.is_err()
        };
        assert!(
            refused,
            "the database itself refuses `{sql}`: records and alarms are append-only"
        );
    }
    assert_eq!(
        server.store.record_count(TILL_A).await.unwrap(),
        tickets.len() as u64
    );
    assert_eq!(
        server
            .store
            .alarms(&Default::default(), &sync_server::store::Page::first())
            .await
            .unwrap()
            .len(),
        1
    );
    server.stop().await;
}

#[test]
fn the_serve_command_answers_and_stops_on_interrupt() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("served.sqlite").display());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args(["--db", &db, "serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("address=").nth(1).map(|rest| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
        })
        .expect("the server logs the address it listens on");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let capabilities: Value = runtime.block_on(async {
        reqwest::get(format!("http://{address}/api/v1/capabilities"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(capabilities["protocol"], "1.1");
    // Ctrl-C: the server stops gracefully.
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "the server exits cleanly on interrupt: {exit:?}"
    );
}

async fn a_till_enrolls_again_with_its_key_only(backend: Backend) {
    let Some((server, till, old_token)) = with_till(backend, 5).await else {
        return;
    };
    let reissue = |server: &Server| {
        let store = server.store.clone();
        async move {
            let code = sync_server::secrets::new_enrollment_code().unwrap();
            store
                .reissue_code(
                    TILL_A,
                    &sync_server::secrets::code_hash(&code),
                    chrono::Utc::now() + chrono::Duration::hours(1),
                )
                .await
                .unwrap();
            code
        }
    };
    // A new ledger (another key) under the same till id is refused.
    let code = reissue(&server).await;
    let stranger = TestTill::new(TILL_A, 99, 0, 1, 1);
    let (status, body) = server
        .post_json(
            "/api/v1/enroll",
            None,
            &json!({"protocol": "1.0", "code": code, "public_key": stranger.till.public_key().to_string(), "software": "t"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "public_key_mismatch");
    // The same till (same key) gets a new token; the old one stops working.
    let new_token = server.enroll(&code, &till).await.token;
    let tickets = till.records(Chain::Ticket);
    let body = json!({"protocol": "1.0", "chains": [batch(Chain::Ticket, &tickets)]});
    let path = format!("/api/v1/tills/{TILL_A}/records");
    let (status, _) = server.post_json(&path, Some(&old_token), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old token is revoked");
    let (status, _) = server.post_json(&path, Some(&new_token), &body).await;
    assert_eq!(status, StatusCode::OK);
    let missing = server
        .store
        .reissue_code("NOPE", "x", chrono::Utc::now())
        .await;
    assert!(missing.is_err(), "no code for an unknown till");
    server.stop().await;
}

async fn head_office_users_log_in_with_a_password(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let hash = sync_server::secrets::hash_password("a long enough password").unwrap();
    server.store.set_password("max", &hash).await.unwrap();
    let login = |user: &str, password: &str| json!({"user": user, "password": password});

    for (user, password) in [
        ("max", "wrong password!!"),
        ("nobody", "a long enough password"),
        ("ada", ""),
    ] {
        let (status, body) = server
            .post_json("/api/v1/login", None, &login(user, password))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{user}: {body}");
        assert_eq!(
            body["code"], "login_failed",
            "the same answer whatever was wrong"
        );
    }
    let (status, body) = server
        .post_json(
            "/api/v1/login",
            None,
            &login("max", "a long enough password"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["role"], "shop_manager");
    let session = body["token"].as_str().unwrap().to_string();
    let (status, sales) = server.get("/api/v1/hq/sales?by=shop", Some(&session)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the session token opens the head-office API: {sales}"
    );
    let (status, _) = server
        .get(&format!("/api/v1/hq/fleet?shop={SHOP_B}"), Some(&session))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "with the user's role and scope"
    );
    // An expired session no longer works.
    let expired = sync_server::secrets::new_token().unwrap();
    server
        .store
        .create_session(
            &sync_server::secrets::token_hash(&expired),
            "max",
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    let (status, _) = server.get("/api/v1/hq/sales?by=shop", Some(&expired)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an expired session is refused"
    );
    server.stop().await;
}
