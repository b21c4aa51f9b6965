//! Credit notes and gift cards across the chain, with real tills against a real head office
//! over HTTP, on every storage backend (issue 12):
//!
//! - a gift card sold at one till is spent in part at a till of another shop and the rest at a
//!   third; head office's balance, every till's lookup and the history agree at every step;
//! - a hold above what is left is refused online, and two tills holding the last euro at once
//!   get one grant between them;
//! - two tills that could not reach head office overspend one card within their offline caps:
//!   once synced, head office shows an overdraft equal to the excess and raises exactly one
//!   alarm, however often the tills sync again;
//! - a till's lookups are throttled; an unknown number is 404 `instrument_unknown`; a manager
//!   sees the history of an instrument that moved in their shop only;
//! - a redemption names the hold it was granted: head office ends exactly that hold, not an
//!   older one of the same card;
//! - property: however movements come, each instrument's balance is the sum of its movements.

mod support;

use std::collections::BTreeMap;

use pos_domain::Money;
use pos_domain::record::Chain;
use pos_domain::stored_value::{
    InstrumentKind, InstrumentMovement, InstrumentNumber, InstrumentState, MovementKind,
};
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::wire::{ProtocolVersion, RedemptionHold};
use pos_till::Till;
use pos_till::demo::demo_catalog;
use pos_till::requests::{RecordedTicket, SaleLineRequest, SaleRequest};
use pos_till::stored_value::{GiftCardRequest, GrantedHold, StoredValueRequest};
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::ServerConfig;
use sync_server::ingest::AlarmKind;
use sync_server::stored_value::{self as money, Instrument, Movement};
use sync_server::till_throttle::{TillLookupPolicy, TillLookups};

on_every_backend!(
    a_gift_card_is_spent_across_shops_with_one_balance_at_every_step,
    two_offline_tills_overspending_a_card_raise_one_alarm_showing_the_excess,
    two_tills_holding_the_last_euro_at_once_get_one_grant,
    lookups_are_throttled_per_till_and_history_is_scoped,
    a_redemption_ends_exactly_the_hold_it_names,
);

const CASE: &str = "ACC-COQ-IP16"; // 29.99

fn tender(kind: TenderKind, cents: i64, reference: Option<&InstrumentNumber>) -> Tender {
    Tender {
        kind,
        amount: Money::from_cents(cents),
        reference: reference.map(|n| n.to_string()),
        payment: None,
    }
}

fn card(seed: u8) -> InstrumentNumber {
    InstrumentNumber::generate(InstrumentKind::GiftCard, [seed; 16])
}

/// An enrolled till of `shop` with the demo catalog.
async fn shop_till(server: &Server, shop: &str, id: &str, secret: u8) -> TestTill {
    let t = enrolled_till(server, shop, id, secret).await;
    on_till(t, |till| {
        till.import_catalog(&demo_catalog().unwrap(), "demo")
            .unwrap();
    })
    .await
    .0
}

fn sync(till: &mut Till) {
    till.sync(|_, _, _| {}).expect("the till syncs");
}

/// Sells `number` loaded with `cents`, paid in cash, and syncs.
async fn sell_card(t: TestTill, number: &InstrumentNumber, cents: i64) -> TestTill {
    let number = number.clone();
    on_till(t, move |till| {
        till.sell_with(
            &SaleRequest {
                operator: Some("alice".into()),
                tenders: vec![tender(TenderKind::Cash, cents, None)],
                ..Default::default()
            },
            &StoredValueRequest {
                gift_cards: vec![GiftCardRequest {
                    number: number.to_string(),
                    amount: Money::from_cents(cents),
                    top_up: false,
                }],
                ..Default::default()
            },
        )
        .expect("the gift card is sold");
        sync(till);
    })
    .await
    .0
}

/// `cases` cases paid `from_card` cents with the card (head office's `balance` given when it
/// answered, otherwise offline) and the rest in cash.
fn spend(
    till: &mut Till,
    number: &InstrumentNumber,
    cases: i64,
    from_card: i64,
    balance: Option<InstrumentState>,
) -> pos_till::Result<RecordedTicket> {
    let total = 2999 * cases;
    let mut tenders = vec![tender(TenderKind::GiftCard, from_card, Some(number))];
    if total > from_card {
        tenders.push(tender(TenderKind::Cash, total - from_card, None));
    }
    till.sell_with(
        &SaleRequest {
            operator: Some("alice".into()),
            lines: vec![SaleLineRequest {
                product_id: Some(CASE.into()),
                quantity: Some(cases),
                ..Default::default()
            }],
            tenders,
            ..Default::default()
        },
        &StoredValueRequest {
            balances: balance.into_iter().collect(),
            ..Default::default()
        },
    )
}

