//! Stored value: a gift card's sale is a liability on top of the ticket (no VAT, not in the
//! sales totals), a refund to store credit issues one credit note, a redemption is a tender
//! naming its instrument, the closure shows the liability movements and the daily accounting
//! entry balances with them; and, as a property, the sum of an instrument's movements over any
//! sequence of tickets and stored-value records is its balance.

mod support;

use chrono::NaiveDate;
use pos_domain::Money;
use pos_domain::accounting::{AccountPlan, daily_entry};
use pos_domain::closure::{Closure, ClosureLevel, TotalsBuilder};
use pos_domain::stored_value::{
    BalanceSource, InstrumentKind, InstrumentMovement, InstrumentNumber, InstrumentState,
    MovementKind, NewCreditNote, OfflineSpent, StoredValueRules, balance, check_redemption,
    movements_from_tenders,
};
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{
    ReturnLine, SaleDraft, Ticket, compute_return, compute_sale, compute_sale_with_stored_value,
};
use pos_domain::vat::VatCode;
use proptest::prelude::*;
use support::{line, product};

fn tender(kind: TenderKind, cents: i64, reference: Option<&InstrumentNumber>) -> Tender {
    Tender {
        kind,
        amount: Money::from_cents(cents),
        reference: reference.map(ToString::to_string),
        payment: None,
    }
}

fn card(seed: u8) -> InstrumentNumber {
    InstrumentNumber::generate(InstrumentKind::GiftCard, [seed; 16])
}

fn note(seed: u8) -> InstrumentNumber {
    InstrumentNumber::generate(InstrumentKind::CreditNote, [seed; 16])
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()
}

fn load(number: &InstrumentNumber, cents: i64) -> InstrumentMovement {
    InstrumentMovement::new(number.clone(), MovementKind::Load, Money::from_cents(cents))
}

fn closure_of(tickets: &[Ticket]) -> Closure {
    let mut builder = TotalsBuilder::new(Money::ZERO, Money::ZERO);
    for (n, ticket) in tickets.iter().enumerate() {
        builder.add_ticket(n as u64 + 1, ticket);
    }
    Closure {
        level: ClosureLevel::Day,
        period: "2026-12-06".into(),
        through_ticket: tickets.len() as u64,
        through_cash: 0,
        closures: None,
        totals: builder.finish(),
        last_ticket_signature: None,
    }
}

#[test]
fn a_gift_card_sold_is_paid_on_top_of_the_total_with_no_vat_and_no_sales_amount() {
    let gift = card(1);
    let draft = SaleDraft {
        lines: vec![line(product("case", 1999, VatCode::Standard), 1)],
        tenders: vec![tender(TenderKind::Cash, 7000, None)],
        ..Default::default()
    };
    let ticket = compute_sale_with_stored_value(draft, vec![load(&gift, 5000)]).unwrap();
    assert_eq!(
        ticket.total,
        Money::from_cents(1999),
        "the gift card is not in the ticket total (not revenue)"
    );
    assert_eq!(ticket.amount_due(), Money::from_cents(6999));
    assert_eq!(
        ticket.change,
        Money::from_cents(1),
        "change is on what is due"
    );
    let vat_base: Money = ticket.vat.iter().map(|v| v.including_vat).sum();
    assert_eq!(
        vat_base,
        Money::from_cents(1999),
        "no VAT on a multi-purpose voucher when it is sold"
    );

    let card_only = compute_sale_with_stored_value(
        SaleDraft {
            tenders: vec![tender(TenderKind::Card, 3000, None)],
            ..Default::default()
        },
        vec![load(&card(2), 3000)],
    )
    .unwrap();
    assert!(card_only.lines.is_empty() && card_only.total.is_zero());

    let short = compute_sale_with_stored_value(
        SaleDraft {
            tenders: vec![tender(TenderKind::Card, 2999, None)],
            ..Default::default()
        },
        vec![load(&card(2), 3000)],
    )
    .unwrap_err();
    assert_eq!(short.code(), "tenders_short", "a gift card is paid in full");
}

