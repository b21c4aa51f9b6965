//! Tamper tests: any change made to the ledger with plain SQL, bypassing the engine, is found.
//!
//! The first part alters every stored column of every record of every chain: bytes spread over
//! the whole body (different positions for each record, both ends included), bytes of the
//! timestamp column, the reference, chain and sequence columns; each time, verification must
//! name that record. (Every single byte of a record is flipped exhaustively in the domain's
//! `vectors` test, which needs no database.) The CLI part checks `till verify` exits 1 and names the record for a changed byte, a
//! deleted record, two swapped records, a forged record and a removed newest record.

mod support;

use std::path::Path;

use pos_domain::record::{Chain, Depth};
use pos_till::demo::{DemoOptions, run};
use rusqlite::{Connection, params};
use support::{new_till, run_till, text};

/// A small ledger with every chain populated: a demo day, a duplicate, an archive, a web
/// order marked ready and a gift card cancelled.
fn build_ledger() -> support::TestTill {
    let mut t = new_till();
    run(
        &mut t.till,
        &t.clock,
        &DemoOptions {
            tickets: 8,
            seed: 3,
            days: 1,
        },
    )
    .unwrap();
    t.till.receipt(Some("alice"), 2, true).unwrap();
    let mut training =
        serde_json::from_str::<pos_till::requests::SaleRequest>(support::SIMPLE_SALE).unwrap();
    training.training = true;
    t.till.sell(&training).unwrap();
    let day = chrono::DateTime::parse_from_rfc3339("2026-03-30T12:00:00Z")
        .unwrap()
        .date_naive();
    let out = t.dir.path().join("a.json");
    t.till
        .archive_export("manager", day, day.succ_opt().unwrap(), &out)
        .unwrap();
    // A web order as head office's feed would have delivered it, marked ready.
    let order = serde_json::json!({
        "id": "WO-1", "shop": "S", "lines": [], "payment": "paid_online", "total": "0.00",
        "pickup_code": "ABCD2345", "state": "placed", "placed_at": "2026-03-30T08:00:00.000000Z"
    });
    Connection::open(&t.path)
        .unwrap()
        .execute(
            "INSERT INTO web_orders (id, body, server_state, placed_at) VALUES ('WO-1', ?1, 'placed', '')",
            [order.to_string()],
        )
        .unwrap();
    t.till.mark_ready("alice", "WO-1").unwrap();
    // A gift card sold then cancelled: a record of the stored-value chain.
    let card = pos_domain::stored_value::InstrumentNumber::generate(
        pos_domain::stored_value::InstrumentKind::GiftCard,
        [3; 16],
    );
    t.till
        .sell_with(
            &serde_json::from_str(
                r#"{"operator": "alice", "lines": [], "tenders": [{"kind": "cash", "amount": "20.00"}]}"#,
            )
            .unwrap(),
            &pos_till::stored_value::StoredValueRequest {
                gift_cards: vec![pos_till::stored_value::GiftCardRequest {
                    number: card.to_string(),
                    amount: pos_domain::Money::from_cents(2000),
                    top_up: false,
                }],
                ..Default::default()
            },
        )
        .unwrap();
    t.till
        .cancel_instrument("alice", card.as_str(), "sold in error")
        .unwrap();
    // A delivery received: a record of the stock chain.
    t.till
        .receive_goods(
            "manager",
            &pos_till::stock::ReceiveRequest {
                asn: None,
                lines: vec![pos_till::stock::ReceiveLineRequest {
                    product_id: "ACC-COQ-IP16".into(),
                    received: 3,
                    ..Default::default()
                }],
            },
        )
        .unwrap();
    // Two days sold, closed late by one Z per day.
    let sale =
        serde_json::from_str::<pos_till::requests::SaleRequest>(support::SIMPLE_SALE).unwrap();
    t.till.sell(&sale).unwrap();
    t.clock.advance(chrono::Duration::days(1));
    t.till.sell(&sale).unwrap();
    t.clock.advance(chrono::Duration::days(1));
    let zs = t
        .till
        .close_all("manager", pos_domain::closure::ClosureLevel::Day)
        .unwrap();
    assert_eq!(zs.len(), 2, "the fixture holds a late Z per day");
    for chain in Chain::ALL {
        assert!(
            t.till.chain_length(chain).unwrap() > 0,
            "the fixture fills chain {chain}"
        );
    }
    assert!(t.till.verify(Depth::Full).unwrap().intact());
    t
}

fn unlock(conn: &Connection) {
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS records_no_update; DROP TRIGGER IF EXISTS records_no_delete;
         DROP TRIGGER IF EXISTS chain_heads_no_delete; DROP TRIGGER IF EXISTS chain_heads_forward_only;",
    )
    .unwrap();
}

struct Row {
    chain: String,
    seq: i64,
    at: String,
    reference: Option<i64>,
    body: Vec<u8>,
}