fn hold(number: &InstrumentNumber, id: &str, cents: i64) -> RedemptionHold {
    RedemptionHold {
        protocol: ProtocolVersion::CURRENT,
        hold: id.into(),
        number: number.clone(),
        amount: Money::from_cents(cents),
        seconds: 120,
    }
}

/// Head office's balance as a till's lookup answers it.
async fn looked_up(t: TestTill, number: &InstrumentNumber) -> (TestTill, InstrumentState) {
    let number = number.clone();
    let (t, answer) = on_till(t, move |till| till.lookup_instrument(&number)).await;
    let answer = answer
        .expect("head office answers")
        .expect("head office has the route");
    assert!(answer.known);
    (t, answer.state)
}

async fn history(server: &Server, token: &str, number: &InstrumentNumber) -> (StatusCode, Value) {
    server
        .post_json(
            "/api/v1/hq/instruments/history",
            Some(token),
            &json!({ "number": number.grouped() }),
        )
        .await
}

fn cents(v: &Value) -> i64 {
    serde_json::from_value::<Money>(v.clone()).unwrap().cents()
}

/// Head office's balance, checked against its history: the last row's balance and the sum of
/// the movements.
async fn balance_at_head_office(server: &Server, number: &InstrumentNumber) -> i64 {
    let (status, body) = history(server, &server.admin_token, number).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = body["movements"].as_array().unwrap();
    let sum: i64 = rows
        .iter()
        .map(|r| {
            let amount = cents(&r["amount"]);
            match r["movement"].as_str().unwrap() {
                "issue" | "load" | "top_up" | "credit" => amount,
                _ => -amount,
            }
        })
        .sum();
    let balance = cents(&body["balance"]);
    assert_eq!(
        sum, balance,
        "the balance is the sum of the movements: {body}"
    );
    assert_eq!(
        rows.last().map(|r| cents(&r["balance_after"])),
        Some(balance),
        "the last movement leaves the balance"
    );
    balance
}

async fn alarms_of_kind(server: &Server, kind: &str) -> Vec<Value> {
    let (status, body) = server
        .get("/api/v1/hq/alarms?limit=500", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .or_else(|| body["alarms"].as_array())
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["kind"] == kind)
        .collect()
}