#[test]
fn the_closure_shows_liability_movements_and_the_daily_entry_credits_4191() {
    let gift = card(3);
    let sold = compute_sale_with_stored_value(
        SaleDraft {
            tenders: vec![tender(TenderKind::Card, 5000, None)],
            ..Default::default()
        },
        vec![load(&gift, 5000)],
    )
    .unwrap();
    let mut tenders = vec![tender(TenderKind::GiftCard, 1999, Some(&gift))];
    let mut redemption = movements_from_tenders(&mut tenders, None);
    redemption[0].offline = true;
    let spent = compute_sale_with_stored_value(
        SaleDraft {
            lines: vec![line(product("case", 1999, VatCode::Standard), 1)],
            tenders,
            ..Default::default()
        },
        redemption,
    )
    .unwrap();
    let closure = closure_of(&[sold, spent]);
    let totals = &closure.totals;
    assert_eq!(
        totals.sales_amount(),
        Money::from_cents(1999),
        "only the goods are sales: the card sold is not"
    );
    let liability = &totals.stored_value[0];
    assert_eq!(liability.kind, InstrumentKind::GiftCard);
    assert_eq!(
        (
            liability.loaded,
            liability.redeemed,
            liability.redeemed_offline
        ),
        (
            Money::from_cents(5000),
            Money::from_cents(1999),
            Money::from_cents(1999)
        )
    );
    assert_eq!(liability.net_change(), Money::from_cents(3001));

    let entry = daily_entry(
        "T1",
        "S1",
        1,
        &closure,
        None,
        &AccountPlan::french_default(),
    )
    .expect("the day with a gift card sold balances");
    let balances = entry.balances();
    assert_eq!(
        balances["4191"],
        Money::from_cents(-3001),
        "4191 holds what the card still owes: sold 50.00 (credit), spent 19.99 (debit)"
    );
    assert_eq!(balances["5115"], Money::from_cents(5000));
    assert!(!balances.contains_key("7071") || balances["7071"].is_negative());
}

#[test]
fn a_refund_to_store_credit_issues_one_credit_note_for_the_whole_refund() {
    let sale = compute_sale(SaleDraft {
        lines: vec![
            line(product("case", 1999, VatCode::Standard), 1),
            line(product("book", 1250, VatCode::Reduced), 1),
        ],
        tenders: vec![tender(TenderKind::Card, 3249, None)],
        ..Default::default()
    })
    .unwrap();
    let back = [
        ReturnLine {
            line: 1,
            quantity: 1,
            serials: vec![],
        },
        ReturnLine {
            line: 2,
            quantity: 1,
            serials: vec![],
        },
    ];
    let mut ret = compute_return(
        1,
        &sale,
        &[],
        &back,
        Some(vec![
            tender(TenderKind::StoreCredit, -2000, None),
            tender(TenderKind::StoreCredit, -1249, None),
        ]),
    )
    .unwrap();
    let expires = NaiveDate::from_ymd_opt(2027, 12, 6).unwrap();
    let new = note(4);
    let movements = movements_from_tenders(
        &mut ret.tenders,
        Some(NewCreditNote {
            number: new.clone(),
            expires,
        }),
    );
    assert_eq!(movements.len(), 1, "one note per refund");
    assert_eq!(movements[0].kind, MovementKind::Issue);
    assert_eq!(movements[0].amount, Money::from_cents(3249));
    assert_eq!(movements[0].expires, Some(expires));
    assert!(
        ret.tenders
            .iter()
            .all(|t| t.reference.as_deref() == Some(new.as_str())),
        "each store-credit tender names the note"
    );
    pos_domain::stored_value::check_ticket_movements(&ret.tenders, &movements).unwrap();
    let state = InstrumentState::from_movements(new, &movements);
    assert_eq!(state.balance, Money::from_cents(3249));
    assert!(state.usable_on(expires) && !state.usable_on(expires.succ_opt().unwrap()));
}

#[test]
fn existing_tickets_serialize_as_before_with_no_stored_value_key() {
    let sale = compute_sale(SaleDraft {
        lines: vec![line(product("case", 1999, VatCode::Standard), 1)],
        tenders: vec![tender(TenderKind::Cash, 2000, None)],
        ..Default::default()
    })
    .unwrap();
    let json = serde_json::to_value(&sale).unwrap();
    assert!(
        json.get("stored_value").is_none(),
        "a ticket without stored value keeps the signed shape of older records"
    );
}

/// One step of an instrument's life, as the property below draws them.
#[derive(Clone, Debug)]
enum Step {
    Load(i64),
    Redeem(i64),
    CreditBack(i64),
    Expire,
}

fn arb_steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            (1i64..50_000).prop_map(Step::Load),
            (1i64..50_000).prop_map(Step::Redeem),
            (1i64..10_000).prop_map(Step::CreditBack),
            Just(Step::Expire),
        ],
        1..30,
    )
}

