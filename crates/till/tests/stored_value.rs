//! Credit notes and gift cards at the till: a refund to store credit issues a numbered credit
//! note with its expiry and slip; it is spent in part and the rest stays; a gift card sold is
//! no revenue; offline redemptions stay within head office's caps and are recorded as such;
//! head office's balance lifts the offline caps but not the balance; expiry and cancellation
//! are records of the stored_value chain; the ledger still verifies.

mod support;

use pos_domain::Money;
use pos_domain::closure::ClosureLevel;
use pos_domain::record::{Chain, Depth};
use pos_domain::stored_value::{
    InstrumentKind, InstrumentNumber, InstrumentState, MovementKind, StoredValueRules,
};
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::ReturnLine;
use pos_till::requests::{ReturnRequest, SaleLineRequest, SaleRequest};
use pos_till::stored_value::{GiftCardRequest, StoredValueRequest};
use support::{TestTill, new_till, run_till, text};

fn tender(kind: TenderKind, cents: i64, reference: Option<&str>) -> Tender {
    Tender {
        kind,
        amount: Money::from_cents(cents),
        reference: reference.map(str::to_string),
        payment: None,
    }
}

fn sale(product: &str, tenders: Vec<Tender>) -> SaleRequest {
    SaleRequest {
        operator: Some("alice".into()),
        lines: vec![SaleLineRequest {
            product_id: Some(product.into()),
            quantity: Some(1),
            ..Default::default()
        }],
        tenders,
        ..Default::default()
    }
}

/// A till whose new numbers come from a counter, so tests know them.
fn till() -> TestTill {
    let mut t = new_till();
    let mut n = 0u8;
    t.till.set_random_source(Box::new(move || {
        n += 1;
        Ok([n; 16])
    }));
    t
}

/// A case (29.99) sold in cash then returned to store credit: the credit note it issued.
fn credit_note(t: &mut TestTill) -> InstrumentNumber {
    t.till
        .sell(&sale(
            "ACC-COQ-IP16",
            vec![tender(TenderKind::Cash, 2999, None)],
        ))
        .unwrap();
    let back = t
        .till
        .return_items(&ReturnRequest {
            operator: Some("alice".into()),
            original: 1,
            lines: vec![ReturnLine {
                line: 1,
                quantity: 1,
                serials: vec![],
            }],
            tenders: Some(vec![tender(TenderKind::StoreCredit, -2999, None)]),
            ..Default::default()
        })
        .unwrap();
    let issue = &back.ticket.stored_value[0];
    assert_eq!(issue.kind, MovementKind::Issue);
    issue.number.clone()
}

