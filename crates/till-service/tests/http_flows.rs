//! The cashier app's main flows over the real loopback HTTP transport, with the printer and
//! payment terminal simulators on real sockets: what the browser tests drive through the UI.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{TestTill, line};

const TIMEOUT: Duration = Duration::from_secs(180);

fn money(value: &serde_json::Value) -> rust_decimal::Decimal {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not an amount string"))
        .parse()
        .expect("decimal")
}

#[test]
fn nothing_but_the_login_screen_answers_before_login() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    let staff = till.call("staff_list", json!({})).ok();
    let names: Vec<&str> = staff
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        ["Alice", "Bruno"],
        "the demo staff are listed, by name"
    );
    assert!(
        !staff.to_string().contains("pin"),
        "the staff list must never carry PINs or their hashes"
    );

    let refused = till.call("product_by_barcode", json!({"barcode": "3760000011051"}));
    assert_eq!(refused.status, 401);
    assert_eq!(refused.code(), "not_logged_in");

    let wrong = till.call("login", json!({"pin": "0000"}));
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.code(), "pin_wrong");
    assert!(
        wrong.body["message"]
            .as_str()
            .unwrap_or("")
            .contains("again")
    );

    let session = till.login("1234");
    assert_eq!(session["staff"]["name"], "Alice");
    assert_eq!(session["staff"]["role"], "cashier");

    let unknown = till.call("no_such_command", json!({}));
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.code(), "unknown_command");

    let malformed = till.call("search_products", json!({"txt": 3}));
    assert_eq!(malformed.code(), "request_invalid");
}

#[test]
fn catalog_lookup_search_and_categories() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let product = till
        .call("product_by_barcode", json!({"barcode": "3760000011051"}))
        .ok();
    assert_eq!(product["id"], "ACC-CBL-CC1");
    assert_eq!(product["price"], "14.90");

    let unknown = till.call("product_by_barcode", json!({"barcode": "0000000000000"}));
    assert_eq!(unknown.code(), "unknown_barcode");

    // Accent-insensitive prefix search, as the cashier types.
    let found = till.call("search_products", json!({"text": "ecout"})).ok();
    assert!(
        found
            .as_array()
            .expect("array")
            .iter()
            .any(|p| p["label"].as_str().unwrap_or("").starts_with("Écouteurs")),
        "typing `ecout` finds `Écouteurs`: {found}"
    );

    let categories = till.call("categories", json!({})).ok();
    let smartphones = categories
        .as_array()
        .expect("array")
        .iter()
        .find(|c| c["name"] == "Smartphones")
        .expect("a Smartphones category");
    let in_category = till
        .call("products_in_category", json!({"category": "Smartphones"}))
        .ok();
    assert_eq!(
        in_category.as_array().expect("array").len() as u64,
        smartphones["products"].as_u64().expect("count"),
        "the category grid shows as many products as the category counts"
    );
    assert_eq!(in_category[0]["serial"], "imei");
}

#[test]
fn cash_sale_is_recorded_then_printed_with_its_qr_code_and_the_drawer_opens() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let cart = json!({"lines": [line("ACC-CBL-CC1", 2), line("ACC-COQ-IP16", 1)]});
    let quote = till
        .call(
            "quote",
            json!({"cart": cart, "tenders": [{"kind": "cash", "amount": "50.00"}]}),
        )
        .ok();
    assert_eq!(quote["total"], "59.79");
    assert_eq!(quote["amount_due"], "9.79", "50.00 given of 59.79");

    let sale = till
        .call(
            "sell",
            json!({"cart": cart, "tenders": [{"kind": "cash", "amount": "60.00"}]}),
        )
        .ok();
    assert_eq!(sale["ticket"]["number"], 1);
    assert_eq!(sale["ticket"]["total"], "59.79");
    assert_eq!(sale["change"], "0.21");
    assert_eq!(sale["printed"]["ok"], true, "{}", sale["printed"]);
    assert_eq!(
        sale["drawer"]["ok"], true,
        "cash was taken: the drawer opens"
    );

    let printed = till.printed(1);
    assert!(printed.contains("Ticket n° 1"), "{printed}");
    assert!(
        printed.contains("59.79"),
        "the printed receipt shows the total"
    );
    let reference = sale["receipt"]["reference"].as_str().expect("reference");
    let qr = till.scan_printed_qr("Ticket n° 1");
    assert!(
        qr.starts_with(&format!("{reference}:")),
        "the printed receipt carries the QR code a return scans, the reference and its proof: {qr}"
    );
    let events = till.printer.handle().events();
    assert!(
        format!("{events:?}").contains("Drawer"),
        "the printer simulator received the drawer kick: {events:?}"
    );

    // The preview is the same text, and a reprint is recorded as a duplicate.
    let preview = till.call("receipt", json!({"number": 1})).ok();
    assert_eq!(preview["text"], sale["receipt"]["text"]);
    let reprint = till.call("reprint", json!({"number": 1})).ok();
    assert_eq!(reprint["receipt"]["duplicate"], 1);
    let duplicate = till.printed_with("DUPLICATA");
    assert!(
        duplicate.contains("Ticket n° 1"),
        "the reprint is marked DUPLICATA: {duplicate}"
    );
}