async fn a_gift_card_is_spent_across_shops_with_one_balance_at_every_step(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let number = card(11);
    let seller = shop_till(&server, SHOP_A, "OPERA-1", 31).await;
    let second = shop_till(&server, SHOP_B, "LYON-1", 32).await;
    let third = shop_till(&server, SHOP_B, "LYON-2", 33).await;

    // Sold at the Opéra for 100.00.
    let seller = sell_card(seller, &number, 10_000).await;
    assert_eq!(balance_at_head_office(&server, &number).await, 10_000);
    let (seller, at_seller) = looked_up(seller, &number).await;
    let (second, at_second) = looked_up(second, &number).await;
    assert_eq!(at_seller.balance, Money::from_cents(10_000));
    assert_eq!(at_second, at_seller, "every till reads one balance");

    // 29.99 spent in Lyon, online: held, recorded, synced; the hold is settled by it.
    let n = number.clone();
    let (second, granted) = on_till(second, move |till| {
        let answer = till
            .hold_redemption(&hold(&n, "lyon-1-a", 2999))
            .unwrap()
            .unwrap();
        let spent = spend(till, &n, 1, 2999, Some(at_second)).expect("spent online");
        assert!(
            !spent.ticket.stored_value[0].offline,
            "head office answered: online"
        );
        sync(till);
        answer
    })
    .await;
    assert!(granted.granted, "29.99 of 100.00 is held: {granted:?}");
    assert_eq!(balance_at_head_office(&server, &number).await, 7001);
    let (second, after_second) = looked_up(second, &number).await;
    let (seller, at_seller) = looked_up(seller, &number).await;
    assert_eq!(after_second.balance, Money::from_cents(7001));
    assert_eq!(at_seller, after_second, "the seller sees the spend in Lyon");

    // More than is left is refused online, by head office's hold and by the till.
    let n = number.clone();
    let (third, (refused, at_third)) = on_till(third, move |till| {
        let refused = till
            .hold_redemption(&hold(&n, "lyon-2-x", 7002))
            .unwrap()
            .unwrap();
        let state = till.lookup_instrument(&n).unwrap().unwrap().state;
        (refused, state)
    })
    .await;
    assert!(!refused.granted, "a hold above the balance is refused");
    assert_eq!(
        refused.refused.as_deref(),
        Some("instrument_balance_insufficient")
    );
    let n = number.clone();
    let state = at_third.clone();
    let (third, err) = on_till(third, move |till| {
        spend(till, &n, 3, 7002, Some(state)).unwrap_err()
    })
    .await;
    assert_eq!(
        err.code(),
        "instrument_balance_insufficient",
        "with head office's balance the till refuses more than is left: {err}"
    );

    // The rest, 70.01, at a third till, with cash for the remainder.
    let n = number.clone();
    let (third, granted) = on_till(third, move |till| {
        let answer = till
            .hold_redemption(&hold(&n, "lyon-2-b", 7001))
            .unwrap()
            .unwrap();
        spend(till, &n, 3, 7001, Some(at_third)).expect("the rest is spent");
        sync(till);
        answer
    })
    .await;
    assert!(granted.granted, "{granted:?}");
    assert_eq!(balance_at_head_office(&server, &number).await, 0);
    for t in [seller, second, third] {
        let (_, state) = looked_up(t, &number).await;
        assert_eq!(state.balance, Money::ZERO, "every till reads zero left");
    }
    let moved: Vec<Value> = server
        .feed_all()
        .await
        .into_iter()
        .filter(|e| e["type"] == money::INSTRUMENT_MOVED_TYPE)
        .collect();
    assert_eq!(
        moved.len(),
        3,
        "one outbox event per movement: load, two redemptions"
    );
    assert!(
        alarms_of_kind(&server, "instrument_overdrawn")
            .await
            .is_empty(),
        "spent online within its balance: no alarm"
    );
    server.stop().await;
}

async fn two_offline_tills_overspending_a_card_raise_one_alarm_showing_the_excess(
    backend: Backend,
) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let number = card(12);
    let seller = shop_till(&server, SHOP_A, "OPERA-2", 41).await;
    let east = shop_till(&server, SHOP_A, "OPERA-3", 42).await;
    let west = shop_till(&server, SHOP_B, "LYON-3", 43).await;
    let _seller = sell_card(seller, &number, 4000).await;

    // Neither till asks head office (it is out of reach): each spends within its offline
    // caps (50.00 per card), 29.99 each, 19.98 beyond the 40.00 on the card.
    let mut tills = Vec::new();
    for t in [east, west] {
        let n = number.clone();
        let (t, ()) = on_till(t, move |till| {
            let spent = spend(till, &n, 1, 2999, None).expect("spent offline");
            assert!(spent.ticket.stored_value[0].offline, "no answer: offline");
            let err = spend(till, &n, 1, 2999, None).unwrap_err();
            assert_eq!(
                err.code(),
                "offline_cap_instrument",
                "a second 29.99 would pass the offline cap of 50.00: the loss is bounded"
            );
        })
        .await;
        tills.push(t);
    }
    for t in tills {
        let (t, ()) = on_till(t, sync).await;
        // Syncing again raises nothing more.
        on_till(t, sync).await;
    }
    let (status, body) = history(&server, &server.admin_token, &number).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(cents(&body["balance"]), -1998);
    assert_eq!(
        cents(&body["overdraft"]),
        1998,
        "the overdraft is what the offline redemptions spent beyond the card: {body}"
    );
    assert!(
        cents(&body["overdraft"]) <= 2 * 5000 - 4000,
        "bounded by the caps: two tills at most 50.00 each"
    );
    let alarms = alarms_of_kind(&server, "instrument_overdrawn").await;
    assert_eq!(
        alarms.len(),
        1,
        "exactly one alarm per instrument: {alarms:?}"
    );
    assert!(
        alarms[0]["reason"].as_str().unwrap().contains("19.98"),
        "the alarm shows the overdraft: {}",
        alarms[0]
    );
    assert_eq!(balance_at_head_office(&server, &number).await, -1998);
    server.stop().await;
}

