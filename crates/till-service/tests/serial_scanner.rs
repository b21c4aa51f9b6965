//! A serial barcode scanner on a real pseudo-terminal, over the loopback HTTP transport: the
//! codes it sends reach `scanned_codes` in order, a code cut short is skipped, and a scanner
//! gone away shows in its status without touching sales.

mod support;

use std::io::Write;
use std::time::Duration;

use serde_json::json;
use support::TestTill;

const TIMEOUT: Duration = Duration::from_secs(180);

#[test]
fn codes_sent_on_a_pty_reach_the_sale_screen_in_order() {
    let (mut master, slave) = pos_transport::pty_pair().unwrap();
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("9999");
    let devices = till
        .call(
            "set_devices",
            json!({"scanner": format!("serial://{slave}")}),
        )
        .ok();
    assert!(
        devices["scanner"]["uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("serial://{slave}")),
        "{devices}"
    );
    till.login("1234");
    let first = till.call("scanned_codes", json!({})).ok();
    assert_eq!(first["codes"], json!([]), "nothing scanned yet");
    let after = first["latest"].as_u64().unwrap();

    master.write_all(b"3760000011051\r\n").unwrap();
    master.write_all(b"37600000").unwrap();
    master.flush().unwrap();
    std::thread::sleep(Duration::from_millis(600)); // past the inter-character timeout
    master.write_all(b"3760000011082\n").unwrap();
    master.flush().unwrap();

    let mut codes = Vec::new();
    let mut after = after;
    for _ in 0..10 {
        let got = till
            .call("scanned_codes", json!({"after": after, "wait_ms": 1000}))
            .ok();
        for code in got["codes"].as_array().unwrap() {
            codes.push(code["code"].as_str().unwrap().to_string());
        }
        after = got["latest"].as_u64().unwrap();
        if codes.len() >= 2 {
            break;
        }
    }
    assert_eq!(
        codes,
        ["3760000011051", "3760000011082"],
        "each complete code arrives once, in order; the one cut short is skipped"
    );
    let status = till.call("devices", json!({})).ok();
    assert_eq!(status["scanner"]["ready"], true);
    assert!(
        status["scanner"]["message"]
            .as_str()
            .unwrap()
            .contains("3760000011082"),
        "the settings screen shows the last code read: {status}"
    );
    let product = till
        .call("product_by_barcode", json!({"barcode": codes[0]}))
        .ok();
    assert_eq!(
        product["id"], "ACC-CBL-CC1",
        "a serial scan is looked up like a wedge one"
    );
}

#[test]
fn a_scanner_that_cannot_be_opened_only_shows_in_its_status() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("9999");
    till.call(
        "set_devices",
        json!({"scanner": "serial:///dev/nonexistent-scanner"}),
    )
    .ok();
    std::thread::sleep(Duration::from_millis(300));
    let status = till.call("devices", json!({})).ok();
    assert_eq!(status["scanner"]["ready"], false, "{status}");
    let got = till.call("scanned_codes", json!({"wait_ms": 100})).ok();
    assert_eq!(got["codes"], json!([]));
}