#[test]
fn card_sale_through_the_terminal_and_split_with_cash() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let cart = json!({"lines": [
        {"product_id": "PHN-A55-128", "serials": ["490154203237518"]},
        line("ACC-COQ-S25", 1),
        line("ACC-VER-UNIV", 1)
    ]});
    let quote = till.call("quote", json!({"cart": cart})).ok();
    let total = money(&quote["total"]);
    assert_eq!(total.to_string(), "483.98");

    let payment = till.pay_by_card("240.00", "debit");
    assert_eq!(payment["state"], "approved", "{payment}");
    assert_eq!(payment["charged"], "240.00");
    let id = payment["payment_id"].as_str().expect("id");

    let sale = till
        .call(
            "sell",
            json!({"cart": cart, "tenders": [
                {"kind": "card", "amount": "240.00", "payment_id": id},
                {"kind": "cash", "amount": "250.00"}
            ]}),
        )
        .ok();
    assert_eq!(sale["change"], "6.02");
    let tenders = sale["ticket"]["tenders"].as_array().expect("tenders");
    assert_eq!(tenders[0]["kind"], "card");
    assert!(
        tenders[0]["reference"].is_string(),
        "the authorisation is kept"
    );
    let printed = till.printed(1);
    assert!(printed.contains("Carte bancaire"), "{printed}");
    assert!(
        printed.contains("490154203237518"),
        "the IMEI is on the receipt"
    );

    let used = till
        .call("card_payment_status", json!({"payment_id": id}))
        .ok();
    assert_eq!(used["state"], "used");
    assert_eq!(used["ticket"], 1);
    let again = till.call(
        "sell",
        json!({"cart": cart, "tenders": [{"kind": "card", "amount": "483.98", "payment_id": id}]}),
    );
    assert_eq!(
        again.code(),
        "payment_not_approved",
        "a card payment is recorded on one ticket only"
    );
}

#[test]
fn declined_card_then_cash() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    // The simulator declines amounts ending in .13.
    let declined = till.pay_by_card("10.13", "debit");
    assert_eq!(declined["state"], "declined", "{declined}");
    assert!(
        declined["message"]
            .as_str()
            .unwrap_or("")
            .contains("another")
    );
    let id = declined["payment_id"].as_str().expect("id");

    let cart = json!({"lines": [line("SRV-SIM", 1)]});
    let refused = till.call(
        "sell",
        json!({"cart": cart, "tenders": [{"kind": "card", "amount": "10.00", "payment_id": id}]}),
    );
    assert_eq!(refused.code(), "payment_not_approved");
    let without = till.call(
        "sell",
        json!({"cart": cart, "tenders": [{"kind": "card", "amount": "10.00"}]}),
    );
    assert_eq!(without.code(), "card_without_payment");

    let sale = till
        .call(
            "sell",
            json!({"cart": cart, "tenders": [{"kind": "cash", "amount": "10.00"}]}),
        )
        .ok();
    assert_eq!(
        sale["ticket"]["number"], 1,
        "the refused attempts recorded nothing"
    );
}

#[test]
fn a_terminal_that_never_answers_gives_an_unknown_outcome_the_cashier_resolves() {
    let till = TestTill::start("never-answer", Duration::from_secs(2));
    till.login("1234");
    let payment = till.pay_by_card("29.99", "debit");
    assert_eq!(payment["state"], "unknown", "{payment}");
    assert!(
        payment["message"]
            .as_str()
            .unwrap_or("")
            .contains("receipt"),
        "the cashier is told to check the terminal's receipt: {payment}"
    );
    let id = payment["payment_id"].as_str().expect("id");
    let cart = json!({"lines": [line("ACC-COQ-IP16", 1)]});
    let tender = json!([{"kind": "card", "amount": "29.99", "payment_id": id}]);
    assert_eq!(
        till.call("sell", json!({"cart": cart, "tenders": tender}))
            .code(),
        "payment_not_approved",
        "an unknown payment is not a tender until resolved"
    );
    assert_eq!(
        till.call("card_payment_cancel", json!({"payment_id": id}))
            .code(),
        "payment_unresolved"
    );
    let resolved = till
        .call(
            "card_payment_resolve",
            json!({"payment_id": id, "approved": true, "authorisation": "X12345"}),
        )
        .ok();
    assert_eq!(resolved["state"], "approved");
    let sale = till
        .call("sell", json!({"cart": cart, "tenders": tender}))
        .ok();
    assert_eq!(sale["ticket"]["tenders"][0]["reference"], "X12345");
}

