//! The customer display over the real loopback HTTP transport, with the display simulator on a
//! real socket: what the customer sees through a sale, screen by screen, and a display that
//! fails never blocking the sale.

mod support;

use std::time::{Duration, Instant};

use pos_till_service::simulators::DisplaySimulator;
use serde_json::json;
use support::{TestTill, line};

const TIMEOUT: Duration = Duration::from_secs(180);

fn wait_screens(sim: &DisplaySimulator, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let screens = sim.screens();
        if screens.len() >= n || Instant::now() > deadline {
            return screens;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_customer_sees_each_line_the_total_what_was_paid_the_change_then_the_idle_message() {
    let dir = tempfile::tempdir().unwrap();
    let sim = DisplaySimulator::start(dir.path()).unwrap();
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("9999");
    let devices = till.call("set_devices", json!({"display": sim.uri()})).ok();
    assert_eq!(devices["display"]["uri"], sim.uri());
    let idle = wait_screens(&sim, 1);
    assert!(
        idle[0].starts_with("     Bienvenue"),
        "the idle message first: {idle:?}"
    );
    till.login("1234");

    let one = json!({"lines": [line("ACC-CBL-CC1", 1)]});
    till.call("quote", json!({"cart": one})).ok();
    wait_screens(&sim, 2);
    let two = json!({"lines": [line("ACC-CBL-CC1", 1), line("ACC-COQ-IP16", 1)]});
    till.call("quote", json!({"cart": two})).ok();
    wait_screens(&sim, 3);
    till.call(
        "sell",
        json!({"cart": two, "tenders": [{"kind": "cash", "amount": "50.00"}]}),
    )
    .ok();
    wait_screens(&sim, 4);
    till.call("logout", json!({})).ok();
    let screens = wait_screens(&sim, 5);
    let bottom_of_idle = screens[0].split('|').nth(1).unwrap_or_default().to_string();
    assert_eq!(
        &screens[1..],
        [
            "Cable USB-C ve 14.90|TOTAL          14.90".to_string(),
            "Coque silicone 29.99|TOTAL          44.89".to_string(),
            "PAYE           50.00|RENDU           5.11".to_string(),
            format!("     Bienvenue|{bottom_of_idle}"),
        ],
        "the display shows each line with the total, then paid and change, then idle: {screens:?}"
    );
}

#[test]
fn a_display_that_does_not_answer_never_blocks_a_sale() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("9999");
    // A port nobody listens on (TEST-NET would hang until the connect timeout: worse).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    till.call(
        "set_devices",
        json!({"display": format!("tcp://192.0.2.1:{port}")}),
    )
    .ok();
    let cart = json!({"lines": [line("ACC-CBL-CC1", 1)]});
    let started = Instant::now();
    let sale = till
        .call(
            "sell",
            json!({"cart": cart, "tenders": [{"kind": "cash", "amount": "20.00"}]}),
        )
        .ok();
    assert_eq!(sale["change"], "5.10");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the sale does not wait for the display ({:?})",
        started.elapsed()
    );
    let tested = till.call("test_display", json!({})).ok();
    assert_eq!(
        tested["ok"], false,
        "the settings screen's test says it fails: {tested}"
    );
}
