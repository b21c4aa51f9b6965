//! Accounting exports from what real tills upload, on every backend: daily entries posted on
//! ingest from the day (Z) closures, the FEC and hledger exports of the admin command, checked
//! independently (format, balance, `hledger check` and `hledger bal` against the Z totals), and
//! the FEC endpoint's 401/403/200.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use pos_domain::Money;
use pos_domain::accounting::{
    AccountPlan, FEC_COLUMNS, JournalEntry, daily_entry, day_cash_difference,
};
use pos_domain::closure::{Closure, ClosureLevel};
use pos_domain::journal::{CashMovement, CashMovementKind};
use pos_domain::record::Chain;
use pos_domain::wire::ChainOutcome;
use reqwest::StatusCode;
use support::*;
use sync_server::secrets;
use sync_server::store::{Role, User};

on_every_backend!(
    exports_match_the_uploaded_z_closures,
    a_day_closure_waits_for_its_cash_records,
);

/// Till, shop, key secret, demo tickets, days, seed.
const TILLS: [(&str, &str, u8, u64, u32, u64); 2] = [
    ("PARIS-OPERA-1", SHOP_A, 21, 60, 3, 7),
    ("LYON-BELLECOUR-1", SHOP_B, 22, 40, 2, 5),
];

/// Sales (excluding VAT) and VAT of the day closures of `till`, and their number.
fn z_totals(till: &TestTill) -> (Money, Money, usize) {
    let (mut sales, mut vat, mut days) = (Money::ZERO, Money::ZERO, 0);
    for record in till.records(Chain::Closure) {
        let closure: Closure = serde_json::from_value(record.record.payload.clone()).unwrap();
        if closure.level == ClosureLevel::Day {
            days += 1;
            for line in &closure.totals.vat {
                sales += line.excluding_vat;
                vat += line.vat;
            }
        }
    }
    (sales, vat, days)
}

fn parse_fec_amount(text: &str) -> Money {
    text.replace(',', ".").parse().unwrap()
}

fn hledger_available() -> bool {
    match Command::new("hledger").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        _ => {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "CI=true but hledger is not installed: the accounting checks must run in CI"
            );
            eprintln!("SKIPPED: hledger is not installed, the hledger checks do not run");
            false
        }
    }
}

/// `sync-server admin ARGS` on the database, which must succeed.
fn admin(db_url: &str, args: &[&str]) {
    let command: Vec<&str> = std::iter::once("admin")
        .chain(args.iter().copied())
        .collect();
    sync_server_json(db_url, &command);
}

