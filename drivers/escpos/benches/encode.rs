//! Encoder benchmark: time to build the bytes of a 40-line receipt with a logo and a QR code.
//!
//! Run with `cargo bench -p pos-escpos --bench encode`. Prints the median, mean and 99th
//! percentile over many iterations, plus decode and PNG render times for the same receipt.

use std::hint::black_box;
use std::time::{Duration, Instant};

use pos_escpos::decode::{ModelConfig, decode_receipts};
use pos_escpos::render::{RenderOptions, render_png};
use pos_escpos::{Bitmap, DrawerPulse, Receipt, ReceiptConfig};

fn receipt(logo: &Bitmap) -> Vec<u8> {
    let mut r = Receipt::new(ReceiptConfig::default());
    r.logo(logo).expect("logo fits");
    r.title("Boutique Élysée");
    r.centered("12 rue de la Paix, 75002 Paris");
    r.rule('-');
    for i in 0..40 {
        r.columns(&format!("Article n°{i} – câble USB-C très long"), "12,99 €");
    }
    r.rule('-');
    r.bold_columns("TOTAL TTC", "519,60 €");
    r.qr("https://example.invalid/r/0001-2026-000042?h=3f2a9c")
        .expect("qr fits");
    r.ean13("400638133393").expect("valid ean");
    r.kick(DrawerPulse::default());
    r.cut();
    r.finish()
}

fn stats(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let n = samples.len();
    let mean = samples.iter().sum::<Duration>() / u32::try_from(n).unwrap_or(1);
    println!(
        "{name:<28} n={n:<6} median={:>10.1?} mean={:>10.1?} p99={:>10.1?}",
        samples[n / 2],
        mean,
        samples[n * 99 / 100]
    );
}

fn time(iterations: usize, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..iterations / 10 {
        f();
    }
    (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn main() {
    // A 384 x 120 dot logo (48 mm wide on an 80 mm printer).
    let logo = Bitmap::from_fn(384, 120, |x, y| (x / 12 + y / 12) % 3 == 0);
    let bytes = receipt(&logo);
    println!(
        "receipt: 40 lines + logo 384x120 + QR + EAN-13 = {} bytes",
        bytes.len()
    );
    stats(
        "encode (Receipt builder)",
        time(20_000, || {
            black_box(receipt(black_box(&logo)));
        }),
    );
    let config = ModelConfig::default();
    stats(
        "decode",
        time(2_000, || {
            black_box(decode_receipts(black_box(&bytes), config.clone()));
        }),
    );
    let decoded = decode_receipts(&bytes, config.clone());
    stats(
        "render PNG",
        time(50, || {
            black_box(render_png(black_box(&decoded[0]), RenderOptions::default()));
        }),
    );
}
