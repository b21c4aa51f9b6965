//! `posdev` printer and display commands as processes, against `posdev sim printer` (pty and
//! TCP) and `posdev sim display` (pty), as documented in drivers/README.md.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::Value;

const POSDEV: &str = env!("CARGO_BIN_EXE_posdev");

/// A simulator process whose stdout lines are JSON; killed on drop.
struct Sim {
    child: Child,
    first: Value,
    lines: Receiver<Value>,
}

impl Sim {
    fn start(args: &[&str]) -> Sim {
        let mut child = Command::new(POSDEV)
            .arg("--json")
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the simulator");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v = serde_json::from_str::<Value>(&line).expect("simulator lines are JSON");
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the simulator prints where it serves on its first line");
        Sim {
            child,
            first,
            lines,
        }
    }

    fn wait_for(&self, what: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .expect("the simulator reports the expected event");
            if what(&v) {
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

fn posdev(args: &[&str]) -> Output {
    Command::new(POSDEV)
        .arg("--json")
        .args(args)
        .output()
        .expect("run posdev")
}

fn json_of(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("null"))
        .expect("posdev --json prints JSON")
}

#[test]
fn print_test_status_and_drawer_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let sim = Sim::start(&[
        "sim",
        "printer",
        "--listen",
        "127.0.0.1:0",
        "--out",
        out_dir,
    ]);
    let addr = sim.first["listen"]
        .as_str()
        .expect("listen address")
        .to_string();
    let uri = format!("tcp://{addr}");

    let out = posdev(&["print-test", "--printer", &uri]);
    assert!(out.status.success(), "print-test succeeds: {out:?}");
    assert_eq!(json_of(&out)["printed"], true);
    let receipt = sim.wait_for(|v| v["event"] == "receipt");
    assert_eq!(receipt["cut"], true, "the test receipt ends with a cut");
    let txt = std::fs::read_to_string(receipt["txt"].as_str().unwrap()).unwrap();
    for expected in [
        "é è ê à",
        "ç",
        "œ",
        "17,40 €",
        "€",
        "[EAN-13 4006381333931]",
        "[QR https://",
    ] {
        assert!(
            txt.contains(expected),
            "the printed text contains {expected:?}:\n{txt}"
        );
    }
    assert!(std::path::Path::new(receipt["png"].as_str().unwrap()).exists());

    // The first receipt's PNG (576 dots wide, the paper's width) as the logo of a second one.
    let png = receipt["png"].as_str().unwrap().to_string();
    let out = posdev(&["print-test", "--printer", &uri, "--logo", &png]);
    assert!(out.status.success(), "print-test --logo succeeds: {out:?}");
    let with_logo = sim.wait_for(|v| v["event"] == "receipt");
    assert!(
        with_logo["text"]
            .as_str()
            .unwrap()
            .starts_with("[image 576x"),
        "the logo is printed first as a raster image: {with_logo}"
    );
    let out = posdev(&[
        "print-test",
        "--printer",
        &uri,
        "--logo",
        &png,
        "--columns",
        "32",
    ]);
    assert!(
        !out.status.success(),
        "a logo wider than 32 columns (384 dots) is refused"
    );

    let out = posdev(&["printer-status", "--printer", &uri]);
    let status = json_of(&out);
    assert_eq!(status["ready"], true, "{status}");
    assert_eq!(status["paper"], "ok");

    let out = posdev(&["drawer", "--printer", &uri]);
    assert!(out.status.success(), "{out:?}");
    sim.wait_for(|v| v["event"] == "drawer" && v["pin"] == 2);
    let out = posdev(&["drawer", "--printer", &uri, "--pin", "5", "--realtime"]);
    assert!(out.status.success(), "{out:?}");
    sim.wait_for(|v| v["event"] == "drawer" && v["pin"] == 5);

    std::fs::write(dir.path().join("paper-out"), "").unwrap();
    let status = json_of(&posdev(&["printer-status", "--printer", &uri]));
    assert_eq!(
        status["paper"], "out",
        "the control file switches paper out: {status}"
    );
    let out = posdev(&["print-test", "--printer", &uri]);
    assert!(
        !out.status.success(),
        "print-test refuses when the paper is out"
    );
    assert!(
        json_of(&out)["error"]
            .as_str()
            .unwrap_or("")
            .contains("not ready"),
        "{out:?}"
    );
}

#[test]
fn print_test_over_a_pty() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&[
        "sim",
        "printer",
        "--pty",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let path = sim.first["pty"].as_str().expect("pty path").to_string();
    let out = posdev(&[
        "print-test",
        "--printer",
        &format!("serial://{path}?baud=115200"),
        "--table",
        "pc858",
        "--columns",
        "42",
    ]);
    assert!(out.status.success(), "{out:?}");
    let receipt = sim.wait_for(|v| v["event"] == "receipt");
    let text = receipt["text"].as_str().unwrap();
    assert!(
        text.contains("Ligatures : oe OE") && text.contains("l'été - "),
        "PC858 transliterates what it lacks and keeps accents:\n{text}"
    );
    assert!(text.contains("2,50 €"), "PC858 has the euro sign:\n{text}");
}

#[test]
fn display_text_on_the_display_simulator() {
    let sim = Sim::start(&["sim", "display", "--pty"]);
    let path = sim.first["pty"].as_str().expect("pty path").to_string();
    let out = posdev(&[
        "display",
        "--display",
        &format!("serial://{path}?baud=9600"),
        "--text",
        "Bonjour !|Total 12,50 €",
    ]);
    assert!(out.status.success(), "{out:?}");
    let shown = sim.wait_for(|v| {
        v["lines"][1]
            .as_str()
            .is_some_and(|l| l.starts_with("Total"))
    });
    assert_eq!(
        shown["lines"],
        serde_json::json!(["Bonjour !           ", "Total 12,50 EUR     "]),
        "the display shows both lines, € spelled EUR on an unverified display"
    );
}