#[test]
fn return_from_the_receipts_qr_code_and_without_it_with_a_manager() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let cart = json!({"lines": [line("ACC-CBL-CC1", 2), line("ACC-CHG-25W", 1)]});
    let sale = till
        .call(
            "sell",
            json!({"cart": cart, "tenders": [{"kind": "cash", "amount": "54.70"}]}),
        )
        .ok();
    assert_eq!(sale["ticket"]["number"], 1);
    let qr = till.scan_printed_qr("Ticket n° 1");

    let found = till.call("find_ticket", json!({"qr": qr})).ok();
    assert_eq!(found["ticket"]["number"], 1);
    assert_eq!(found["by_receipt"], true);
    assert_eq!(found["returnable"][0]["remaining"], 2);

    let request = json!({"original": 1, "lines": [{"line": 1, "quantity": 1}],
                         "refund_to": "store_credit", "by_receipt": true});
    let quote = till.call("return_quote", json!(request)).ok();
    assert_eq!(quote["total"], "-14.90");
    assert_eq!(quote["approvals_needed"], json!([]));
    let returned = till.call("return_items", request).ok();
    assert_eq!(returned["ticket"]["kind"], "return");
    assert_eq!(returned["ticket"]["total"], "-14.90");
    assert_eq!(returned["ticket"]["tenders"][0]["kind"], "store_credit");
    till.printed_with("-14.90");

    let again = till.call("find_ticket", json!({"number": 1})).ok();
    assert_eq!(again["returnable"][0]["returned"], 1);
    assert_eq!(again["returnable"][0]["remaining"], 1);
    assert_eq!(again["returns"], json!([2]));

    // Found by number only: a cashier needs a manager.
    let typed = json!({"original": 1, "lines": [{"line": 2, "quantity": 1}], "refund_to": "cash"});
    let refused = till.call("return_items", typed.clone());
    assert_eq!(refused.status, 403);
    assert_eq!(refused.code(), "approval_required");
    assert_eq!(refused.body["approval"], "refund_without_receipt");
    let wrong = till.call(
        "approve",
        json!({"pin": "1234", "action": "refund_without_receipt"}),
    );
    assert_eq!(
        wrong.code(),
        "approval_refused",
        "a cashier's PIN approves nothing"
    );
    let approval = till
        .call(
            "approve",
            json!({"pin": "9999", "action": "refund_without_receipt"}),
        )
        .ok();
    assert_eq!(approval["manager"]["name"], "Bruno");
    let mut approved = typed.clone();
    approved["approval"] = approval["approval_id"].clone();
    let returned = till.call("return_items", approved.clone()).ok();
    assert_eq!(returned["ticket"]["total"], "-24.90");
    assert_eq!(
        returned["drawer"]["ok"], true,
        "a cash refund opens the drawer"
    );
    assert_eq!(
        till.call("return_items", approved).code(),
        "approval_required",
        "an approval is used once"
    );
}

#[test]
fn price_override_and_large_discount_need_a_manager() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let cart = json!({"lines": [{"product_id": "ACC-CHG-65W", "unit_price": "39.90"},
                                {"product_id": "ACC-SD-128", "discount": {"percent": "50"}}]});
    let quote = till.call("quote", json!({"cart": cart})).ok();
    assert_eq!(
        quote["approvals_needed"],
        json!(["price_override", "discount_above_limit"])
    );
    let tenders = json!([{"kind": "cash", "amount": "100.00"}]);
    let refused = till.call("sell", json!({"cart": cart, "tenders": tenders}));
    assert_eq!(refused.body["approval"], "price_override");

    let mut approvals = Vec::new();
    for action in ["price_override", "discount_above_limit"] {
        let approval = till
            .call("approve", json!({"pin": "9999", "action": action}))
            .ok();
        approvals.push(approval["approval_id"].clone());
    }
    let mut approved = cart.clone();
    approved["approvals"] = json!(approvals);
    let quote = till.call("quote", json!({"cart": approved})).ok();
    assert_eq!(quote["approvals_needed"], json!([]));
    let sale = till
        .call("sell", json!({"cart": approved, "tenders": tenders}))
        .ok();
    assert_eq!(
        sale["ticket"]["total"], "48.85",
        "39.90 + 17.90 at half price"
    );

    // A manager needs nobody's approval.
    till.call("logout", json!({})).ok();
    till.login("9999");
    till.call("sell", json!({"cart": cart, "tenders": tenders}))
        .ok();
}