#[test]
fn a_refund_to_store_credit_issues_a_credit_note_spent_in_part_with_the_rest_kept() {
    let mut t = till();
    let note = credit_note(&mut t);
    assert_eq!(note.kind(), InstrumentKind::CreditNote);
    let known = t.till.instrument(note.as_str()).unwrap();
    assert_eq!(
        known.state.balance,
        Money::from_cents(2999),
        "the note holds what was refunded"
    );
    assert_eq!(
        known.state.expires,
        Some(t.till.shop_day() + chrono::Days::new(365)),
        "without head office's setting a note is valid 365 days"
    );
    let slips = t.till.credit_note_slips(2).unwrap();
    assert_eq!(slips.len(), 1);
    assert_eq!(
        slips[0].scan,
        note.as_str(),
        "the QR and barcode carry the number"
    );
    assert!(slips[0].text.contains(&note.grouped()), "{}", slips[0].text);
    assert!(slips[0].text.contains("29.99"), "{}", slips[0].text);

    // Spent in part on a cable (14.90), typed grouped as on the slip.
    let spent = t
        .till
        .sell(&sale(
            "ACC-CBL-CC1",
            vec![tender(TenderKind::StoreCredit, 1490, Some(&note.grouped()))],
        ))
        .unwrap();
    let redeem = &spent.ticket.stored_value[0];
    assert_eq!(redeem.kind, MovementKind::Redeem);
    assert!(
        redeem.offline,
        "no answer from head office: an offline redemption"
    );
    assert_eq!(
        spent.ticket.tenders[0].reference.as_deref(),
        Some(note.as_str()),
        "the tender names the note in canonical form"
    );
    assert_eq!(
        t.till.instrument(note.as_str()).unwrap().state.balance,
        Money::from_cents(1509),
        "partial redemption leaves the rest on the note"
    );

    // More than is left, even online, is refused.
    let online = InstrumentState {
        balance: Money::from_cents(1509),
        ..t.till.instrument(note.as_str()).unwrap().state
    };
    let err = t
        .till
        .sell_with(
            &sale(
                "ACC-COQ-IP16",
                vec![tender(TenderKind::StoreCredit, 2999, Some(note.as_str()))],
            ),
            &StoredValueRequest {
                balances: vec![online],
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        err.code(),
        "instrument_balance_insufficient",
        "a redemption above the balance is refused: {err}"
    );
    assert_eq!(
        t.till.chain_length(Chain::Ticket).unwrap(),
        3,
        "nothing recorded"
    );
    assert!(t.till.verify(Depth::Full).unwrap().intact());
}

#[test]
fn a_gift_card_sold_is_a_liability_in_the_z_never_revenue() {
    let mut t = till();
    let card = InstrumentNumber::generate(InstrumentKind::GiftCard, [7; 16]);
    let sold = t
        .till
        .sell_with(
            &SaleRequest {
                operator: Some("alice".into()),
                tenders: vec![tender(TenderKind::Card, 5000, None)],
                ..Default::default()
            },
            &StoredValueRequest {
                gift_cards: vec![GiftCardRequest {
                    number: card.to_string(),
                    amount: Money::from_cents(5000),
                    top_up: false,
                }],
                ..Default::default()
            },
        )
        .unwrap();
    assert!(sold.ticket.total.is_zero(), "a gift card is not a sale");
    assert_eq!(sold.ticket.amount_due(), Money::from_cents(5000));
    let receipt = t.till.receipt(Some("alice"), sold.number, false).unwrap();
    assert!(
        receipt.text.contains("Cartes cadeaux (hors TVA, hors CA)"),
        "{}",
        receipt.text
    );
    // Selling the same card again is refused: top it up instead.
    let again = t.till.sell_with(
        &SaleRequest {
            tenders: vec![tender(TenderKind::Cash, 1000, None)],
            ..Default::default()
        },
        &StoredValueRequest {
            gift_cards: vec![GiftCardRequest {
                number: card.to_string(),
                amount: Money::from_cents(1000),
                top_up: false,
            }],
            ..Default::default()
        },
    );
    assert_eq!(again.unwrap_err().code(), "gift_card_already_loaded");
    t.till
        .sell(&sale(
            "ACC-COQ-IP16",
            vec![tender(TenderKind::GiftCard, 2999, Some(card.as_str()))],
        ))
        .unwrap();
    let z = t.till.close("alice", ClosureLevel::Day).unwrap();
    let totals = &z.closure.totals;
    assert_eq!(
        totals.total,
        Money::from_cents(2999),
        "only the case is revenue in the Z"
    );
    let liability = &totals.stored_value[0];
    assert_eq!(
        (liability.loaded, liability.redeemed),
        (Money::from_cents(5000), Money::from_cents(2999)),
        "the Z shows the card sold and spent as liability movements"
    );
    let printed = pos_till::receipt::render_closure(t.till.identity(), &z);
    assert!(
        printed.contains("Avoirs et cartes cadeaux (hors CA)"),
        "{printed}"
    );
    assert_eq!(
        t.till.instrument(card.as_str()).unwrap().state.balance,
        Money::from_cents(2001)
    );
}

#[test]
fn offline_redemptions_stay_within_head_offices_caps_and_online_ones_lift_them() {
    let mut t = till();
    // A card another shop sold: this till knows nothing of it.
    let card = InstrumentNumber::generate(InstrumentKind::GiftCard, [9; 16]);
    let spend = |cents| {
        let mut tenders = vec![tender(TenderKind::GiftCard, cents, Some(card.as_str()))];
        if cents < 2999 {
            tenders.push(tender(TenderKind::Cash, 2999 - cents, None));
        }
        sale("ACC-COQ-IP16", tenders)
    };
    let first = t.till.sell(&spend(2999)).unwrap();
    assert!(first.ticket.stored_value[0].offline);
    let err = t.till.sell(&spend(2999)).unwrap_err();
    assert_eq!(
        err.code(),
        "offline_cap_instrument",
        "offline, one card is spent up to 50.00 at this till: {err}"
    );
    t.till.sell(&spend(2001)).unwrap();
    assert_eq!(
        t.till.sell(&spend(1)).unwrap_err().code(),
        "offline_cap_instrument",
        "the cap is reached exactly"
    );
    let online = InstrumentState {
        number: card.clone(),
        balance: Money::from_cents(20_000),
        expires: None,
        closed: false,
    };
    let answered = t
        .till
        .sell_with(
            &spend(2999),
            &StoredValueRequest {
                balances: vec![online],
                ..Default::default()
            },
        )
        .unwrap();
    assert!(
        !answered.ticket.stored_value[0].offline,
        "with head office's balance the redemption is online, beyond the offline cap"
    );
}

#[test]
fn head_office_caps_apply_and_expiry_and_cancellation_are_stored_value_records() {
    let mut t = till();
    let rules = StoredValueRules {
        credit_note_validity_days: 10,
        offline_cap_per_instrument: Money::from_cents(1000),
        ..Default::default()
    };
    // As the changes feed stores a shop rule.
    rusqlite::Connection::open(&t.path)
        .unwrap()
        .execute(
            "INSERT INTO shop_rules (kind, key, body) VALUES (?1, 'chain', ?2)",
            [
                pos_domain::wire::kinds::STORED_VALUE_RULES,
                &serde_json::to_string(&rules).unwrap(),
            ],
        )
        .unwrap();
    assert_eq!(t.till.stored_value_rules().unwrap(), rules);
    let note = credit_note(&mut t);
    assert_eq!(
        t.till.instrument(note.as_str()).unwrap().state.expires,
        Some(t.till.shop_day() + chrono::Days::new(10)),
        "head office's validity is used"
    );
    t.clock.advance(chrono::Duration::days(11));
    let expired = t.till.expire_instruments("alice").unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].amount, Money::from_cents(2999));
    assert_eq!(t.till.chain_length(Chain::StoredValue).unwrap(), 1);
    let state = t.till.instrument(note.as_str()).unwrap().state;
    assert!(state.closed && state.balance.is_zero());
    let err = t
        .till
        .sell(&sale(
            "ACC-CBL-CC1",
            vec![tender(TenderKind::StoreCredit, 1000, Some(note.as_str()))],
        ))
        .unwrap_err();
    assert_eq!(
        err.code(),
        "instrument_not_usable",
        "an expired note is not spent"
    );
    let err = t
        .till
        .cancel_instrument("alice", note.as_str(), "error")
        .unwrap_err();
    assert_eq!(err.code(), "instrument_not_usable");
    assert!(t.till.verify(Depth::Full).unwrap().intact());
}

