//! Head office by region: regions and regional managers set up with the admin commands, sales
//! by region and for a region, the previous-period comparison, and the drill-down to single
//! tickets with their signature verified again; on SQLite and PostgreSQL, from tickets
//! uploaded by real tills over HTTP.

mod support;

use std::collections::BTreeMap;

use chrono_tz::Europe::Paris;
use pos_domain::Money;
use pos_domain::record::Chain;
use reqwest::StatusCode;
use serde_json::Value;
use support::*;

on_every_backend!(
    a_regional_manager_sees_exactly_the_shops_of_their_region,
    sales_by_region_add_up_to_the_tickets,
    the_previous_period_is_compared_row_by_row,
    a_ticket_is_reached_from_its_day_and_its_signature_checked_again,
);

const SHOP_C: &str = "LILLE-GRAND-PLACE";
const TILL_A: &str = "PARIS-OPERA-1";
const TILL_B: &str = "LYON-BELLECOUR-1";
const TILL_C: &str = "LILLE-GRAND-PLACE-1";

fn cents(value: &Value) -> i64 {
    let money: Money = serde_json::from_value(value.clone()).unwrap();
    money.cents()
}

/// A chain of three shops: A in region NORTH, B in SOUTH, C (created by the admin command) in
/// none, each with a till that uploaded its demo ledger; and a token of a regional manager of
/// NORTH. Regions and users are made with the admin commands.
struct Chain3 {
    server: Server,
    tills: BTreeMap<&'static str, TestTill>,
    north_token: String,
}

async fn chain_of_three(backend: Backend) -> Option<Chain3> {
    let server = Server::start(backend).await?;
    let db = server.db_url.clone();
    let region = sync_server_json(
        &db,
        &[
            "admin", "region", "create", "--id", "NORTH", "--name", "Nord",
        ],
    );
    assert_eq!(region["id"], "NORTH");
    sync_server_json(
        &db,
        &[
            "admin", "region", "create", "--id", "SOUTH", "--name", "Sud",
        ],
    );
    let moved = sync_server_json(
        &db,
        &[
            "admin", "shop", "update", "--id", SHOP_A, "--region", "NORTH",
        ],
    );
    assert_eq!(moved["region_id"], "NORTH");
    sync_server_json(
        &db,
        &[
            "admin", "shop", "update", "--id", SHOP_B, "--region", "SOUTH",
        ],
    );
    sync_server_json(
        &db,
        &[
            "admin", "shop", "create", "--id", SHOP_C, "--entity", ENTITY, "--name", "Lille",
        ],
    );
    let shops = sync_server_json(&db, &["admin", "shop", "list"]);
    let region_of = |id: &str| {
        shops
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()["region_id"]
            .clone()
    };
    assert_eq!(region_of(SHOP_A), "NORTH");
    assert_eq!(region_of(SHOP_C), Value::Null);
    let manager = sync_server_json(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--id",
            "rita",
            "--name",
            "Rita",
            "--role",
            "regional_manager",
            "--region",
            "NORTH",
        ],
    );
    assert_eq!(manager["region_id"], "NORTH");
    let north_token = manager["token"].as_str().unwrap().to_string();

    let mut tills = BTreeMap::new();
    for (shop, till_id, secret, tickets, seed) in [
        (SHOP_A, TILL_A, 21u8, 60u64, 3u64),
        (SHOP_B, TILL_B, 22, 40, 4),
        (SHOP_C, TILL_C, 23, 30, 5),
    ] {
        let code = server.create_till(shop, till_id).await;
        let till = TestTill::new(till_id, secret, tickets, 6, seed);
        let token = server.enroll(&code, &till).await.token;
        for chains in till.batches(25) {
            server.upload(&token, till_id, chains).await;
        }
        tills.insert(till_id, till);
    }
    Some(Chain3 {
        server,
        tills,
        north_token,
    })
}