#[test]
fn customers_are_created_found_changed_and_named_on_tickets() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    let refused = till.call("customer_search", json!({"text": "zo"}));
    assert_eq!(
        refused.code(),
        "not_logged_in",
        "personal data needs a login"
    );
    till.login("1234");
    let zoe = till
        .call(
            "customer_create",
            json!({"name": " Zoé  Lefèvre ", "phone": "06 12 34 56 78", "email": "Zoe@Example.FR"}),
        )
        .ok();
    assert_eq!(zoe["name"], "Zoé Lefèvre");
    assert_eq!(zoe["phone"], "+33612345678");
    assert_eq!(zoe["phone_display"], "06 12 34 56 78");
    assert_eq!(zoe["email"], "Zoe@example.fr");
    let id = zoe["id"].as_str().expect("an id").to_string();

    for (request, code) in [
        (
            json!({"name": "Zoé", "phone": "06 12"}),
            "customer_phone_invalid",
        ),
        (
            json!({"name": "Zoé", "email": "zoe@"}),
            "customer_email_invalid",
        ),
        (json!({"name": "Zoé"}), "customer_contact_missing"),
        (
            json!({"name": " ", "phone": "0698765432"}),
            "customer_name_missing",
        ),
        (
            json!({"name": "Z", "phone": "+33 6 12 34 56 78"}),
            "customer_exists",
        ),
    ] {
        let answer = till.call("customer_create", request.clone());
        assert_eq!(answer.status, 422, "{request}");
        assert_eq!(answer.code(), code, "{request}");
    }

    for typed in ["lefe", "ZOE", "zoe@exa", "06 12 34", "+33612", "0033 6 12"] {
        let found = till.call("customer_search", json!({"text": typed})).ok();
        assert_eq!(found[0]["id"], id.as_str(), "`{typed}` finds Zoé: {found}");
    }

    let moved = till
        .call(
            "customer_update",
            json!({"id": id, "name": "Zoé Martin", "email": "zoe@example.fr"}),
        )
        .ok();
    assert_eq!(moved["phone"], serde_json::Value::Null);
    assert_eq!(
        till.call("customer_search", json!({"text": "0612"})).ok(),
        json!([]),
        "the old number no longer finds her"
    );
    assert_eq!(
        till.call("customer_get", json!({"id": id})).ok()["name"],
        "Zoé Martin"
    );

    let unknown = json!({"lines": [line("ACC-BAT-10K", 1)], "customer": "Mme Martin"});
    let answer = till.call("quote", json!({"cart": unknown}));
    assert_eq!(
        answer.code(),
        "unknown_customer",
        "a ticket names a known customer only"
    );

    let cart = json!({"lines": [line("ACC-BAT-10K", 1)], "customer": id});
    let sale = till
        .call(
            "sell",
            json!({"cart": cart, "tenders": [{"kind": "cash", "amount": "34.90"}]}),
        )
        .ok();
    assert_eq!(sale["ticket"]["customer"], id.as_str());
    assert!(
        sale["receipt"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("Client Zoé Martin"),
        "the receipt names the customer: {}",
        sale["receipt"]["text"]
    );
}

#[test]
fn parked_carts_survive_a_restart() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let martin = till
        .call(
            "customer_create",
            json!({"name": "Mme Martin", "phone": "06 12 34 56 78"}),
        )
        .ok();
    let cart = json!({"lines": [line("ACC-BAT-10K", 1)], "customer": martin["id"]});
    let parked = till
        .call("park_cart", json!({"cart": cart, "label": "manteau rouge"}))
        .ok();
    assert_eq!(parked["total"], "34.90");
    let dir = till.stop();

    let till = TestTill::start_in(dir, "amount-rule", TIMEOUT);
    till.login("1234");
    let list = till.call("parked_carts", json!({})).ok();
    assert_eq!(list[0]["label"], "manteau rouge");
    let resumed = till.call("resume_cart", json!({"id": list[0]["id"]})).ok();
    assert_eq!(resumed["customer"], martin["id"]);
    assert_eq!(resumed["lines"][0]["product_id"], "ACC-BAT-10K");
    assert_eq!(till.call("parked_carts", json!({})).ok(), json!([]));
}

#[test]
fn cash_movements_blind_count_and_z_closure_totals_match_the_tickets() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    till.call(
        "cash_movement",
        json!({"kind": "opening_float", "amount": "150.00"}),
    )
    .ok();
    let sales = [
        (json!({"lines": [line("ACC-CBL-CC1", 1)]}), "20.00"),
        (
            json!({"lines": [line("SRV-SETUP", 1), line("ACC-VER-UNIV", 2)]}),
            "60.00",
        ),
    ];
    let mut total = rust_decimal::Decimal::ZERO;
    for (cart, cash) in &sales {
        let sale = till
            .call(
                "sell",
                json!({"cart": cart, "tenders": [{"kind": "cash", "amount": cash}]}),
            )
            .ok();
        total += money(&sale["ticket"]["total"]);
    }
    let returned = till
        .call(
            "return_items",
            json!({"original": 2, "lines": [{"line": 2, "quantity": 1}], "refund_to": "cash",
                   "approval": till.call("approve", json!({"pin": "9999", "action": "refund_without_receipt"})).ok()["approval_id"]}),
        )
        .ok();
    total += money(&returned["ticket"]["total"]);
    till.call(
        "cash_movement",
        json!({"kind": "pay_out", "amount": "5.00", "reason": "timbres"}),
    )
    .ok();

    let x = till.call("report_x", json!({})).ok();
    assert_eq!(
        money(&x["totals"]["total"]),
        total,
        "X report total = sum of the tickets"
    );
    assert_eq!(
        x["expected_cash"],
        serde_json::Value::Null,
        "the cashier's count is blind"
    );
    till.login("9999"); // the manager reads the expected cash
    let x = till.call("report_x", json!({})).ok();
    till.login("1234");
    let expected_cash = money(&x["expected_cash"]);
    assert_eq!(
        expected_cash.to_string(),
        "203.89",
        "150 + 14.90 + 58.98 - 14.99 - 5"
    );

    let count = till
        .call(
            "cash_movement",
            json!({"kind": "count", "amount": "200.00"}),
        )
        .ok();
    assert_eq!(count["expected"], "203.89");
    assert_eq!(
        count["difference"], "-3.89",
        "a blind count reveals the cash missing"
    );

    let z = till
        .call("close", json!({"level": "day", "print": true}))
        .ok();
    assert_eq!(z["level"], "day");
    assert_eq!(
        money(&z["totals"]["total"]),
        total,
        "Z total = sum of the tickets"
    );
    assert_eq!(z["totals"]["sales"], 2);
    assert_eq!(z["totals"]["returns"], 1);
    let cash = z["totals"]["tenders"]
        .as_array()
        .expect("tenders")
        .iter()
        .find(|t| t["kind"] == "cash")
        .expect("cash total");
    assert_eq!(money(&cash["amount"]), total, "everything was paid in cash");
    assert_eq!(z["printed"]["ok"], true);
    let printed = till.printed_with("CLOTURE JOURNALIERE (Z)");
    assert!(printed.contains(&total.to_string()), "{printed}");

    let month = till.call("close", json!({"level": "month"}));
    assert_eq!(month.code(), "manager_only");
}

