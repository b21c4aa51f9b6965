//! Crash test: a process recording sales in a loop is killed with SIGKILL at random instants,
//! many times. After each kill the ledger verifies, numbering is gap-free, and every sale the
//! process reported as recorded is present, unchanged.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pos_domain::record::{Chain, Depth};
use pos_till::Till;
use pos_till::requests::RecordedTicket;
use pos_till::system::SystemClock;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{SIMPLE_SALE, new_till, till_bin};

#[test]
fn sales_acknowledged_before_sigkill_survive_it() {
    let t = new_till();
    let path = t.path.clone();
    drop(t.till);
    let mut rng = StdRng::seed_from_u64(20_261_122);
    let mut acknowledged: Vec<RecordedTicket> = Vec::new();
    for round in 0..25 {
        let mut child = Command::new(till_bin())
            .arg("--db")
            .arg(&path)
            .args(["--json", "sell", "--each-line"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || {
            // Keep the seller busy until the pipe breaks when it dies.
            while writeln!(stdin, "{SIMPLE_SALE}").is_ok() {}
        });
        let lines = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let lines = lines.clone();
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            })
        };
        std::thread::sleep(Duration::from_millis(rng.random_range(5..120)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        feeder.join().unwrap();
        for line in lines.lock().unwrap().iter() {
            acknowledged.push(serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("round {round}: a printed ticket is whole JSON: {e}: {line}")
            }));
        }

        let mut till = Till::open(&path, Arc::new(SystemClock)).unwrap();
        let report = till.verify(Depth::Full).unwrap();
        assert!(
            report.intact(),
            "round {round}: the ledger verifies after SIGKILL: {report:?}"
        );
        let length = till.chain_length(Chain::Ticket).unwrap();
        let numbers: Vec<u64> = acknowledged.iter().map(|t| t.number).collect();
        let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
        assert_eq!(
            numbers, expected,
            "round {round}: acknowledged numbers are gap-free from 1"
        );
        assert!(
            length >= numbers.len() as u64,
            "round {round}: every acknowledged sale is in the ledger"
        );
        for ticket in &acknowledged {
            let stored = till.ticket(Chain::Ticket, ticket.number).unwrap();
            assert_eq!(
                stored.signature, ticket.signature,
                "round {round}: ticket {} is unchanged",
                ticket.number
            );
        }
        // Sales committed but not yet printed when killed are legitimately there too: adopt them
        // so the next round's numbering check starts from the ledger.
        for number in acknowledged.len() as u64 + 1..=length {
            acknowledged.push(till.ticket(Chain::Ticket, number).unwrap());
        }
    }
    assert!(
        acknowledged.len() >= 25,
        "the test recorded sales ({} in all)",
        acknowledged.len()
    );
}