async fn two_tills_holding_the_last_euro_at_once_get_one_grant(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let number = card(13);
    let seller = shop_till(&server, SHOP_A, "OPERA-4", 51).await;
    let _seller = sell_card(seller, &number, 1000).await;
    let mut east = shop_till(&server, SHOP_A, "OPERA-5", 52).await;
    let mut west = shop_till(&server, SHOP_B, "LYON-4", 53).await;
    for round in 0..3 {
        // Both tills ask at once, each through its own HTTPS client.
        let race = |t: TestTill, id: String| {
            let n = number.clone();
            on_till(t, move |till| {
                till.hold_redemption(&hold(&n, &id, 1000))
                    .expect("head office answers")
                    .expect("head office has the route")
            })
        };
        let ((e, a), (w, b)) = tokio::join!(
            race(east, format!("east-{round}")),
            race(west, format!("west-{round}"))
        );
        (east, west) = (e, w);
        let granted = [&a, &b].iter().filter(|x| x.granted).count();
        for refused in [&a, &b].iter().filter(|x| !x.granted) {
            assert_eq!(
                refused.refused.as_deref(),
                Some("instrument_balance_insufficient"),
                "{refused:?}"
            );
        }
        if round == 0 {
            assert_eq!(
                granted, 1,
                "two holds of the last 10.00 at once: exactly one is granted"
            );
        } else {
            assert_eq!(granted, 0, "the first round's hold still holds the money");
        }
    }
    server.stop().await;
}

async fn lookups_are_throttled_per_till_and_history_is_scoped(backend: Backend) {
    let config = ServerConfig {
        till_lookups: std::sync::Arc::new(TillLookups::new(TillLookupPolicy { per_minute: 3 })),
        ..ServerConfig::default()
    };
    let Some(server) = Server::start_with(backend, config).await else {
        return;
    };
    let number = card(14);
    let seller = shop_till(&server, SHOP_B, "LYON-5", 61).await;
    let seller = sell_card(seller, &number, 2500).await;
    let unknown = card(15);
    let n = number.clone();
    let (_seller, answers) = on_till(seller, move |till| {
        let known = till.lookup_instrument(&n).map(|a| a.is_some());
        let missing = till.lookup_instrument(&unknown);
        let third = till.lookup_instrument(&n).map(|a| a.is_some());
        let fourth = till.lookup_instrument(&n);
        (known, missing, third, fourth)
    })
    .await;
    assert!(matches!(answers.0, Ok(true)));
    match answers.1 {
        Err(pos_till::TillError::Server { code, .. }) => assert_eq!(
            code, "instrument_unknown",
            "an unknown number is 404 instrument_unknown, whatever is wrong with it"
        ),
        other => panic!("an unknown number is refused, not {other:?}"),
    }
    assert!(matches!(answers.2, Ok(true)));
    match answers.3 {
        Err(pos_till::TillError::Server { code, .. }) => assert_eq!(
            code, "rate_limited",
            "the fourth lookup of the minute is refused: lookups are throttled per till"
        ),
        other => panic!("the fourth lookup is throttled, not {other:?}"),
    }

    // A manager of the Opéra (shop A) does not see a card that moved only in Lyon.
    let (status, body) = history(&server, &server.manager_token, &number).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "instrument_unknown");
    let (status, body) = history(&server, &server.admin_token, &number).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["movements"][0]["movement"], "load");
    assert_eq!(body["movements"][0]["shop_id"], SHOP_B);
    server.stop().await;
}

fn movement_strategy() -> impl Strategy<Value = (u8, u8, i64, bool)> {
    (0u8..3, 0u8..7, 1i64..20_000, any::<bool>())
}