#[test]
fn device_tests_and_status_bar() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let status = till.call("status", json!({})).ok();
    assert_eq!(status["devices"]["printer"]["ready"], true, "{status}");
    assert_eq!(status["sync"]["enrolled"], false);
    assert!(
        status["sync"]["waiting"].as_u64().expect("waiting") > 0,
        "records wait for head office"
    );

    assert_eq!(till.call("test_print", json!({})).ok()["ok"], true);
    till.printed_with("TEST IMPRIMANTE");
    let payment = till.call("test_payment", json!({})).ok();
    assert_eq!(payment["amount"], "1.00");

    let drawer = till.call("open_drawer", json!({}));
    assert_eq!(drawer.body["approval"], "drawer_open_without_sale");
    assert_eq!(
        till.call("set_devices", json!({"printer": "none"})).code(),
        "manager_only"
    );

    std::fs::write(till.printer.out_dir().join("paper-out"), b"").expect("control file");
    let sale = till
        .call(
            "sell",
            json!({"cart": {"lines": [line("SRV-SIM", 1)]}, "tenders": [{"kind": "cash", "amount": "10.00"}]}),
        )
        .ok();
    assert_eq!(sale["printed"]["ok"], false, "paper out: nothing printed");
    assert!(
        sale["printed"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("paper"),
        "{}",
        sale["printed"]
    );
    assert_eq!(
        sale["ticket"]["number"], 1,
        "the sale is recorded whatever the printer does"
    );
}

#[test]
fn a_payment_interrupted_by_a_crash_is_unknown_after_restart() {
    use pos_payment_terminal::{FileJournal, Intent, IntentJournal, Kind};
    let dir = tempfile::tempdir().expect("temp dir");
    let intents = pos_till_service::service::intents_dir_for(&dir.path().join("till.db"));
    // The till stopped after recording the intent, before the terminal's answer.
    FileJournal::open(&intents)
        .expect("journal")
        .record_intent(&Intent {
            reference: "CRASHED001".into(),
            kind: Kind::Debit,
            amount_cents: 4990,
            currency: "978".into(),
            terminal: "caisse-ap tcp://127.0.0.1:1".into(),
            at_ms: 0,
        })
        .expect("intent");
    let till = TestTill::start_in(dir, "amount-rule", TIMEOUT);
    till.login("1234");
    let unresolved = till.call("card_payments_unresolved", json!({})).ok();
    assert_eq!(unresolved[0]["payment_id"], "CRASHED001", "{unresolved}");
    assert_eq!(unresolved[0]["state"], "unknown");
    assert_eq!(unresolved[0]["amount"], "49.90");
    let status = till.call("status", json!({})).ok();
    assert_eq!(status["devices"]["terminal"]["ready"], false);
    let declined = till
        .call(
            "card_payment_resolve",
            json!({"payment_id": "CRASHED001", "approved": false}),
        )
        .ok();
    assert_eq!(declined["state"], "declined");
    assert_eq!(
        till.call("card_payments_unresolved", json!({})).ok(),
        json!([])
    );
}

/// Stores a web order in the till's ledger database as the sync download does.
fn receive_web_order(db: &std::path::Path, id: &str, payment: &str) {
    let order = json!({
        "id": id, "shop": "DEMO",
        "lines": [
            {"line": 1, "product_id": "ACC-COQ-IP16", "label": "Coque silicone iPhone 16", "quantity": 2, "unit_price": "29.99"},
            {"line": 2, "product_id": "ACC-CBL-CC1", "label": "Câble USB-C 1 m", "quantity": 1, "unit_price": "14.90"}
        ],
        "payment": payment, "total": "74.88", "pickup_code": format!("{id}CODE"),
        "customer": "Chloé Bernard", "reference": format!("WEB-{id}"),
        "state": "placed", "placed_at": "2026-03-30T07:00:00.000000Z"
    });
    rusqlite::Connection::open(db)
        .expect("ledger")
        .execute(
            "INSERT INTO web_orders (id, body, server_state, placed_at) VALUES (?1, ?2, 'placed', ?3)",
            rusqlite::params![id, order.to_string(), "2026-03-30T07:00:00.000000Z"],
        )
        .expect("web order stored");
}