async fn exports_match_the_uploaded_z_closures(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let (mut sales, mut vat, mut days) = (Money::ZERO, Money::ZERO, 0);
    for (till_id, shop, secret, tickets, demo_days, seed) in TILLS {
        let code = server.create_till(shop, till_id).await;
        let till = TestTill::new(till_id, secret, tickets, demo_days, seed);
        let token = server.enroll(&code, &till).await.token;
        // Small batches, closure chain before cash chain in each upload: a day closure often
        // arrives before its day's cash count and waits for it.
        for chains in till.batches(5) {
            let answer = server.upload(&token, till_id, chains).await;
            assert!(answer.chains.iter().all(|c| c.outcome == ChainOutcome::Ok));
        }
        let (s, v, d) = z_totals(&till);
        assert_eq!(d, demo_days as usize, "the demo closes every day");
        sales += s;
        vat += v;
        days += d;
    }

    // Events: one per posted entry, in the same outbox as the records.
    let posted = server
        .feed_all()
        .await
        .into_iter()
        .filter(|e| e["type"] == "pos.accounting.entry.posted")
        .count();
    assert_eq!(posted, days, "every day closure posts one entry");

    // FEC by the admin command.
    let out_dir = server.dir.path().join("fec");
    std::fs::create_dir(&out_dir).unwrap();
    admin(
        &server.db_url,
        &[
            "export",
            "fec",
            "--entity",
            ENTITY,
            "--year",
            "2026",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let fec_path = out_dir.join("123456789FEC20261231.txt");
    let fec = std::fs::read(&fec_path).expect("the FEC is named <SIREN>FEC<closing date>.txt");
    assert!(
        std::str::from_utf8(&fec).is_err(),
        "ISO-8859-15, not UTF-8 (accented labels)"
    );
    assert!(
        fec.windows(7).any(|w| w == b"Esp\xe8ces"),
        "`è` is the Latin-9 byte 0xE8"
    );
    // Latin-9 decodes every byte; the text is ASCII plus Latin-9 letters.
    let text: String = fec.iter().map(|&b| b as char).collect();
    let mut lines = text.split("\r\n");
    assert_eq!(lines.next().unwrap(), FEC_COLUMNS.join("|"));
    let mut per_entry: BTreeMap<u64, (Money, Money, String)> = BTreeMap::new();
    let mut previous_date = String::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields.len(), 18, "18 columns: {line}");
        let number: u64 = fields[2].parse().unwrap();
        assert!(fields[3] >= previous_date.as_str(), "chronological order");
        previous_date = fields[3].to_string();
        let (debit, credit) = (parse_fec_amount(fields[11]), parse_fec_amount(fields[12]));
        let entry =
            per_entry
                .entry(number)
                .or_insert((Money::ZERO, Money::ZERO, fields[8].to_string()));
        entry.0 += debit;
        entry.1 += credit;
        for required in [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 15] {
            assert!(
                !fields[required].is_empty(),
                "column {required} filled: {line}"
            );
        }
    }
    assert_eq!(per_entry.len(), days, "one entry per Z");
    assert_eq!(
        per_entry.keys().copied().collect::<Vec<_>>(),
        (1..=days as u64).collect::<Vec<_>>(),
        "continuous numbering"
    );
    for (number, (debit, credit, _)) in &per_entry {
        assert_eq!(debit, credit, "entry {number} balances");
    }

    // The HTTP endpoint: 401 without a token, 403 for a shop manager, 200 for admins and
    // accountants, with the same bytes and the file name.
    let path = format!(
        "{}/api/v1/hq/exports/fec?entity={ENTITY}&year=2026",
        server.url
    );
    let anonymous = server.http.get(&path).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let manager = server
        .http
        .get(&path)
        .bearer_auth(&server.manager_token)
        .send()
        .await
        .unwrap();
    assert_eq!(manager.status(), StatusCode::FORBIDDEN);
    let accountant_token = secrets::new_token().unwrap();
    server
        .store
        .create_user(
            &User {
                id: "cora".into(),
                name: "Cora Comptable".into(),
                role: Role::Accountant,
                shop_id: None,
                region_id: None,
            },
            &secrets::token_hash(&accountant_token),
        )
        .await
        .unwrap();
    for token in [&server.admin_token, &accountant_token] {
        let answer = server
            .http
            .get(&path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let disposition = answer.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(
            disposition,
            "attachment; filename=\"123456789FEC20261231.txt\""
        );
        assert_eq!(answer.bytes().await.unwrap().as_ref(), fec.as_slice());
    }
    let unknown = server
        .http
        .get(format!(
            "{}/api/v1/hq/exports/fec?entity=NOPE&year=2026",
            server.url
        ))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // hledger journal by the admin command, checked by hledger itself.
    let journal = server.dir.path().join("acme.journal");
    admin(
        &server.db_url,
        &[
            "export",
            "hledger",
            "--entity",
            ENTITY,
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--out",
            journal.to_str().unwrap(),
        ],
    );
    if hledger_available() {
        hledger(&["-f", journal.to_str().unwrap(), "check"]);
        assert_eq!(
            hledger_total(&journal, "707"),
            -sales,
            "sales accounts hold the Z closures' amounts excluding VAT"
        );
        assert_eq!(
            hledger_total(&journal, "4457"),
            -vat,
            "VAT accounts hold the Z closures' VAT"
        );
        assert!(!sales.is_zero());
    }
    server.stop().await;
}

/// The till's own daily entries, computed from its ledger with the domain alone.
fn expected_entries(till: &TestTill, till_id: &str, shop: &str) -> Vec<JournalEntry> {
    let cash: Vec<CashMovement> = till
        .records(Chain::Cash)
        .iter()
        .map(|r| serde_json::from_value(r.record.payload.clone()).unwrap())
        .collect();
    let mut previous = 0usize;
    let mut out = Vec::new();
    for record in till.records(Chain::Closure) {
        let closure: Closure = serde_json::from_value(record.record.payload.clone()).unwrap();
        if closure.level != ClosureLevel::Day {
            continue;
        }
        let through = closure.through_cash as usize;
        let difference = day_cash_difference(&cash[previous..through]);
        previous = through;
        out.push(
            daily_entry(
                till_id,
                shop,
                record.record.seq,
                &closure,
                difference,
                &AccountPlan::french_default(),
            )
            .unwrap(),
        );
    }
    out
}

async fn a_day_closure_waits_for_its_cash_records(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let (till_id, shop, secret, tickets, demo_days, seed) = TILLS[0];
    let code = server.create_till(shop, till_id).await;
    let mut till = TestTill::new(till_id, secret, tickets, demo_days, seed);
    // One more day with a float, a count 2.50 short and its Z, after the demo's days.
    till.clock.advance(chrono::Duration::days(1));
    till.till
        .cash_movement(
            "manager",
            CashMovementKind::OpeningFloat,
            Money::from_cents(10_000),
            None,
        )
        .unwrap();
    let expected_cash = till.till.report_x().unwrap().expected_cash;
    till.till
        .cash_movement(
            "manager",
            CashMovementKind::Count,
            expected_cash - Money::from_cents(250),
            None,
        )
        .unwrap();
    till.till.close("manager", ClosureLevel::Day).unwrap();
    let days = demo_days as usize + 1;
    let token = server.enroll(&code, &till).await.token;
    let entries = || {
        server
            .store
            .journal_entries(ENTITY, "2026-01-01", "2026-12-31")
    };
    // Everything but the cash chain: the day closures are held, their counts are not.
    let without_cash: Vec<_> = Chain::ALL
        .into_iter()
        .filter(|c| *c != Chain::Cash && !till.records(*c).is_empty())
        .map(|c| batch(c, &till.records(c)))
        .collect();
    server.upload(&token, till_id, without_cash).await;
    assert!(
        entries().await.unwrap().is_empty(),
        "no entry is posted before the day's cash records are held"
    );
    // The cash chain in two halves: the first posts the days it covers, the second the rest.
    let cash = till.records(Chain::Cash);
    let (first, second) = cash.split_at(cash.len() / 2);
    server
        .upload(&token, till_id, vec![batch(Chain::Cash, first)])
        .await;
    let partial = entries().await.unwrap().len();
    assert!(partial < days);
    server
        .upload(&token, till_id, vec![batch(Chain::Cash, second)])
        .await;
    let posted = entries().await.unwrap();
    let expected = expected_entries(&till, till_id, shop);
    assert_eq!(
        posted, expected,
        "the entries use each day's own cash records"
    );
    assert_eq!(posted.len(), days);
    let last = posted.last().unwrap();
    assert_eq!(
        last.balances().get("658"),
        Some(&Money::from_cents(250)),
        "the shortage of the last day goes to 658: {last:?}"
    );
    server.stop().await;
}
