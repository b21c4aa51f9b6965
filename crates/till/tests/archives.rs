//! The archives a till makes by itself: each closed month, and the fiscal year at its
//! closure, into an owner-only folder beside the ledger, recorded in the archive chain, and
//! each verifies with the real `till archive verify` alone.

mod support;

use pos_domain::closure::ClosureLevel;
use pos_domain::record::Chain;
use pos_till::demo::{self, DemoOptions};
use support::*;

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn each_closed_month_and_the_fiscal_year_are_archived_by_themselves() {
    let mut t = new_till();
    // The demo's days end the day before the clock: 30 March to 2 April, closing March.
    t.clock.set("2026-04-03T06:00:00Z".parse().unwrap());
    let summary = demo::run(
        &mut t.till,
        &t.clock,
        &DemoOptions {
            tickets: 16,
            seed: 5,
            days: 4,
        },
    )
    .unwrap();
    assert_eq!(summary.month_closures, 1);
    let dir = t.till.archives_dir();
    assert_eq!(
        files_in(&dir),
        ["2026-03-01_2026-03-31.json"],
        "the month closure archived March by itself"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the archives folder is its owner's only");
    }

    t.till.close("manager", ClosureLevel::Year).unwrap();
    assert_eq!(
        files_in(&dir),
        [
            "2026-01-01_2026-12-31.json",
            "2026-03-01_2026-03-31.json",
            "2026-04-01_2026-04-30.json",
        ],
        "the year closure archived the month it closed and the fiscal year, one fiscal year each"
    );
    assert_eq!(
        t.till.chain_length(Chain::Archive).unwrap(),
        3,
        "each archive is recorded in the archive chain"
    );

    // Nothing is due any more: a later pass makes no second copy.
    assert!(t.till.make_due_archives().unwrap().is_empty());
    assert_eq!(t.till.chain_length(Chain::Archive).unwrap(), 3);

    for name in files_in(&dir) {
        let file = dir.join(&name);
        let output = std::process::Command::new(till_bin())
            .args(["--json", "archive", "verify"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "`till archive verify {name}` passes with nothing but the file: {}",
            text(&output.stderr)
        );
        let check: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(check["intact"], true, "{name}: {check}");
    }
}