proptest! {
    /// The sum of an instrument's movements, read back from the tickets and stored-value
    /// records that carry them, is its balance; a redemption checked online never takes it
    /// below zero; and the closure's net liability change equals the sum of the movements the
    /// tickets carried.
    #[test]
    fn the_sum_of_an_instruments_movements_is_its_balance(steps in arb_steps(), seed in any::<u8>()) {
        let gift = card(seed);
        let rules = StoredValueRules { max_load: Money::from_cents(50_000), ..Default::default() };
        let mut state = InstrumentState::new(gift.clone());
        let mut carried: Vec<InstrumentMovement> = Vec::new();
        let mut tickets = Vec::new();
        let mut expected = Money::ZERO;
        for step in steps {
            let movement = match step {
                Step::Load(cents) => {
                    let kind = if carried.is_empty() { MovementKind::Load } else { MovementKind::TopUp };
                    let movement = InstrumentMovement::new(gift.clone(), kind, Money::from_cents(cents));
                    if pos_domain::stored_value::check_load(&movement, (!carried.is_empty()).then_some(&state), &rules).is_err() {
                        continue;
                    }
                    let ticket = compute_sale_with_stored_value(
                        SaleDraft { tenders: vec![tender(TenderKind::Cash, cents, None)], ..Default::default() },
                        vec![movement],
                    ).unwrap();
                    expected += Money::from_cents(cents);
                    ticket
                }
                Step::Redeem(cents) => {
                    let amount = Money::from_cents(cents);
                    if check_redemption(&gift, amount, day(), &BalanceSource::HeadOffice(state.clone()), &rules).is_err() {
                        prop_assert!(amount > state.balance || !state.usable_on(day()));
                        continue;
                    }
                    let mut tenders = vec![tender(TenderKind::GiftCard, cents, Some(&gift))];
                    let movements = movements_from_tenders(&mut tenders, None);
                    let ticket = compute_sale_with_stored_value(
                        SaleDraft {
                            lines: vec![line(product("p", cents, VatCode::Standard), 1)],
                            tenders,
                            ..Default::default()
                        },
                        movements,
                    ).unwrap();
                    expected -= amount;
                    ticket
                }
                Step::CreditBack(cents) => {
                    if state.closed || carried.is_empty() {
                        continue;
                    }
                    let mut tenders = vec![tender(TenderKind::GiftCard, -cents, Some(&gift))];
                    let movements = movements_from_tenders(&mut tenders, None);
                    prop_assert_eq!(movements[0].kind, MovementKind::Credit);
                    expected += Money::from_cents(cents);
                    let mut ticket = compute_sale(SaleDraft {
                        lines: vec![line(product("q", 1, VatCode::Standard), 1)],
                        tenders: vec![tender(TenderKind::Cash, 1, None)],
                        ..Default::default()
                    }).unwrap();
                    // A return ticket's refund tenders, as the engine attaches them.
                    ticket.stored_value = movements;
                    ticket
                }
                Step::Expire => {
                    if state.closed || carried.is_empty() {
                        continue;
                    }
                    let mut expiry = InstrumentMovement::new(gift.clone(), MovementKind::Expire, state.balance.max(Money::ZERO));
                    expiry.reason = Some("validity ended".into());
                    // A stored-value-chain record: its payload is the movement, read back.
                    let payload = serde_json::to_value(&expiry).unwrap();
                    let read: InstrumentMovement = serde_json::from_value(payload).unwrap();
                    expected -= read.amount;
                    state.apply(&read);
                    carried.push(read);
                    continue;
                }
            };
            let payload = serde_json::to_value(&movement).unwrap();
            let read: Ticket = serde_json::from_value(payload).unwrap();
            for m in &read.stored_value {
                state.apply(m);
                carried.push(m.clone());
            }
            tickets.push(read);
        }
        prop_assert_eq!(balance(&carried), state.balance, "balance is the sum of the movements");
        prop_assert_eq!(state.balance, expected, "every accepted step moved the balance by its amount");
        prop_assert!(!state.balance.is_negative(), "online redemptions never overdraw");
        let on_tickets: Money = tickets.iter().flat_map(|t| &t.stored_value).map(InstrumentMovement::effect).sum();
        let closure = closure_of(&tickets);
        let net: Money = closure.totals.stored_value.iter().map(|l| l.net_change()).sum();
        prop_assert_eq!(net, on_tickets, "the closure's liability change is the tickets' movements");
    }

    /// Offline, whatever the order of attempts, what one till spends from one card stays
    /// within the per-card cap and what it spends in a day within the per-till cap.
    #[test]
    fn offline_redemptions_never_pass_the_caps(amounts in prop::collection::vec(1i64..10_000, 1..40)) {
        let rules = StoredValueRules::default();
        let cards: Vec<InstrumentNumber> = (0..4).map(card).collect();
        let mut per_card = [Money::ZERO; 4];
        let mut today = Money::ZERO;
        for (i, cents) in amounts.into_iter().enumerate() {
            let c = i % 4;
            let amount = Money::from_cents(cents);
            let source = BalanceSource::Offline {
                known: None,
                spent: OfflineSpent { instrument: per_card[c], till_today: today },
            };
            if check_redemption(&cards[c], amount, day(), &source, &rules) == Ok(true) {
                per_card[c] += amount;
                today += amount;
            }
        }
        for spent in per_card {
            prop_assert!(spent <= rules.offline_cap_per_instrument, "per-card offline cap");
        }
        prop_assert!(today <= rules.offline_cap_per_till_day, "per-till daily offline cap");
    }
}

#[test]
fn a_redemption_tender_without_its_movement_is_refused() {
    let gift = card(8);
    let err = compute_sale_with_stored_value(
        SaleDraft {
            lines: vec![line(product("case", 1999, VatCode::Standard), 1)],
            tenders: vec![tender(TenderKind::GiftCard, 1999, Some(&gift))],
            ..Default::default()
        },
        vec![],
    )
    .unwrap_err();
    assert_eq!(
        err.code(),
        "instrument_tenders_disagree",
        "a card named as tender must move on the ticket, or its balance would not follow"
    );
}
