//! Shared set-up for the till engine's tests: a ledger in a temporary directory, on a manual
//! clock, with the demo catalog; and helpers to run the real `till` binary.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pos_domain::clock::ManualClock;
use pos_till::demo::demo_catalog;
use pos_till::{InitOptions, Till};

pub struct TestTill {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub clock: Arc<ManualClock>,
    pub till: Till,
}

pub fn start() -> DateTime<Utc> {
    "2026-03-30T08:00:00Z".parse().unwrap()
}

/// A fresh till with the demo catalog, its clock at 2026-03-30 08:00 UTC.
pub fn new_till() -> TestTill {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.db");
    let clock = Arc::new(ManualClock::new(start()));
    let options = InitOptions {
        siret: "12345678900011".into(),
        ..InitOptions::new("Boutique Opéra", "Caisse 1")
    };
    let mut till = Till::init(&path, options, clock.clone(), [42u8; 32]).unwrap();
    till.import_catalog(&demo_catalog().unwrap(), "demo")
        .unwrap();
    TestTill {
        dir,
        path,
        clock,
        till,
    }
}

/// The `till` binary built with this package.
pub fn till_bin() -> &'static str {
    env!("CARGO_BIN_EXE_till")
}

/// Runs `till --db DB ARGS...` with `stdin` and returns its output.
pub fn run_till(db: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(till_bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the till binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A sale of the demo catalog's case and guide, paid in cash.
pub const SIMPLE_SALE: &str = r#"{"operator":"alice","lines":[{"barcode":"3760000010634","quantity":2},{"product_id":"LIV-GUIDE-5G"}],"tenders":[{"kind":"cash","amount":"100.00"}]}"#;