proptest! {
    #[test]
    fn every_balance_is_the_sum_of_its_movements(
        moves in proptest::collection::vec(movement_strategy(), 1..60),
        split in 0usize..60,
    ) {
        let numbers: Vec<InstrumentNumber> = (0..3u8)
            .map(|i| InstrumentNumber::generate(InstrumentKind::GiftCard, [i + 1; 16]))
            .collect();
        let kinds = [
            MovementKind::Issue,
            MovementKind::Load,
            MovementKind::TopUp,
            MovementKind::Redeem,
            MovementKind::Credit,
            MovementKind::Expire,
            MovementKind::Cancel,
        ];
        let moves: Vec<Movement> = moves
            .iter()
            .enumerate()
            .map(|(seq, (which, kind, cents, offline))| {
                let mut movement = InstrumentMovement::new(
                    numbers[*which as usize].clone(),
                    kinds[*kind as usize],
                    Money::from_cents(*cents),
                );
                movement.offline = *offline;
                Movement {
                    movement,
                    till_id: format!("T-{}", seq % 4),
                    shop_id: "SHOP".into(),
                    chain: Chain::Ticket,
                    seq: seq as u64 + 1,
                    at: "2026-03-30T10:00:00.000000Z".into(),
                    record_hash: format!("h{seq}"),
                }
            })
            .collect();
        // Applied in one upload or in two, the same balances, history and alarms.
        let mut whole: BTreeMap<String, Instrument> = BTreeMap::new();
        let once = money::apply(&mut whole, &moves, "t");
        let mut parts: BTreeMap<String, Instrument> = BTreeMap::new();
        let cut = split.min(moves.len());
        let mut twice = money::apply(&mut parts, &moves[..cut], "t");
        let rest = money::apply(&mut parts, &moves[cut..], "t");
        twice.history.extend(rest.history);
        twice.alarms.extend(rest.alarms);
        prop_assert_eq!(&whole, &parts);
        prop_assert_eq!(&once.history, &twice.history);
        prop_assert_eq!(once.alarms.len(), twice.alarms.len());
        for (number, instrument) in &whole {
            let sum: Money = once
                .history
                .iter()
                .filter(|h| &h.number == number)
                .map(|h| h.effect())
                .sum();
            prop_assert_eq!(sum, instrument.state.balance, "balance = sum of movements");
            let alarms = once
                .alarms
                .iter()
                .filter(|a| a.kind == AlarmKind::InstrumentOverdrawn
                    && moves.iter().any(|m| m.record_hash == a.received_hash
                        && m.movement.number.as_str() == number))
                .count();
            prop_assert!(alarms <= 1, "at most one overdraft alarm per instrument");
        }
    }
}

async fn a_redemption_ends_exactly_the_hold_it_names(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let number = card(17);
    let seller = shop_till(&server, SHOP_A, "OPERA-1", 41).await;
    let second = shop_till(&server, SHOP_B, "LYON-1", 42).await;
    let third = shop_till(&server, SHOP_B, "LYON-2", 43).await;
    let _seller = sell_card(seller, &number, 10_000).await;
    let (second, state) = looked_up(second, &number).await;
    // Two holds at one till: 10.00 for a sale that will not happen yet, 20.00 for this one.
    let n = number.clone();
    let (_second, named) = on_till(second, move |till| {
        for (id, cents) in [("lyon-1-first", 1000), ("lyon-1-second", 2000)] {
            let answer = till.hold_redemption(&hold(&n, id, cents)).unwrap().unwrap();
            assert!(answer.granted, "{answer:?}");
        }
        let sold = till
            .sell_with(
                &SaleRequest {
                    operator: Some("alice".into()),
                    lines: vec![SaleLineRequest {
                        product_id: Some(CASE.into()),
                        quantity: Some(1),
                        ..Default::default()
                    }],
                    tenders: vec![
                        tender(TenderKind::GiftCard, 2000, Some(&n)),
                        tender(TenderKind::Cash, 999, None),
                    ],
                    ..Default::default()
                },
                &StoredValueRequest {
                    balances: vec![state],
                    holds: vec![GrantedHold {
                        number: n.clone(),
                        hold: "lyon-1-second".into(),
                    }],
                    ..Default::default()
                },
            )
            .expect("spent online");
        sync(till);
        sold.ticket.stored_value[0].hold.clone()
    })
    .await;
    assert_eq!(
        named.as_deref(),
        Some("lyon-1-second"),
        "the redemption record names the hold head office granted for it"
    );
    assert_eq!(balance_at_head_office(&server, &number).await, 8000);
    // Left to spend: 80.00 less the 10.00 still held = 70.00. Had head office ended the
    // older hold instead, the 20.00 one would still hold its money and 70.00 be refused.
    let n = number.clone();
    let (third, answer) = on_till(third, move |till| {
        till.hold_redemption(&hold(&n, "lyon-2-rest", 7000))
            .unwrap()
            .unwrap()
    })
    .await;
    assert!(
        answer.granted,
        "the recorded redemption ended its own hold, the other one still holds 10.00: {answer:?}"
    );
    let n = number.clone();
    let (_, over) = on_till(third, move |till| {
        till.hold_redemption(&hold(&n, "lyon-2-more", 1))
            .unwrap()
            .unwrap()
    })
    .await;
    assert!(!over.granted, "the 10.00 hold still counts: {over:?}");
}