#[test]
fn click_and_collect_prepare_hand_over_with_payment_partial_pickup_and_refusal() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    receive_web_order(&till.db(), "WO1", "pay_in_shop");
    receive_web_order(&till.db(), "WO2", "paid_online");
    receive_web_order(&till.db(), "WO3", "paid_online");
    till.login("1234");

    let placed = till.call("web_orders", json!({"state": "placed"})).ok();
    assert_eq!(placed.as_array().map(Vec::len), Some(3), "{placed}");
    assert!(
        !placed.to_string().contains("CODE"),
        "the till never shows a pickup code: the customer gives it"
    );
    let ready = till.call("web_order_ready", json!({"id": "WO1"})).ok();
    assert_eq!(ready["state"], "ready");

    // The customer shows their code: the order is found by it, typed loosely.
    let found = till
        .call("web_order_by_code", json!({"code": "wo1-code"}))
        .ok();
    assert_eq!(found["id"], "WO1");
    assert_eq!(found["payment"], "pay_in_shop");
    let unknown = till.call("web_order_by_code", json!({"code": "NOPE"}));
    assert_eq!(unknown.code(), "pickup_code_unknown");

    // They take one of the two cases: a partial pickup, paid in cash for what they take.
    let lines = json!([{"line": 1, "quantity": 1}, {"line": 2, "quantity": 1}]);
    let quote = till
        .call("web_order_quote", json!({"order": "WO1", "lines": lines}))
        .ok();
    assert_eq!(quote["amount_due"], "44.89");
    assert_eq!(quote["partial"], true);
    let paying = till
        .call(
            "web_order_quote",
            json!({"order": "WO1", "lines": lines,
                   "tenders": [{"kind": "card", "amount": "20.00"}, {"kind": "cash", "amount": "30.00"}]}),
        )
        .ok();
    assert_eq!(
        (
            &paying["total"],
            &paying["tendered"],
            &paying["amount_due"],
            &paying["change"]
        ),
        (
            &json!("44.89"),
            &json!("50.00"),
            &json!("0.00"),
            &json!("5.11")
        ),
        "the pickup's payment screen shows the engine's settlement of the tenders taken so far"
    );
    let too_many = till.call(
        "web_order_quote",
        json!({"order": "WO1", "lines": [{"line": 1, "quantity": 3}]}),
    );
    assert_eq!(too_many.code(), "picked_lines_invalid");
    let wrong_code = till.call(
        "web_order_handover",
        json!({"order": "WO1", "pickup_code": "WO2CODE", "lines": lines,
               "tenders": [{"kind": "cash", "amount": "50.00"}]}),
    );
    assert_eq!(wrong_code.code(), "pickup_code_wrong");
    let handed = till
        .call(
            "web_order_handover",
            json!({"order": "WO1", "pickup_code": "WO1CODE", "lines": lines,
                   "tenders": [{"kind": "cash", "amount": "50.00"}]}),
        )
        .ok();
    assert_eq!(handed["order"]["state"], "partially_collected");
    let sale = &handed["sale"];
    assert_eq!(money(&sale["ticket"]["total"]), "44.89".parse().unwrap());
    assert_eq!(money(&sale["change"]), "5.11".parse().unwrap());
    assert_eq!(sale["drawer"]["ok"], true, "cash taken: the drawer opens");
    let number = sale["ticket"]["number"].as_u64().expect("ticket number");
    let printed = till.printed_with(&format!("Ticket n° {number} "));
    assert!(printed.contains("Retrait commande web WO1"), "{printed}");
    assert!(
        printed.contains("TOTAL TTC EUR                        44.89"),
        "{printed}"
    );
    let again = till.call(
        "web_order_handover",
        json!({"order": "WO1", "pickup_code": "WO1CODE", "tenders": [{"kind": "cash", "amount": "44.89"}]}),
    );
    assert_eq!(
        again.code(),
        "web_order_closed",
        "an order is handed over once"
    );

    // Paid online: handed over without any payment.
    let taking_money = till.call(
        "web_order_handover",
        json!({"order": "WO2", "pickup_code": "WO2CODE", "tenders": [{"kind": "cash", "amount": "74.88"}]}),
    );
    assert_eq!(taking_money.code(), "nothing_to_pay");
    let collected = till
        .call(
            "web_order_handover",
            json!({"order": "WO2", "pickup_code": "wo2code"}),
        )
        .ok();
    assert_eq!(collected["order"]["state"], "collected");
    assert!(collected["sale"].is_null());

    // Refused at the counter, with a reason.
    let no_reason = till.call("web_order_refuse", json!({"order": "WO3", "reason": " "}));
    assert_eq!(no_reason.code(), "reason_missing");
    let refused = till
        .call(
            "web_order_refuse",
            json!({"order": "WO3", "reason": "wrong colour"}),
        )
        .ok();
    assert_eq!(refused["state"], "refused");

    let open = till.call("web_orders", json!({"state": "placed"})).ok();
    assert_eq!(open.as_array().map(Vec::len), Some(0), "{open}");
}

