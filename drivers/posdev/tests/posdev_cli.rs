//! `posdev` as a process: payments against the simulator on a pty and over TCP, and the
//! unknown-outcome story: a `pay` killed mid-payment leaves an intent the next start reports.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::Value;

const POSDEV: &str = env!("CARGO_BIN_EXE_posdev");

/// A simulator process; killed on drop.
struct Sim {
    child: Child,
    first: Value,
    lines: Receiver<Value>,
}

impl Sim {
    fn start(args: &[&str]) -> Sim {
        let mut child = Command::new(POSDEV)
            .args(["--json", "sim", "terminal"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the simulator");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx
                    .send(serde_json::from_str::<Value>(&line).expect("simulator lines are JSON"))
                    .is_err()
                {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the simulator prints where it serves");
        Sim {
            child,
            first,
            lines,
        }
    }

    fn wait_for_event(&self, event: &str) -> Value {
        loop {
            let v = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no {event} event"));
            if v["event"] == event {
                return v;
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pay(terminal: &str, amount: &str, journal: &Path, extra: &[&str]) -> (i32, Value) {
    let out: Output = Command::new(POSDEV)
        .args([
            "--json",
            "pay",
            "--terminal",
            terminal,
            "--amount",
            amount,
            "--journal",
        ])
        .arg(journal)
        .args(extra)
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let value = serde_json::from_str(&line).unwrap_or_else(|e| {
        panic!(
            "pay prints JSON ({e}): {line:?}, stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("pay exits normally"), value)
}

#[test]
fn pay_over_a_pty_approves_and_declines_with_documented_exit_codes() {
    let sim = Sim::start(&["--concert-pty"]);
    let uri = format!("serial://{}", sim.first["pty"].as_str().unwrap());
    let journal = tempfile::tempdir().unwrap();
    let (code, v) = pay(&uri, "12.50", journal.path(), &[]);
    assert_eq!(
        (code, v["result"]["outcome"].as_str()),
        (0, Some("approved")),
        "{v}"
    );
    assert_eq!(v["amount_cents"], 1250, "12.50 is 1250 cents");
    let (code, v) = pay(&uri, "10.13", journal.path(), &["--refund"]);
    assert_eq!(
        (code, v["result"]["outcome"].as_str()),
        (3, Some("declined")),
        "{v}"
    );
    assert_eq!(v["kind"], "refund");
}

#[test]
fn pay_over_tcp_with_caisse_ap_including_partial_payment() {
    let sim = Sim::start(&[
        "--caisse-ap-listen",
        "127.0.0.1:0",
        "--behaviour",
        "partial",
    ]);
    let uri = format!("tcp://{}", sim.first["listen"].as_str().unwrap());
    let journal = tempfile::tempdir().unwrap();
    let (code, v) = pay(
        &uri,
        "40.00",
        journal.path(),
        &["--partial", "--reference", "TCP-1"],
    );
    assert_eq!(
        (code, v["result"]["outcome"].as_str()),
        (6, Some("partially_approved")),
        "{v}"
    );
    assert_eq!(v["result"]["amount_cents"], 2000, "half was charged");
    let (code, v) = pay(&uri, "40.00", journal.path(), &[]);
    assert_eq!(
        (code, v["result"]["outcome"].as_str()),
        (0, Some("approved")),
        "{v}"
    );
}

#[test]
fn pay_killed_mid_payment_leaves_an_intent_reported_as_unknown_on_the_next_start() {
    let silent = Sim::start(&["--concert-pty", "--behaviour", "never-answer"]);
    let uri = format!("serial://{}", silent.first["pty"].as_str().unwrap());
    let journal = tempfile::tempdir().unwrap();
    let mut payer = Command::new(POSDEV)
        .args([
            "--json",
            "pay",
            "--terminal",
            &uri,
            "--amount",
            "12.50",
            "--reference",
            "KILLED0001",
            "--journal",
        ])
        .arg(journal.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The terminal acknowledged the request: the card may now be charged.
    let request = silent.wait_for_event("request");
    assert_eq!(request["reference"], "KILLED0001");
    payer.kill().expect("SIGKILL the paying process");
    let status = payer.wait().unwrap();
    assert_eq!(
        status.code(),
        None,
        "the process died from the signal, it did not finish: {status:?}"
    );

    let out = Command::new(POSDEV)
        .args(["--json", "intents", "--journal"])
        .arg(journal.path())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let open = v["open_intents"].as_array().unwrap();
    assert_eq!(open.len(), 1, "the killed payment is still open: {v}");
    assert_eq!(
        (open[0]["reference"].as_str(), open[0]["outcome"].as_str()),
        (Some("KILLED0001"), Some("unknown"))
    );
    assert_eq!(open[0]["amount_cents"], 1250);

    // The next payment run reports it too, and resolving closes it.
    let approving = Sim::start(&["--concert-pty", "--behaviour", "approve"]);
    let uri = format!("serial://{}", approving.first["pty"].as_str().unwrap());
    let (code, v) = pay(&uri, "1.00", journal.path(), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["open_intents_before"][0]["reference"], "KILLED0001",
        "pay reports the open intent at start: {v}"
    );
    let out = Command::new(POSDEV)
        .args([
            "--json",
            "intents",
            "--resolve",
            "KILLED0001",
            "--note",
            "declined on terminal screen",
            "--journal",
        ])
        .arg(journal.path())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["open_intents"].as_array().map(Vec::len),
        Some(0),
        "resolved intents are closed: {v}"
    );
}

#[test]
fn bad_amounts_and_uris_are_errors_not_payments() {
    let journal = tempfile::tempdir().unwrap();
    for (terminal, amount, expected) in [
        ("serial:///dev/null", "12.505", "at most 2 decimals"),
        ("serial:///dev/null", "-3", "at most 2 decimals"),
        ("ftp://x", "1.00", "unknown scheme"),
    ] {
        let out = Command::new(POSDEV)
            .args([
                "--json",
                "pay",
                "--terminal",
                terminal,
                "--amount",
                amount,
                "--journal",
            ])
            .arg(journal.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{terminal} {amount}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(expected), "{terminal} {amount}: {text}");
    }
}

#[test]
fn sim_on_a_device_path_serves_a_client_on_the_other_end() {
    // The simulator opens a pty slave as its "device"; the client talks through the master,
    // like a till and a terminal joined by a null-modem cable.
    let (master, path) = pos_transport::pty_pair().unwrap();
    let sim = Sim::start(&["--concert-device", &path, "--behaviour", "approve"]);
    assert_eq!(sim.first["device"], path.as_str());
    let mut client = pos_payment_terminal::ConcertV2Client::new(master, Default::default());
    let outcome = pos_payment_terminal::PaymentTerminal::pay(
        &mut client,
        &pos_payment_terminal::PaymentRequest::debit(4200, "DEVICE0001"),
        &mut pos_payment_terminal::MemoryJournal::default(),
    )
    .unwrap();
    assert!(
        matches!(outcome, pos_payment_terminal::Outcome::Approved(_)),
        "{outcome:?}"
    );
    assert_eq!(
        sim.wait_for_event("answered")["verdict"]["verdict"],
        "approved"
    );
}

#[test]
fn sim_on_a_missing_device_fails_at_start() {
    let out = Command::new(POSDEV)
        .args([
            "--json",
            "sim",
            "terminal",
            "--concert-device",
            "/dev/does-not-exist-ttyX",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("does-not-exist-ttyX"));
}

#[test]
fn ports_prints_a_json_array() {
    let out = Command::new(POSDEV)
        .args(["--json", "ports"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("ports --json prints JSON");
    assert!(v.is_array(), "{v}");
}