/// The ticket totals of a till per local day (Paris), in cents.
fn totals_by_day(till: &TestTill) -> BTreeMap<String, (i64, u64)> {
    let mut days: BTreeMap<String, (i64, u64)> = BTreeMap::new();
    for record in till.records(Chain::Ticket) {
        let day = record
            .record
            .at
            .with_timezone(&Paris)
            .date_naive()
            .to_string();
        let total: Money = serde_json::from_value(record.record.payload["total"].clone()).unwrap();
        let entry = days.entry(day).or_default();
        entry.0 += total.cents();
        entry.1 += 1;
    }
    days
}

fn total_between(till: &TestTill, from: &str, to: &str) -> i64 {
    totals_by_day(till)
        .range(from.to_string()..=to.to_string())
        .map(|(_, (cents, _))| cents)
        .sum()
}

fn keys(answer: &Value) -> Vec<String> {
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect()
}

async fn a_regional_manager_sees_exactly_the_shops_of_their_region(backend: Backend) {
    let Some(chain) = chain_of_three(backend).await else {
        return;
    };
    let (server, token) = (&chain.server, chain.north_token.as_str());
    let (status, by_shop) = server.get("/api/v1/hq/sales?by=shop", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{by_shop}");
    assert_eq!(
        keys(&by_shop),
        [SHOP_A],
        "no shop asked: every shop of NORTH"
    );
    assert_eq!(
        cents(&by_shop["total"]),
        chain.tills[TILL_A].ticket_total_cents()
    );
    for by in ["product", "tender", "seller", "day"] {
        let (_, answer) = server
            .get(&format!("/api/v1/hq/sales?by={by}"), Some(token))
            .await;
        assert_eq!(
            cents(&answer["total"]),
            chain.tills[TILL_A].ticket_total_cents(),
            "by {by}, a regional manager's figures are their region's only"
        );
    }
    for asked in [
        format!("/api/v1/hq/sales?by=shop&shop={SHOP_B}"),
        format!("/api/v1/hq/sales?by=shop&shop={SHOP_C}"),
        "/api/v1/hq/sales?by=shop&region=SOUTH".to_string(),
        format!("/api/v1/hq/fleet?shop={SHOP_B}"),
        format!("/api/v1/hq/alarms?shop={SHOP_B}"),
        format!("/api/v1/hq/web-orders?shop={SHOP_B}"),
        format!("/api/v1/shops/{SHOP_B}/tills"),
        format!("/api/v1/hq/tickets?shop={SHOP_B}&day=2026-03-30"),
    ] {
        let (status, body) = server.get(&asked, Some(token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{asked}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("NORTH"),
            "the refusal names the scope: {body}"
        );
    }
    // One ticket of another region's shop is answered as a ticket that does not exist, so
    // ticket numbers tell nothing beyond the scope.
    let (status, hidden) = server
        .get(&format!("/api/v1/hq/tickets/{TILL_B}/1"), Some(token))
        .await;
    let (_, unknown) = server
        .get(&format!("/api/v1/hq/tickets/{TILL_B}/999999"), Some(token))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an out-of-scope ticket is answered 404, like an unknown one: {hidden}"
    );
    assert_eq!(hidden["code"], unknown["code"], "{hidden} / {unknown}");
    let (status, fleet) = server.get("/api/v1/hq/fleet", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    let fleet_tills: Vec<&str> = fleet
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["till_id"].as_str().unwrap())
        .collect();
    assert_eq!(fleet_tills, [TILL_A]);
    let (status, _) = server.get("/api/v1/hq/alarms", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    // Web orders: those of the region's shops only; another shop's order is refused.
    let mut order_ids = BTreeMap::new();
    for shop in [SHOP_A, SHOP_B, SHOP_C] {
        let order = sync_server_json(
            &server.db_url,
            &[
                "admin",
                "web-order",
                "create",
                "--shop",
                shop,
                "--line",
                "ACC-COQ|Coque|1|14.00",
            ],
        );
        order_ids.insert(shop, order["id"].as_str().unwrap().to_string());
    }
    let (status, orders) = server.get("/api/v1/hq/web-orders", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{orders}");
    let listed: Vec<&str> = orders
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [order_ids[SHOP_A].as_str()]);
    let (status, _) = server
        .get(
            &format!("/api/v1/web-orders/{}", order_ids[SHOP_A]),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = server
        .get(
            &format!("/api/v1/web-orders/{}", order_ids[SHOP_B]),
            Some(token),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another region's order is answered as an unknown one: {refused}"
    );
    let (_, all_orders) = server
        .get("/api/v1/hq/web-orders", Some(&server.admin_token))
        .await;
    assert_eq!(
        all_orders.as_array().unwrap().len(),
        3,
        "an admin sees every shop's"
    );
    let (status, own) = server
        .get(&format!("/api/v1/hq/fleet?shop={SHOP_A}"), Some(token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own.as_array().unwrap().len(), 1);
    // Exports of a whole entity stay with admins and accountants.
    let (status, _) = server
        .get(
            &format!("/api/v1/hq/exports/fec?entity={ENTITY}&year=2026"),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Moving a shop into the region widens the manager's view at once.
    sync_server_json(
        &server.db_url,
        &[
            "admin", "shop", "update", "--id", SHOP_C, "--region", "NORTH",
        ],
    );
    let (_, widened) = server.get("/api/v1/hq/sales?by=shop", Some(token)).await;
    assert_eq!(keys(&widened), [SHOP_C, SHOP_A], "sorted by shop id");

    // A regional manager bound to no region is refused, saying what to do.
    let lost = sync_server_json(
        &server.db_url,
        &[
            "admin",
            "user",
            "create",
            "--id",
            "lou",
            "--name",
            "Lou",
            "--role",
            "regional_manager",
            "--region",
            "SOUTH",
        ],
    );
    sync_server_json(
        &server.db_url,
        &["admin", "user", "region", "--id", "lou", "--no-region"],
    );
    let (status, refused) = server
        .get("/api/v1/hq/sales?by=shop", lost["token"].as_str())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("bound to no region"),
        "{refused}"
    );
    chain.server.stop().await;
}

async fn sales_by_region_add_up_to_the_tickets(backend: Backend) {
    let Some(chain) = chain_of_three(backend).await else {
        return;
    };
    let server = &chain.server;
    let total = |till: &str| chain.tills[till].ticket_total_cents();
    let (status, answer) = server
        .get("/api/v1/hq/sales?by=region", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(keys(&answer), ["(none)", "NORTH", "SOUTH"]);
    let rows = answer["rows"].as_array().unwrap();
    assert_eq!(
        cents(&rows[0]["amount"]),
        total(TILL_C),
        "shops without a region"
    );
    assert_eq!(cents(&rows[1]["amount"]), total(TILL_A));
    assert_eq!(cents(&rows[2]["amount"]), total(TILL_B));
    assert_eq!(
        rows[1]["tickets"].as_u64().unwrap(),
        chain.tills[TILL_A]
            .till
            .chain_length(Chain::Ticket)
            .unwrap(),
        "every ticket counted once"
    );
    assert_eq!(
        cents(&answer["total"]),
        total(TILL_A) + total(TILL_B) + total(TILL_C)
    );
    // A region filter on every dimension adds up to its shops' tickets.
    for by in [
        "shop", "region", "day", "product", "category", "seller", "tender",
    ] {
        for (region, expected) in [
            ("NORTH", total(TILL_A)),
            ("SOUTH", total(TILL_B)),
            ("(none)", total(TILL_C)),
        ] {
            let (status, answer) = server
                .get(
                    &format!("/api/v1/hq/sales?by={by}&region={region}"),
                    Some(&server.admin_token),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            assert_eq!(
                cents(&answer["total"]),
                expected,
                "by {by} in region {region}"
            );
            let sum: i64 = answer["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| cents(&r["amount"]))
                .sum();
            assert_eq!(sum, expected);
        }
    }
    // A shop and a region that do not match select nothing, for an admin.
    let (_, nothing) = server
        .get(
            &format!("/api/v1/hq/sales?by=product&shop={SHOP_A}&region=SOUTH"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(cents(&nothing["total"]), 0);
    // A shop manager of A, in NORTH, may filter on NORTH only.
    let (status, mine) = server
        .get("/api/v1/hq/sales?by=region", Some(&server.manager_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&mine), ["NORTH"]);
    let (status, _) = server
        .get(
            "/api/v1/hq/sales?by=shop&region=SOUTH",
            Some(&server.manager_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    chain.server.stop().await;
}

async fn the_previous_period_is_compared_row_by_row(backend: Backend) {
    let Some(chain) = chain_of_three(backend).await else {
        return;
    };
    let server = &chain.server;
    let days: Vec<String> = totals_by_day(&chain.tills[TILL_A]).into_keys().collect();
    assert!(
        days.len() >= 4,
        "the demo spreads tickets over days: {days:?}"
    );
    // This period: the 3rd and 4th day; the previous one: the 1st and 2nd.
    let (from, to) = (&days[2], &days[3]);
    let (status, answer) = server
        .get(
            &format!("/api/v1/hq/sales?by=shop&from={from}&to={to}&compare=previous"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let comparison = &answer["comparison"];
    assert_eq!(comparison["from"], days[0].as_str());
    assert_eq!(comparison["to"], days[1].as_str());
    let mut now_sum = 0;
    let mut before_sum = 0;
    for (shop, till) in [(SHOP_A, TILL_A), (SHOP_B, TILL_B), (SHOP_C, TILL_C)] {
        let row = answer["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == shop)
            .unwrap_or_else(|| panic!("a row for {shop}: {answer}"));
        let now = total_between(&chain.tills[till], from, to);
        let before = total_between(&chain.tills[till], &days[0], &days[1]);
        assert_eq!(cents(&row["amount"]), now, "{shop} this period");
        assert_eq!(
            cents(&row["previous"]["amount"]),
            before,
            "{shop} the period before"
        );
        assert_eq!(cents(&row["difference"]["amount"]), now - before);
        now_sum += now;
        before_sum += before;
    }
    assert_eq!(cents(&answer["total"]), now_sum);
    assert_eq!(cents(&comparison["total"]), before_sum);
    assert_eq!(cents(&comparison["difference"]), now_sum - before_sum);
    // The previous period's figures are those of a plain query over its days.
    let (_, plain) = server
        .get(
            &format!(
                "/api/v1/hq/sales?by=product&from={}&to={}",
                days[0], days[1]
            ),
            Some(&server.admin_token),
        )
        .await;
    let (_, compared) = server
        .get(
            &format!("/api/v1/hq/sales?by=product&from={from}&to={to}&compare=previous"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(compared["comparison"]["total"], plain["total"]);
    for row in plain["rows"].as_array().unwrap() {
        let same = compared["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == row["key"])
            .expect("every key of the previous period has a row");
        assert_eq!(same["previous"]["amount"], row["amount"]);
        assert_eq!(same["previous"]["tickets"], row["tickets"]);
    }
    // By day, each day is compared with its counterpart two days earlier.
    let (_, by_day) = server
        .get(
            &format!("/api/v1/hq/sales?by=day&from={from}&to={to}&compare=previous"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(keys(&by_day), [from.clone(), to.clone()], "the days asked");
    for (row, earlier) in by_day["rows"].as_array().unwrap().iter().zip(&days[..2]) {
        let expected: i64 = chain
            .tills
            .values()
            .map(|till| total_between(till, earlier, earlier))
            .sum();
        assert_eq!(cents(&row["previous"]["amount"]), expected, "{row}");
    }
    assert_eq!(by_day["comparison"]["total"], answer["comparison"]["total"]);
    // A regional manager compares their region only.
    let (_, north) = server
        .get(
            &format!("/api/v1/hq/sales?by=region&from={from}&to={to}&compare=previous"),
            Some(&chain.north_token),
        )
        .await;
    assert_eq!(keys(&north), ["NORTH"]);
    assert_eq!(
        cents(&north["comparison"]["total"]),
        total_between(&chain.tills[TILL_A], &days[0], &days[1])
    );
    // Without both days, or with an unknown comparison: 400 saying what to give.
    for asked in [
        format!("/api/v1/hq/sales?by=shop&from={from}&compare=previous"),
        format!("/api/v1/hq/sales?by=shop&from={from}&to={to}&compare=last-year"),
        format!("/api/v1/hq/sales?by=shop&from={to}&to={from}&compare=previous"),
    ] {
        let (status, body) = server.get(&asked, Some(&server.admin_token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{asked}: {body}");
    }
    chain.server.stop().await;
}

async fn a_ticket_is_reached_from_its_day_and_its_signature_checked_again(backend: Backend) {
    let Some(chain) = chain_of_three(backend).await else {
        return;
    };
    let server = &chain.server;
    let till = &chain.tills[TILL_A];
    let by_day = totals_by_day(till);
    let (day, (day_total, day_count)) = by_day.iter().max_by_key(|(_, (_, n))| *n).unwrap();
    // Page through the day, 7 tickets at a time.
    let mut listed = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/hq/tickets?shop={SHOP_A}&day={day}&limit=7");
        if let Some(cursor) = &after {
            path.push_str(&format!("&after={cursor}"));
        }
        let (status, page) = server.get(&path, Some(&chain.north_token)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        listed.extend(page["tickets"].as_array().unwrap().clone());
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(
        listed.len() as u64,
        *day_count,
        "every ticket of the day, once"
    );
    let listed_total: i64 = listed.iter().map(|t| cents(&t["total"])).sum();
    assert_eq!(listed_total, *day_total);
    let numbers: Vec<u64> = listed
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {numbers:?}"
    );

    // Drill down to one ticket from its link.
    let first = &listed[0];
    let (status, detail) = server
        .get(first["href"].as_str().unwrap(), Some(&chain.north_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let number = first["number"].as_u64().unwrap();
    let record = till
        .records(Chain::Ticket)
        .into_iter()
        .find(|r| r.record.seq == number)
        .unwrap();
    assert_eq!(
        detail["ticket"], record.record.payload,
        "the ticket as the till recorded it"
    );
    assert_eq!(detail["hash"], record.hash());
    assert_eq!(detail["prev"], record.record.prev.as_str());
    assert_eq!(
        detail["stored"],
        String::from_utf8(record.stored.clone()).unwrap()
    );
    assert_eq!(detail["signature"]["verified_at_ingest"], true);
    assert_eq!(detail["signature"]["verified_now"], true, "{detail}");
    assert_eq!(
        detail["signature"]["public_key"],
        till.till.public_key().to_string()
    );
    assert!(detail["ticket"]["lines"].is_array() && detail["ticket"]["vat"].is_array());
    let (status, _) = server
        .get(
            &format!("/api/v1/hq/tickets/{TILL_A}/999999"),
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Bytes changed in the database after ingest (the append-only trigger put aside) show as
    // a failed verification.
    let sql_disable;
    let statements: Vec<String> = {
        sql_disable = if server.db_url.starts_with("sqlite:") {
            "DROP TRIGGER records_no_update"
        } else {
            "ALTER TABLE records DISABLE TRIGGER records_append_only"
        };
        vec![
            sql_disable.to_string(),
            format!(
                "UPDATE records SET body = {} WHERE till_id = '{TILL_A}' AND chain = 'ticket' AND seq = {number}",
                if server.db_url.starts_with("sqlite:") {
                    "CAST(replace(CAST(body AS TEXT), '\"operator\":\"', '\"operator\":\"X') AS BLOB)"
                } else {
                    "convert_to(replace(convert_from(body, 'UTF8'), '\"operator\":\"', '\"operator\":\"X'), 'UTF8')"
                }
            ),
        ]
    };
    if let Some(path) = server.db_url.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).unwrap();
        for sql in &statements {
            conn.execute(sql, []).unwrap();
        }
    } else {
        let (client, connection) = tokio_postgres::connect(&server.db_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        for sql in &statements {
            client.batch_execute(sql).await.unwrap();
        }
    }
    let (status, tampered) = server
        .get(first["href"].as_str().unwrap(), Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tampered["signature"]["verified_now"], false, "{tampered}");
    let problems = tampered["signature"]["problems"].to_string();
    assert!(
        problems.contains("hash") && problems.contains("signature"),
        "{problems}"
    );
    chain.server.stop().await;
}
