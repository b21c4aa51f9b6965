//! Test vectors for the signed record format: record -> canonical bytes -> hash -> signature.
//!
//! `tests/vectors/records.json` is committed; the server and any other implementation must
//! produce the same bytes and accept the same signatures. Regenerate it deliberately with
//! `POS_UPDATE_VECTORS=1 cargo test -p pos-domain --test vectors` and review the diff: a change
//! means every till in the field would disagree with the new code.

mod support;

use std::path::PathBuf;

use pos_domain::Money;
use pos_domain::closure::{Closure, ClosureLevel, TotalsBuilder};
use pos_domain::exchange::{ExchangeDraft, compute_exchange};
use pos_domain::journal::{Event, EventKind};
use pos_domain::record::{
    Chain, ChainVerifier, Depth, Deterministic, PublicKey, Record, Signature, SignedRecord, Signer,
    SoftwareKey, sha256_hex,
};
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{Discount, ReturnLine, SaleDraft, compute_sale};
use pos_domain::vat::{Territory, VatCode, rate_for};
use pos_domain::web_return::{CollectedLine, compute_web_order_return};
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};
use support::{line, product};

/// The test key's secret: never used outside tests.
const TEST_SECRET: &str = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Vector {
    name: String,
    /// The record before signing, as JSON.
    record: serde_json::Value,
    /// Canonical bytes that are signed, as UTF-8.
    signed: String,
    /// Canonical bytes stored (with the signature), as UTF-8.
    stored: String,
    /// Hex SHA-256 of `stored`: the next record's `prev`.
    sha256: String,
    signature: String,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct VectorFile {
    algorithm: String,
    public_key: String,
    vectors: Vec<Vector>,
}

fn build() -> VectorFile {
    let secret = SoftwareKey::from_secret_hex(TEST_SECRET).unwrap();
    let key = Deterministic(&secret);
    let mut case = line(product("case-iphone", 2999, VatCode::Standard), 3);
    case.discount = Some(Discount::Percent(dec!(10)));
    case.seller = Some("S042".into());
    let draft = SaleDraft {
        lines: vec![
            case,
            line(product("guide-5g", 990, VatCode::Reduced), 1),
            line(product("press", 250, VatCode::SuperReduced), 2),
        ],
        ticket_discount: Some(Discount::Amount(Money::from_cents(100))),
        tenders: vec![
            Tender {
                kind: TenderKind::Card,
                amount: Money::from_cents(5000),
                reference: Some("A12345".into()),
                payment: None,
            },
            Tender {
                kind: TenderKind::Cash,
                amount: Money::from_cents(5000),
                reference: None,
                payment: None,
            },
        ],
        customer: Some("C-0001 Zoé Lefèvre \"VIP\"".into()),
    };
    let mut ticket = compute_sale(draft).unwrap();
    ticket.chain_totals(Money::ZERO, Money::ZERO).unwrap();
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let base = |chain, seq, when: &str, prev: String, payload| Record {
        till: "FR-PARIS-01-T1".into(),
        chain,
        seq,
        at: at(when),
        tz: "Europe/Paris".into(),
        operator: "alice".into(),
        software: "pos 0.1.0".into(),
        first: seq == 1,
        prev,
        payload,
    };
    let sale = base(
        Chain::Ticket,
        1,
        "2026-11-22T09:15:00.000001Z",
        String::new(),
        serde_json::to_value(&ticket).unwrap(),
    )
    .sign(&key)
    .unwrap();
    let mut totals = TotalsBuilder::new(Money::ZERO, Money::ZERO);
    totals.add_ticket(1, &ticket);
    let closure = Closure {
        level: ClosureLevel::Day,
        period: "2026-11-22".into(),
        through_ticket: 1,
        through_cash: 0,
        closures: None,
        totals: totals.finish(),
        last_ticket_signature: Some(sale.signature.to_string()),
    };
    let z = base(
        Chain::Closure,
        1,
        "2026-11-22T19:00:00Z",
        String::new(),
        serde_json::to_value(&closure).unwrap(),
    )
    .sign(&key)
    .unwrap();
    let event = |seq, prev, kind| {
        let payload = serde_json::to_value(Event {
            kind,
            detail: serde_json::json!({"note": "\u{e9}t\u{e9} \\ \"quoted\"\n", "count": 3}),
        })
        .unwrap();
        base(Chain::Event, seq, "2026-11-22T08:00:00.5Z", prev, payload)
            .sign(&key)
            .unwrap()
    };
    // An exchange: one case back, a charger taken, the difference paid by card; then the day
    // closure over both tickets (appended, so the vectors above never move).
    let mut exchange = compute_exchange(
        1,
        &ticket,
        &[],
        ExchangeDraft {
            returned: vec![ReturnLine {
                line: 1,
                quantity: 1,
                serials: vec![],
            }],
            new_lines: vec![line(product("charger-usb-c", 3999, VatCode::Standard), 1)],
            customer: None,
        },
        Some(vec![Tender {
            kind: TenderKind::Card,
            amount: Money::from_cents(1328),
            reference: Some("A67890".into()),
            payment: None,
        }]),
    )
    .unwrap();
    exchange
        .chain_totals(ticket.grand_total, ticket.perpetual_absolute_total)
        .unwrap();
    let exchanged = base(
        Chain::Ticket,
        2,
        "2026-11-23T10:30:00Z",
        sale.hash(),
        serde_json::to_value(&exchange).unwrap(),
    )
    .sign(&key)
    .unwrap();
    let mut next_day = TotalsBuilder::new(ticket.grand_total, ticket.perpetual_absolute_total);
    next_day.add_ticket(2, &exchange);
    let z2 = base(
        Chain::Closure,
        2,
        "2026-11-23T19:00:00Z",
        z.hash(),
        serde_json::to_value(Closure {
            level: ClosureLevel::Day,
            period: "2026-11-23".into(),
            through_ticket: 2,
            through_cash: 0,
            closures: None,
            totals: next_day.finish(),
            last_ticket_signature: Some(exchanged.signature.to_string()),
        })
        .unwrap(),
    )
    .sign(&key)
    .unwrap();
    // A web order paid online returned in the shop: a return naming the order, no original
    // ticket (appended, so the vectors above never move).
    let collected = [CollectedLine {
        line: 2,
        product_id: "guide-5g".into(),
        label: "Guide 5G".into(),
        category: "web".into(),
        quantity: 2,
        unit_price: Money::from_cents(990),
        vat_code: VatCode::Reduced,
        vat_rate: rate_for(VatCode::Reduced, Territory::Metropole),
    }];
    let mut web_return = compute_web_order_return(
        "WO-7K2M9QX4RT",
        &collected,
        &[],
        &[ReturnLine {
            line: 2,
            quantity: 1,
            serials: vec![],
        }],
        vec![Tender {
            kind: TenderKind::StoreCredit,
            amount: Money::from_cents(-990),
            reference: None,
            payment: None,
        }],
    )
    .unwrap();
    web_return
        .chain_totals(exchange.grand_total, exchange.perpetual_absolute_total)
        .unwrap();
    let web_returned = base(
        Chain::Ticket,
        3,
        "2026-11-24T11:00:00Z",
        exchanged.hash(),
        serde_json::to_value(&web_return).unwrap(),
    )
    .sign(&key)
    .unwrap();
    let e1 = event(1, String::new(), EventKind::StartUp);
    let e2 = event(2, e1.hash(), EventKind::Login);
    let vector = |name: &str, signed: &SignedRecord| Vector {
        name: name.into(),
        record: serde_json::to_value(&signed.record).unwrap(),
        signed: String::from_utf8(signed.record.signed_bytes().unwrap()).unwrap(),
        stored: String::from_utf8(signed.stored.clone()).unwrap(),
        sha256: signed.hash(),
        signature: signed.signature.to_string(),
    };
    VectorFile {
        algorithm:
            "ES256 (ECDSA P-256, SHA-256, RFC 6979), signature r||s hex; prev = sha256(stored)"
                .into(),
        public_key: key.public_key().to_string(),
        vectors: vec![
            vector("sale with discounts, three VAT rates, split tender", &sale),
            vector("day closure", &z),
            vector("first event", &e1),
            vector("second event linked to the first", &e2),
            vector(
                "exchange of one line for a dearer item, paid by card",
                &exchanged,
            ),
            vector("day closure with an exchange", &z2),
            vector(
                "return of a web order paid online, refunded as store credit",
                &web_returned,
            ),
        ],
    }
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/records.json")
}

#[test]
fn committed_vectors_match_this_implementation() {
    let built = build();
    if std::env::var_os("POS_UPDATE_VECTORS").is_some() {
        std::fs::write(path(), serde_json::to_string_pretty(&built).unwrap() + "\n").unwrap();
    }
    let committed: VectorFile =
        serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    assert_eq!(committed.public_key, built.public_key, "test key changed");
    assert_eq!(
        committed.vectors.len(),
        built.vectors.len(),
        "vector count changed"
    );
    for (old, new) in committed.vectors.iter().zip(&built.vectors) {
        assert!(
            old == new,
            "vector `{}` changed: the record format is a protocol, so canonical bytes and \
             signatures must not move (regenerate deliberately, see the module docs)\n\
             committed stored bytes: {}\nnow: {}",
            old.name,
            old.stored,
            new.stored
        );
    }
}

#[test]
fn committed_vectors_verify_with_the_public_key_alone() {
    let file: VectorFile = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    let key: PublicKey = file.public_key.parse().unwrap();
    for v in &file.vectors {
        let signature: Signature = v.signature.parse().unwrap();
        assert!(
            key.verify(v.signed.as_bytes(), &signature),
            "{}: signature must verify",
            v.name
        );
        assert_eq!(
            sha256_hex(v.stored.as_bytes()),
            v.sha256,
            "{}: hash of stored bytes",
            v.name
        );
        let parsed = SignedRecord::from_stored(v.stored.as_bytes()).unwrap();
        let record: Record = serde_json::from_value(v.record.clone()).unwrap();
        assert_eq!(
            parsed.record, record,
            "{}: stored bytes hold the record",
            v.name
        );
        assert_eq!(
            parsed.record.signed_bytes().unwrap(),
            v.signed.as_bytes(),
            "{}: signed bytes",
            v.name
        );
    }
    let events: Vec<&Vector> = file
        .vectors
        .iter()
        .filter(|v| v.name.contains("event"))
        .collect();
    let mut verifier = ChainVerifier::new(key, "FR-PARIS-01-T1", Chain::Event, Depth::Full);
    for (i, v) in events.iter().enumerate() {
        verifier
            .push(i as u64 + 1, v.stored.as_bytes())
            .expect("the event vectors form an intact chain");
    }
    assert!(verifier.finish(Some(2)).defect.is_none());
}

#[test]
fn every_single_byte_change_is_detected() {
    let file = build();
    let key: PublicKey = file.public_key.parse().unwrap();
    let stored = file.vectors[0].stored.as_bytes();
    for i in 0..stored.len() {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut bytes = stored.to_vec();
            bytes[i] ^= flip;
            let mut verifier =
                ChainVerifier::new(key, "FR-PARIS-01-T1", Chain::Ticket, Depth::Full);
            assert!(
                verifier.push(1, &bytes).is_err(),
                "flipping {flip:#x} at byte {i} must be detected"
            );
        }
    }
}

#[test]
fn the_high_s_twin_of_a_valid_signature_is_refused() {
    // n, the order of the P-256 group: (r, n - s) verifies as well as (r, s) in plain ECDSA.
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let file = build();
    let key: PublicKey = file.public_key.parse().unwrap();
    let v = &file.vectors[0];
    let sig = hex::decode(&v.signature).unwrap();
    assert!(
        key.verify(v.signed.as_bytes(), &v.signature.parse().unwrap()),
        "the low-S original verifies"
    );
    let mut twin = sig[..32].to_vec();
    let mut borrow = 0i16;
    let mut high = [0u8; 32];
    for i in (0..32).rev() {
        let d = N[i] as i16 - sig[32 + i] as i16 - borrow;
        borrow = i16::from(d < 0);
        high[i] = (d + if d < 0 { 256 } else { 0 }) as u8;
    }
    twin.extend(high);
    let twin: Signature = hex::encode(twin).parse().unwrap();
    assert!(
        !key.verify(v.signed.as_bytes(), &twin),
        "the high-S twin is not a second valid signature"
    );
}
