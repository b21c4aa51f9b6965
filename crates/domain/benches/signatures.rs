//! Signature costs, to choose the ES256 implementation on numbers (fiscal.md asks for it):
//! `cargo bench -p pos-domain --bench signatures`.
//!
//! Measures, on the same records: ring signing with a random nonce (what the till uses), p256
//! signing with RFC 6979 nonces (what the test vectors use), p256 verification, ring
//! verification of the same signatures (what `PublicKey::verify` uses), and the rest of a
//! record check (canonical check and parse, SHA-256 of the stored bytes).

use std::time::Instant;

use pos_domain::record::{
    Chain, ChainVerifier, Depth, Deterministic, Record, Signer, SoftwareKey, sha256_hex,
};

fn per_op(label: &str, n: usize, run: impl FnMut(usize)) {
    let mut run = run;
    let start = Instant::now();
    for i in 0..n {
        run(i);
    }
    // Integer nanoseconds: no floating point in this crate, even for timings.
    let ns = (start.elapsed().as_nanos() / n as u128).max(1);
    println!(
        "| {label} | {}.{} µs | {}/s |",
        ns / 1000,
        ns % 1000 / 100,
        1_000_000_000 / ns
    );
}

fn main() {
    let n = if std::env::args().any(|a| a == "--quick") {
        200
    } else {
        3000
    };
    let key = SoftwareKey::from_secret_bytes(&[5u8; 32]).expect("key");
    let payload = serde_json::json!({"kind": "login", "detail": {"note": "x".repeat(600)}});
    let records: Vec<_> = (1..=n as u64)
        .map(|seq| Record {
            till: "T1".into(),
            chain: Chain::Event,
            seq,
            at: chrono::DateTime::from_timestamp(1_800_000_000 + seq as i64, 0).expect("time"),
            tz: "Europe/Paris".into(),
            operator: "alice".into(),
            software: "bench".into(),
            first: seq == 1,
            prev: String::new(),
            payload: payload.clone(),
        })
        .collect();
    let messages: Vec<Vec<u8>> = records
        .iter()
        .map(|r| r.signed_bytes().expect("bytes"))
        .collect();
    println!("| operation | per record | rate |\n|---|---|---|");
    per_op("ring sign (random nonce, SoftwareKey)", n, |i| {
        std::hint::black_box(key.sign(&messages[i]).expect("sign"));
    });
    let mut signatures = Vec::with_capacity(n);
    per_op("p256 sign (RFC 6979, Deterministic)", n, |i| {
        signatures.push(Deterministic(&key).sign(&messages[i]).expect("sign"))
    });
    let public = key.public_key();
    let sec1 = hex_decode(&public.to_string());
    let p256_key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).expect("key");
    let p256_signatures: Vec<p256::ecdsa::Signature> = signatures
        .iter()
        .map(|s| p256::ecdsa::Signature::from_slice(&hex_decode(&s.to_string())).expect("sig"))
        .collect();
    per_op("p256 verify", n, |i| {
        use p256::ecdsa::signature::Verifier;
        p256_key
            .verify(&messages[i], &p256_signatures[i])
            .expect("p256 verify");
    });
    per_op("PublicKey::verify (ring)", n, |i| {
        assert!(public.verify(&messages[i], &signatures[i]))
    });
    let ring_key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, sec1);
    let raw: Vec<Vec<u8>> = signatures
        .iter()
        .map(|s| hex_decode(&s.to_string()))
        .collect();
    per_op("ring verify (same signatures)", n, |i| {
        ring_key.verify(&messages[i], &raw[i]).expect("ring verify")
    });
    // A properly linked chain, for the whole per-record check.
    let mut prev = String::new();
    let stored: Vec<Vec<u8>> = records
        .iter()
        .map(|r| {
            let signed = Record {
                prev: prev.clone(),
                ..r.clone()
            }
            .sign(&key)
            .expect("sign");
            prev = signed.hash();
            signed.stored
        })
        .collect();
    per_op("canonical parse + SHA-256 of a stored record", n, |i| {
        pos_domain::record::SignedRecord::from_stored(&stored[i]).expect("parse");
        std::hint::black_box(sha256_hex(&stored[i]));
    });
    let mut verifier = ChainVerifier::new(public, "T1", Chain::Event, Depth::Full);
    per_op(
        "whole record check: canonical form, link, signature (ChainVerifier)",
        n,
        |i| {
            verifier
                .push(i as u64 + 1, &stored[i])
                .expect("intact chain");
        },
    );
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}