#[test]
fn device_settings_a_manager_saves_are_used_after_a_restart() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("9999");
    let printer = till.printer.uri().to_string();
    let set = till
        .call(
            "set_devices",
            json!({"printer": printer, "terminal": "none"}),
        )
        .ok();
    assert_eq!(set["printer"]["uri"], printer.as_str());
    assert_eq!(set["terminal"]["uri"], "none");
    let bad = till.call("set_devices", json!({"printer": "ftp://x"}));
    assert_eq!(bad.code(), "device_uri_invalid");
    let db = till.db();
    let _dir = till.stop();

    let clock = std::sync::Arc::new(pos_till::system::SystemClock);
    let saved = pos_till_service::Service::saved_device_uris(&db, clock).expect("saved devices");
    assert_eq!(
        saved,
        (Some(printer), Some("none".to_string())),
        "the refused URI was not saved"
    );
}

#[test]
fn exchange_from_the_receipt_paid_by_card_refunded_or_even() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    // Two cables (14.90) and a charger (24.90), paid in cash.
    let cart = json!({"lines": [line("ACC-CBL-CC1", 2), line("ACC-CHG-25W", 1)]});
    let sale = till
        .call(
            "sell",
            json!({"cart": cart, "tenders": [{"kind": "cash", "amount": "54.70"}]}),
        )
        .ok();
    assert_eq!(sale["ticket"]["number"], 1);
    let qr = till.scan_printed_qr("Ticket n° 1");
    till.call("find_ticket", json!({"qr": qr})).ok();

    // One cable back for a 49.90 charger: 35.00 to pay, by card.
    let mut request = json!({"original": 1, "returned": [{"line": 1, "quantity": 1}],
                             "cart": {"lines": [line("ACC-CHG-65W", 1)]},
                             "refund_to": "original", "by_receipt": true});
    let quote = till.call("exchange_quote", request.clone()).ok();
    assert_eq!(quote["returned_total"], "-14.90");
    assert_eq!(quote["sold_total"], "49.90");
    assert_eq!(quote["total"], "35.00");
    assert_eq!(quote["amount_due"], "35.00");
    assert_eq!(quote["approvals_needed"], json!([]));
    assert_eq!(quote["lines"][0]["original_line"], 1);
    assert_eq!(
        till.call("exchange", request.clone()).code(),
        "tenders_short",
        "a positive difference must be paid"
    );
    let payment = till.pay_by_card("35.00", "debit");
    assert_eq!(payment["state"], "approved", "{payment}");
    request["tenders"] =
        json!([{"kind": "card", "amount": "35.00", "payment_id": payment["payment_id"]}]);
    let exchanged = till.call("exchange", request).ok();
    assert_eq!(exchanged["ticket"]["kind"], "exchange");
    assert_eq!(exchanged["ticket"]["total"], "35.00");
    assert_eq!(exchanged["ticket"]["original"], 1);
    let printed = till.printed_with("Echange n° 2");
    for mention in [
        "ARTICLES REPRIS",
        "ARTICLES VENDUS",
        "A payer",
        "Carte bancaire",
    ] {
        assert!(
            printed.contains(mention),
            "{mention} on the receipt: {printed}"
        );
    }

    // The other cable for a 9.90 service: 5.00 back, as store credit.
    let cheaper = json!({"original": 1, "returned": [{"line": 1, "quantity": 1}],
                         "cart": {"lines": [line("SRV-POSE", 1)]},
                         "refund_to": "store_credit", "by_receipt": true});
    let quote = till.call("exchange_quote", cheaper.clone()).ok();
    assert_eq!(quote["total"], "-5.00");
    assert_eq!(quote["refund"][0]["kind"], "store_credit");
    let refunded = till.call("exchange", cheaper).ok();
    assert_eq!(refunded["ticket"]["tenders"][0]["kind"], "store_credit");
    assert_eq!(refunded["ticket"]["tenders"][0]["amount"], "-5.00");

    // Nothing left of line 1; line 2 typed by number needs a manager.
    let found = till.call("find_ticket", json!({"number": 1})).ok();
    assert_eq!(found["returnable"][0]["remaining"], 0);
    assert_eq!(found["returns"], json!([2, 3]));
    let even = json!({"original": 1, "returned": [{"line": 2, "quantity": 1}],
                      "cart": {"lines": [line("ACC-CHG-25W", 1)]}, "refund_to": "original"});
    let quote = till.call("exchange_quote", even.clone()).ok();
    assert_eq!(quote["total"], "0.00");
    assert_eq!(quote["approvals_needed"], json!(["refund_without_receipt"]));
    let refused = till.call("exchange", even.clone());
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["approval"], "refund_without_receipt");
    let approval = till
        .call(
            "approve",
            json!({"pin": "9999", "action": "refund_without_receipt"}),
        )
        .ok();
    let mut approved = even;
    approved["approval"] = approval["approval_id"].clone();
    let swapped = till.call("exchange", approved).ok();
    assert_eq!(swapped["ticket"]["total"], "0.00");
    assert_eq!(
        swapped["ticket"]["tenders"],
        json!([]),
        "an even swap takes no tender"
    );
    assert!(swapped["drawer"].is_null(), "no cash, no drawer");

    // The exchange's own new line can come back; what it took back cannot.
    let from_exchange = till.call("find_ticket", json!({"number": 2})).ok();
    assert_eq!(from_exchange["returnable"][0]["remaining"], 0);
    assert_eq!(from_exchange["returnable"][1]["remaining"], 1);
}