#[test]
fn the_cli_sells_a_gift_card_and_shows_and_cancels_it() {
    let TestTill {
        dir: _dir,
        path: db,
        till,
        ..
    } = till();
    drop(till);
    let card = InstrumentNumber::generate(InstrumentKind::GiftCard, [5; 16]);
    let sold = run_till(
        &db,
        &[
            "--operator",
            "alice",
            "gift-card",
            "sell",
            card.as_str(),
            "25.00",
            "--tender",
            "cash",
        ],
        "",
    );
    assert!(sold.status.success(), "{}", text(&sold.stderr));
    let shown = run_till(&db, &["stored-value", "show", &card.grouped()], "");
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    assert!(
        text(&shown.stdout).contains("\"balance\": \"25.00\""),
        "{}",
        text(&shown.stdout)
    );
    let typo = format!("{}0", &card.as_str()[..card.as_str().len() - 1]);
    let bad = run_till(&db, &["stored-value", "show", &typo], "");
    assert_eq!(
        bad.status.code(),
        Some(2),
        "a mistyped number is refused input"
    );
    let cancelled = run_till(
        &db,
        &[
            "stored-value",
            "cancel",
            card.as_str(),
            "--reason",
            "sold in error",
        ],
        "",
    );
    assert!(cancelled.status.success(), "{}", text(&cancelled.stderr));
    let shown = run_till(&db, &["stored-value", "show", card.as_str()], "");
    assert!(
        text(&shown.stdout).contains("\"closed\": true"),
        "{}",
        text(&shown.stdout)
    );
}
