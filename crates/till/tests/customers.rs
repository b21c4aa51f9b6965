//! The customer directory at the till: a ticket names its customer by id only (the details
//! stay out of the signed ledger), a sale naming an unknown customer writes nothing, receipts
//! show the customer's current name, the directory survives a restart, and the `till
//! customers` commands (erasing one leaves the ledger intact).

mod support;

use pos_domain::Money;
use pos_domain::customer::ContactInput;
use pos_domain::record::{Chain, Depth};
use pos_domain::tender::{Tender, TenderKind};
use pos_till::Till;
use pos_till::requests::{SaleLineRequest, SaleRequest};
use support::{SIMPLE_SALE, new_till, run_till, text};

fn zoe() -> ContactInput {
    ContactInput {
        name: "Zoé Lefèvre".into(),
        phone: Some("06 12 34 56 78".into()),
        email: Some("zoe.lefevre@example.fr".into()),
    }
}

fn sale_to(customer: &str) -> SaleRequest {
    SaleRequest {
        operator: Some("alice".into()),
        lines: vec![SaleLineRequest {
            product_id: Some("ACC-COQ-IP16".into()),
            ..Default::default()
        }],
        tenders: vec![Tender {
            kind: TenderKind::Cash,
            amount: Money::from_cents(2999),
            reference: None,
            payment: None,
        }],
        customer: Some(customer.into()),
        ..Default::default()
    }
}

#[test]
fn a_ticket_names_its_customer_by_id_and_the_receipt_by_name() {
    let mut t = new_till();
    let zoe = t.till.create_customer(&zoe(), [1; 16]).unwrap();
    let before = t.till.chain_length(Chain::Ticket).unwrap();
    let refused = t.till.sell(&sale_to("Mme Martin")).unwrap_err();
    assert_eq!(refused.code(), "unknown_customer");
    assert!(
        refused.to_string().contains("search them again"),
        "{refused}"
    );
    assert_eq!(
        t.till.chain_length(Chain::Ticket).unwrap(),
        before,
        "a refused sale writes nothing"
    );

    let sold = t.till.sell(&sale_to(&zoe.id)).unwrap();
    assert_eq!(sold.ticket.customer.as_deref(), Some(zoe.id.as_str()));
    let stored = t.till.ticket(Chain::Ticket, sold.number).unwrap();
    let body = serde_json::to_string(&stored.ticket).unwrap();
    for personal in ["Zoé", "Lefèvre", "0612345678", "+33612345678", "example.fr"] {
        assert!(
            !body.contains(personal),
            "the signed ticket holds no personal data ({personal})"
        );
    }
    let receipt = t.till.receipt_preview(sold.number).unwrap();
    assert!(
        receipt.text.contains("Client Zoé Lefèvre"),
        "{}",
        receipt.text
    );

    // Renamed: receipts follow; the signed ticket does not change.
    t.till
        .update_customer(
            &zoe.id,
            &ContactInput {
                name: "Zoé Martin".into(),
                ..self::zoe()
            },
        )
        .unwrap();
    let receipt = t.till.receipt_preview(sold.number).unwrap();
    assert!(
        receipt.text.contains("Client Zoé Martin"),
        "{}",
        receipt.text
    );
    assert!(t.till.verify(Depth::Full).unwrap().intact());

    // The directory survives a restart.
    let path = t.path.clone();
    let clock = t.clock.clone();
    drop(t.till);
    let reopened = Till::open(&path, clock).unwrap();
    assert_eq!(
        reopened.search_customers("martin", 5).unwrap()[0].id,
        zoe.id
    );
}

#[test]
fn the_customers_commands_add_list_and_search() {
    let t = new_till();
    let added = run_till(
        &t.path,
        &[
            "--json",
            "customers",
            "add",
            "--name",
            "Zoé Lefèvre",
            "--phone",
            "06 12 34 56 78",
        ],
        "",
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let zoe: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    assert_eq!(zoe["phone"], "+33612345678");
    let id = zoe["id"].as_str().unwrap().to_string();

    let refused = run_till(
        &t.path,
        &["customers", "add", "--name", "Zoé", "--phone", "06 12"],
        "",
    );
    assert_eq!(refused.status.code(), Some(2), "input refused");
    assert!(text(&refused.stderr).contains("06 12 34 56 78"));

    let found = run_till(&t.path, &["customers", "search", "+33 6 12 34"], "");
    assert!(found.status.success());
    assert!(text(&found.stdout).contains(&id), "{}", text(&found.stdout));
    let none = run_till(&t.path, &["customers", "search", "dupont"], "");
    assert_eq!(text(&none.stdout), "");
    let listed = run_till(&t.path, &["customers", "list"], "");
    assert!(text(&listed.stdout).contains("Zoé Lefèvre"));

    // The CLI's sale on stdin names the customer by id too.
    let sale = SIMPLE_SALE.replace(r#""tenders""#, &format!(r#""customer":"{id}","tenders""#));
    let sold = run_till(&t.path, &["sell"], &sale);
    assert!(sold.status.success(), "{}", text(&sold.stderr));

    let erased = run_till(&t.path, &["customers", "erase", &id], "");
    assert!(erased.status.success(), "{}", text(&erased.stderr));
    let found = run_till(&t.path, &["customers", "search", "zoe"], "");
    assert_eq!(text(&found.stdout), "", "erased");
    let verified = run_till(&t.path, &["verify"], "");
    assert!(
        verified.status.success(),
        "the ledger is untouched by the erasure"
    );
}