#[test]
fn a_web_order_paid_online_is_returned_by_its_pickup_qr_code_or_with_a_manager() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    receive_web_order(&till.db(), "WO7", "paid_online");
    receive_web_order(&till.db(), "WO8", "pay_in_shop");
    till.login("1234");
    let not_yet = till.call("web_order_return_find", json!({"text": "WEB-WO7"}));
    assert_eq!(not_yet.code(), "web_order_not_collected");
    till.call(
        "web_order_handover",
        json!({"order": "WO7", "pickup_code": "WO7CODE", "lines": [{"line": 1, "quantity": 2}]}),
    )
    .ok();

    // By the pickup code (the customer's QR code, or typed): the proof of purchase.
    let found = till
        .call("web_order_return_find", json!({"text": "wo7-code"}))
        .ok();
    assert_eq!(found["order"]["id"], "WO7");
    assert_eq!(found["by_pickup_code"], true);
    assert_eq!(
        found["lines"],
        json!([{"line": 1, "product_id": "ACC-COQ-IP16", "label": "Coque silicone iPhone 16",
                "collected": 2, "returned": 0, "unit_price": "29.99", "vat_rate": "20"}]),
        "only the cases were handed over"
    );
    let request = json!({"order": "WO7", "lines": [{"line": 1, "quantity": 1}],
                         "refund_to": "cash", "by_pickup_code": true});
    let quote = till.call("web_order_return_quote", request.clone()).ok();
    assert_eq!(quote["total"], "-29.99");
    assert_eq!(quote["approvals_needed"], json!([]));
    assert_eq!(quote["tenders"][0]["kind"], "cash");
    let online = till.call(
        "web_order_return",
        json!({"order": "WO7", "lines": [{"line": 1, "quantity": 1}], "refund_to": "original",
               "by_pickup_code": true}),
    );
    assert_eq!(online.code(), "web_refund_to_original");
    let returned = till.call("web_order_return", request).ok();
    assert_eq!(returned["ticket"]["kind"], "return");
    assert_eq!(returned["ticket"]["web_order"], "WO7");
    assert_eq!(
        returned["drawer"]["ok"], true,
        "a cash refund opens the drawer"
    );
    let number = returned["ticket"]["number"]
        .as_u64()
        .expect("ticket number");
    let printed = till.printed_with(&format!("Retour n° {number} "));
    assert!(printed.contains("Retour commande web WO7"), "{printed}");

    // By its reference only: a manager approves.
    let typed = till
        .call("web_order_return_find", json!({"text": "web-wo7"}))
        .ok();
    assert_eq!(typed["lines"][0]["returned"], 1);
    let second = json!({"order": "WO7", "lines": [{"line": 1, "quantity": 1}],
                        "refund_to": "store_credit"});
    let quote = till.call("web_order_return_quote", second.clone()).ok();
    assert_eq!(quote["approvals_needed"], json!(["refund_without_receipt"]));
    let refused = till.call("web_order_return", second.clone());
    assert_eq!(refused.code(), "approval_required");
    let approval = till
        .call(
            "approve",
            json!({"pin": "9999", "action": "refund_without_receipt"}),
        )
        .ok();
    let mut approved = second.clone();
    approved["approval"] = approval["approval_id"].clone();
    let returned = till.call("web_order_return", approved).ok();
    assert_eq!(returned["ticket"]["tenders"][0]["kind"], "store_credit");
    assert_eq!(returned["ticket"]["total"], "-29.99");
    let over = till.call(
        "web_order_return_quote",
        json!({"order": "WO7", "lines": [{"line": 1, "quantity": 1}], "refund_to": "cash"}),
    );
    assert_eq!(
        over.code(),
        "return_exceeds_collected",
        "two collected, two returned"
    );
    // Paid in the shop: its sale ticket is the way back.
    let in_shop = till.call("web_order_return_find", json!({"text": "WEB-WO8"}));
    assert_eq!(in_shop.code(), "web_order_paid_in_shop");
}

#[test]
fn a_credit_notes_slip_carries_its_number_as_a_qr_code_and_a_code_128() {
    let till = TestTill::start("amount-rule", TIMEOUT);
    till.login("1234");
    let cart = json!({"lines": [line("ACC-CBL-CC1", 1)]});
    till.call(
        "sell",
        json!({"cart": cart, "tenders": [{"kind": "cash", "amount": "14.90"}]}),
    )
    .ok();
    let qr = till.scan_printed_qr("Ticket n° 1");
    till.call("find_ticket", json!({"qr": qr})).ok();
    let returned = till
        .call(
            "return_items",
            json!({"original": 1, "lines": [{"line": 1, "quantity": 1}],
                   "refund_to": "store_credit", "by_receipt": true}),
        )
        .ok();
    let number = returned["credit_notes"][0]["scan"]
        .as_str()
        .expect("the return issued a credit note")
        .to_string();
    let slip = till.printed_with("AVOIR");
    assert!(
        slip.contains(&format!("[CODE128 {number}]")),
        "the slip's 1D barcode reads back as the credit note's number:\n{slip}"
    );
    assert_eq!(
        till.scan_printed_qr("AVOIR"),
        number,
        "the slip's QR code carries the same number"
    );
}