fn rows(conn: &Connection) -> Vec<Row> {
    let mut stmt = conn
        .prepare("SELECT chain, seq, at, ref, body FROM records ORDER BY chain, seq")
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Row {
            chain: r.get(0)?,
            seq: r.get(1)?,
            at: r.get(2)?,
            reference: r.get(3)?,
            body: r.get(4)?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Verifies the ledger at `path` in-process and returns the (chain, seq) of every defect.
fn defects(path: &Path, key: pos_domain::record::PublicKey, till_id: &str) -> Vec<(String, u64)> {
    let conn = Connection::open(path).unwrap();
    let report = pos_till::ledger::verify(&conn, key, till_id, Depth::Full).unwrap();
    let mut found: Vec<(String, u64)> = report
        .chains
        .iter()
        .filter_map(|c| c.defect.as_ref())
        .map(|d| (d.chain.clone(), d.seq))
        .collect();
    found.extend(report.stray_rows.iter().map(|s| (s.clone(), 0)));
    found
}

fn flip(bytes: &[u8], index: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[index] ^= if out[index].is_ascii_alphanumeric() {
        0x01
    } else {
        0x40
    };
    out
}

#[test]
fn a_change_to_any_stored_field_of_any_record_is_found() {
    let t = build_ledger();
    let key = t.till.public_key();
    let till_id = t.till.identity().till_id.clone();
    let conn = Connection::open(&t.path).unwrap();
    unlock(&conn);
    let all = rows(&conn);
    let mut checked = 0;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |below: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize % below
    };
    for row in &all {
        let mut positions: Vec<usize> = (0..16).map(|_| next(row.body.len())).collect();
        positions.extend([0, row.body.len() - 1]);
        let expect = |what: &str, found: Vec<(String, u64)>| {
            assert!(
                found
                    .iter()
                    .any(|(c, s)| *c == row.chain && *s == row.seq as u64),
                "{what} of {} {} must be reported at that record, found {found:?}",
                row.chain,
                row.seq
            );
        };
        for index in positions {
            conn.execute(
                "UPDATE records SET body = ?1 WHERE chain = ?2 AND seq = ?3",
                params![flip(&row.body, index), row.chain, row.seq],
            )
            .unwrap();
            expect(
                &format!("byte {index} of the body"),
                defects(&t.path, key, &till_id),
            );
            checked += 1;
        }
        conn.execute(
            "UPDATE records SET body = ?1 WHERE chain = ?2 AND seq = ?3",
            params![row.body, row.chain, row.seq],
        )
        .unwrap();
        for index in [0, next(row.at.len()), row.at.len() - 1] {
            let at = String::from_utf8_lossy(&flip(row.at.as_bytes(), index)).into_owned();
            conn.execute(
                "UPDATE records SET at = ?1 WHERE chain = ?2 AND seq = ?3",
                params![at, row.chain, row.seq],
            )
            .unwrap();
            expect(
                &format!("byte {index} of `at`"),
                defects(&t.path, key, &till_id),
            );
            checked += 1;
        }
        conn.execute(
            "UPDATE records SET at = ?1 WHERE chain = ?2 AND seq = ?3",
            params![row.at, row.chain, row.seq],
        )
        .unwrap();
        let other_ref = Some(row.reference.map_or(1, |r| r ^ 1));
        conn.execute(
            "UPDATE records SET ref = ?1 WHERE chain = ?2 AND seq = ?3",
            params![other_ref, row.chain, row.seq],
        )
        .unwrap();
        expect("the `ref` column", defects(&t.path, key, &till_id));
        conn.execute(
            "UPDATE records SET ref = ?1 WHERE chain = ?2 AND seq = ?3",
            params![row.reference, row.chain, row.seq],
        )
        .unwrap();
        // The key columns: renaming the chain or renumbering leaves a hole where the record was.
        let renamed = String::from_utf8_lossy(&flip(row.chain.as_bytes(), 0)).into_owned();
        conn.execute(
            "UPDATE records SET chain = ?1 WHERE chain = ?2 AND seq = ?3",
            params![renamed, row.chain, row.seq],
        )
        .unwrap();
        expect("the `chain` column", defects(&t.path, key, &till_id));
        conn.execute(
            "UPDATE records SET chain = ?1 WHERE chain = ?2 AND seq = ?3",
            params![row.chain, renamed, row.seq],
        )
        .unwrap();
        let renumbered = row.seq + 1000;
        conn.execute(
            "UPDATE records SET seq = ?1 WHERE chain = ?2 AND seq = ?3",
            params![renumbered, row.chain, row.seq],
        )
        .unwrap();
        expect("the `seq` column", defects(&t.path, key, &till_id));
        conn.execute(
            "UPDATE records SET seq = ?1 WHERE chain = ?2 AND seq = ?3",
            params![row.seq, row.chain, renumbered],
        )
        .unwrap();
        checked += 4;
    }
    assert!(
        defects(&t.path, key, &till_id).is_empty(),
        "restored ledger verifies again"
    );
    assert!(checked > 400, "{checked} alterations checked");
}

/// Copies the fixture ledger, alters the copy with `sql` and runs `till verify` on it.
fn verify_after(
    t: &support::TestTill,
    name: &str,
    alter: impl FnOnce(&Connection),
) -> (i32, String) {
    let copy = t.dir.path().join(format!("{name}.db"));
    // VACUUM INTO gives a consistent single-file copy of the WAL database.
    Connection::open(&t.path)
        .unwrap()
        .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    // The signing key is not in the ledger: the copy needs its key file to open.
    std::fs::copy(
        pos_till::identity::key_file(&t.path),
        pos_till::identity::key_file(&copy),
    )
    .unwrap();
    let conn = Connection::open(&copy).unwrap();
    unlock(&conn);
    alter(&conn);
    drop(conn);
    let out = run_till(&copy, &["verify"], "");
    (out.status.code().unwrap_or(-1), text(&out.stdout))
}

fn body(conn: &Connection, chain: &str, seq: i64) -> Vec<u8> {
    conn.query_row(
        "SELECT body FROM records WHERE chain = ?1 AND seq = ?2",
        params![chain, seq],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn till_verify_exits_1_and_names_the_altered_record() {
    let t = build_ledger();
    let (code, out) = verify_after(&t, "intact", |_| {});
    assert_eq!(code, 0, "an untouched copy verifies: {out}");

    let (code, out) = verify_after(&t, "byte", |c| {
        let altered = String::from_utf8(body(c, "ticket", 3)).unwrap().replacen(
            "\"total\":\"",
            "\"total\":\"1",
            1,
        );
        c.execute(
            "UPDATE records SET body = ?1 WHERE chain = 'ticket' AND seq = 3",
            [altered],
        )
        .unwrap();
    });
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN  at ticket 3:"),
        "names ticket 3: {out}"
    );

    let (code, out) = verify_after(&t, "text", |c| {
        c.execute(
            "UPDATE records SET body = CAST(body AS TEXT) || ' ' WHERE chain = 'cash' AND seq = 1",
            [],
        )
        .unwrap();
    });
    assert_eq!(
        code, 1,
        "a body rewritten with another SQL type is a defect, not a crash: {out}"
    );
    assert!(out.contains("at cash 1:"), "{out}");

    let (code, out) = verify_after(&t, "deleted", |c| {
        c.execute("DELETE FROM records WHERE chain = 'ticket' AND seq = 4", [])
            .unwrap();
    });
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("at ticket 4:") && out.contains("missing"),
        "names the missing ticket 4: {out}"
    );

    let (code, out) = verify_after(&t, "swapped", |c| {
        let (a, b) = (body(c, "ticket", 2), body(c, "ticket", 5));
        c.execute(
            "UPDATE records SET body = ?1 WHERE chain = 'ticket' AND seq = 2",
            [b],
        )
        .unwrap();
        c.execute(
            "UPDATE records SET body = ?1 WHERE chain = 'ticket' AND seq = 5",
            [a],
        )
        .unwrap();
    });
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("at ticket 2:"),
        "names the first swapped record: {out}"
    );

    let (code, out) = verify_after(&t, "forged", |c| {
        let head: i64 = c
            .query_row(
                "SELECT seq FROM chain_heads WHERE chain = 'ticket'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let mut forged: serde_json::Value =
            serde_json::from_slice(&body(c, "ticket", head)).unwrap();
        forged["seq"] = (head + 1).into();
        forged["prev"] = pos_domain::record::sha256_hex(&body(c, "ticket", head)).into();
        forged["first"] = false.into();
        let bytes = pos_domain::record::canonical_bytes(&forged).unwrap();
        let at = forged["at"].as_str().unwrap().to_string();
        c.execute(
            "INSERT INTO records (chain, seq, at, ref, body) VALUES ('ticket', ?1, ?2, NULL, ?3)",
            params![head + 1, at, bytes],
        )
        .unwrap();
        c.execute(
            "UPDATE chain_heads SET seq = ?1, hash = ?2 WHERE chain = 'ticket'",
            params![head + 1, pos_domain::record::sha256_hex(&bytes)],
        )
        .unwrap();
    });
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("signature does not match"),
        "a forged record fails its signature: {out}"
    );

    let (code, out) = verify_after(&t, "truncated", |c| {
        let head: i64 = c
            .query_row(
                "SELECT seq FROM chain_heads WHERE chain = 'event'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        c.execute(
            "DELETE FROM records WHERE chain = 'event' AND seq = ?1",
            [head],
        )
        .unwrap();
    });
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("event") && out.contains("records were removed"),
        "the newest record's removal is found: {out}"
    );

    let (code, out) = verify_after(&t, "head", |c| {
        c.execute(
            "UPDATE chain_heads SET hash = '00' || substr(hash, 3) WHERE chain = 'closure'",
            [],
        )
        .unwrap();
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("at closure"), "{out}");
}
