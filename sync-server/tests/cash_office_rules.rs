//! The cash office's rule set at head office (`sync-server admin cash-office set`) reaches a
//! shop's till through the changes feed over real HTTP, on every backend: after its next sync
//! the till's own API refuses a cashier's pay-out above head office's limit, which the
//! built-in limit allowed before, and another shop's till keeps the built-in rule.

mod support;

use pos_domain::Money;
use pos_till::staff::StaffRole;
use pos_till_service::api::{CashMovementKind, CashMovementRequest, Empty, LoginRequest};
use pos_till_service::devices::Devices;
use pos_till_service::{Service, ServiceOptions};
use support::*;

on_every_backend!(a_pay_out_above_head_offices_limit_is_refused_after_the_next_sync);

fn pay_out(amount: &str) -> CashMovementRequest {
    CashMovementRequest {
        kind: CashMovementKind::PayOut,
        amount: amount.into(),
        reason: Some("window cleaner".into()),
        approval: None,
    }
}

/// The till's application service over the enrolled test till's ledger, a cashier logged in.
fn cashier_service(till: &mut TestTill) -> Service {
    till.till
        .add_staff("alice", "Alice", StaffRole::Cashier, "1234", [7; 16])
        .expect("a cashier");
    let service = Service::open(
        &till.path,
        till.clock.clone(),
        Devices::default(),
        ServiceOptions::default(),
    )
    .expect("the service opens the till's ledger");
    service
        .login(LoginRequest {
            pin: "1234".into(),
            staff_id: None,
        })
        .expect("the cashier logs in");
    service
}

async fn a_pay_out_above_head_offices_limit_is_refused_after_the_next_sync(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let paris = enrolled_till(&server, SHOP_A, "PARIS-1", 41).await;
    let lyon = enrolled_till(&server, SHOP_B, "LYON-1", 42).await;

    let set = sync_server_json(
        &server.db_url,
        &[
            "admin",
            "cash-office",
            "set",
            "--shop",
            SHOP_A,
            "--payout-limit",
            "20.00",
            "--closing-hour",
            "19",
        ],
    );
    assert_eq!(set["changed"], 1, "one shop's rule written: {set}");

    let (paris, lyon) = blocking(move || {
        let mut paris = paris;
        let mut lyon = lyon;
        let service = cashier_service(&mut paris);
        service
            .cash_movement(pay_out("30.00"))
            .expect("before the sync the built-in limit (50.00) allows 30.00");

        service.sync_now(Empty {}).expect("the till syncs");
        let rules = service.cash_office_rules(Empty {}).expect("the rules");
        assert_eq!(rules.payout_limit, "20.00", "head office's limit applies");
        assert_eq!(rules.closing_hour, Some(19), "and its closing hour");
        let refused = service
            .cash_movement(pay_out("30.00"))
            .expect_err("a pay-out above head office's limit needs a manager after the sync");
        assert_eq!(refused.code, "approval_required", "{}", refused.message);
        service
            .cash_movement(pay_out("20.00"))
            .expect("a pay-out at head office's limit needs nobody");
        drop(service);

        lyon.till.sync(|_, _, _| {}).expect("the other shop syncs");
        assert_eq!(
            lyon.till.cash_office_rules().unwrap().payout_limit,
            Money::from_cents(5_000),
            "a rule set for one shop never reaches another shop's till"
        );
        (paris, lyon)
    })
    .await;

    // Reset: the built-in rule applies again at the next sync.
    sync_server_json(
        &server.db_url,
        &["admin", "cash-office", "reset", "--shop", SHOP_A],
    );
    blocking(move || {
        let mut paris = paris;
        paris.till.sync(|_, _, _| {}).expect("sync");
        assert_eq!(
            paris.till.cash_office_rules().unwrap().payout_limit,
            Money::from_cents(5_000),
            "a reset rule is withdrawn from the till at its next sync"
        );
        drop(lyon);
    })
    .await;
    server.stop().await;
}
