//! The printer simulator over a real pseudo-terminal and real TCP, driven by our client.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use pos_escpos::client::{PrintOutcome, Printer, PrinterConfig};
use pos_escpos::sim::{PrinterSim, SimConfig, SimEvent};
use pos_escpos::{DrawerPulse, Paper, Receipt, ReceiptConfig};
use pos_transport::DeviceUri;

fn receipt(title: &str) -> Vec<u8> {
    let mut r = Receipt::new(ReceiptConfig::default());
    r.title(title);
    r.columns("Crème brûlée", "4,20 €");
    r.qr("https://example.invalid/t/1").unwrap();
    r.cut();
    r.finish()
}

fn open(uri: &str) -> Box<dyn pos_transport::Transport> {
    let uri: DeviceUri = uri.parse().unwrap();
    pos_transport::open(&uri).unwrap()
}

#[test]
fn pty_printer_prints_answers_status_and_switches_paper_out() {
    let dir = tempfile::tempdir().unwrap();
    // A receipt from an earlier run: numbering must continue after it.
    std::fs::write(dir.path().join("receipt-000041.txt"), "old").unwrap();
    let mut config = SimConfig::new(dir.path());
    config.idle_flush = Some(Duration::from_millis(100));
    let sim = PrinterSim::new(config).unwrap();
    let handle = sim.handle();
    let (master, path) = pos_transport::pty_pair().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (sim, stop) = (sim.clone(), stop.clone());
        thread::spawn(move || sim.serve_link(master, &stop))
    };

    let mut printer = Printer::new(
        open(&format!("serial://{path}?baud=115200")),
        PrinterConfig::default(),
    );
    let status = printer.status().unwrap();
    assert!(
        status.ready(),
        "a fresh simulated printer is ready: {status:?}"
    );

    assert_eq!(
        printer.print_checked(&receipt("Reçu 1")).unwrap(),
        PrintOutcome::Sent
    );
    let written = handle.wait_receipts(1, Duration::from_secs(10));
    assert_eq!(written.len(), 1, "one cut, one receipt file");
    let r = &written[0];
    assert_eq!(r.number, 42, "numbering continues after receipt-000041");
    assert!(r.txt.ends_with("receipt-000042.txt"));
    let txt = std::fs::read_to_string(&r.txt).unwrap();
    assert!(
        txt.starts_with("Reçu 1\nCrème brûlée"),
        "decoded text in the .txt: {txt:?}"
    );
    assert!(txt.contains("[QR https://example.invalid/t/1]"), "{txt:?}");
    assert_eq!(
        std::fs::read(&r.bin).unwrap(),
        receipt("Reçu 1"),
        ".bin holds the raw bytes"
    );
    assert!(
        std::fs::read(&r.png).unwrap().starts_with(b"\x89PNG"),
        ".png is a PNG"
    );

    // Paper out through the control file.
    std::fs::write(dir.path().join("paper-out"), "").unwrap();
    let status = printer.status().unwrap();
    assert_eq!(
        status.paper,
        Paper::Out,
        "the control file switches paper out"
    );
    assert!(!status.ready());
    assert!(
        matches!(
            printer.print_checked(&receipt("Reçu 2")).unwrap(),
            PrintOutcome::NotReady(_)
        ),
        "a checked print refuses when the printer reports paper out"
    );
    std::fs::remove_file(dir.path().join("paper-out")).unwrap();
    // Near end through the API.
    handle.set_paper(Paper::NearEnd);
    assert_eq!(printer.status().unwrap().paper, Paper::NearEnd);

    // Drawer kick opens the simulated drawer, seen through status n=1.
    printer.open_drawer(DrawerPulse::default()).unwrap();
    let mut opened = false;
    for _ in 0..50 {
        if printer.status().unwrap().drawer_open {
            opened = true;
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert!(opened, "the drawer sensor reports open after a kick");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(
        handle.receipts().len(),
        1,
        "a drawer pulse and status queries alone print no receipt, even after the idle flush"
    );

    stop.store(true, Ordering::Relaxed);
    server.join().unwrap().unwrap();
}

#[test]
fn tcp_printer_serves_several_connections_and_auto_status() {
    let dir = tempfile::tempdir().unwrap();
    let sim = PrinterSim::new(SimConfig::new(dir.path())).unwrap();
    let handle = sim.handle();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (sim, stop) = (sim.clone(), stop.clone());
        thread::spawn(move || sim.serve_tcp(listener, stop))
    };

    let clients: Vec<_> = (0..2)
        .map(|i| {
            thread::spawn(move || {
                let mut p = Printer::new(open(&format!("tcp://{addr}")), PrinterConfig::default());
                p.print(&receipt(&format!("Ticket {i}"))).unwrap();
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let written = handle.wait_receipts(2, Duration::from_secs(10));
    let mut numbers: Vec<u64> = written.iter().map(|r| r.number).collect();
    numbers.sort();
    assert_eq!(
        numbers,
        vec![1, 2],
        "two connections, two receipts, numbered 1 and 2"
    );

    // A receipt without a cut is written when the connection closes.
    {
        let mut p = Printer::new(open(&format!("tcp://{addr}")), PrinterConfig::default());
        p.print(b"\x1b@no cut\n").unwrap();
    }
    let written = handle.wait_receipts(3, Duration::from_secs(10));
    let last = written
        .iter()
        .find(|r| r.number == 3)
        .expect("third receipt");
    assert!(!last.cut && last.text == "no cut\n", "{last:?}");

    // Automatic status back: the cover opens, the client hears about it unasked.
    let mut p = Printer::new(open(&format!("tcp://{addr}")), PrinterConfig::default());
    p.set_auto_status(true).unwrap();
    let first = p.poll_auto_status(Duration::from_millis(500)).unwrap();
    assert!(
        first.is_some_and(|s| !s.cover_open),
        "ASB sends the state when enabled: {first:?}"
    );
    handle.set_cover_open(true);
    let mut seen = false;
    for _ in 0..20 {
        if p.poll_auto_status(Duration::from_millis(100))
            .unwrap()
            .is_some_and(|s| s.cover_open)
        {
            seen = true;
            break;
        }
    }
    assert!(seen, "an unsolicited ASB reports the open cover");
    // A query answer still arrives correctly while ASB is on.
    assert!(
        p.status().unwrap().cover_open,
        "status query agrees with the ASB"
    );
    assert!(
        handle
            .events()
            .iter()
            .any(|e| matches!(e, SimEvent::Status { request: 2, .. })),
        "the simulator logged the queries"
    );

    stop.store(true, Ordering::Relaxed);
    drop(p);
    server.join().unwrap().unwrap();
}

#[test]
fn usb_printer_class_path_prints_and_answers() {
    // The usblp:// link opens the device node as a plain file and polls for answers; a pty
    // slave stands in for /dev/usb/lp0 (raw mode is set by the pty pair).
    let dir = tempfile::tempdir().unwrap();
    let sim = PrinterSim::new(SimConfig::new(dir.path())).unwrap();
    let handle = sim.handle();
    let (master, path) = pos_transport::pty_pair().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (sim, stop) = (sim.clone(), stop.clone());
        thread::spawn(move || sim.serve_link(master, &stop))
    };
    let mut printer = Printer::new(open(&format!("usblp://{path}")), PrinterConfig::default());
    assert!(
        printer.status().unwrap().ready(),
        "status answers come back through the node"
    );
    printer.print(&receipt("USB")).unwrap();
    let written = handle.wait_receipts(1, Duration::from_secs(10));
    assert_eq!(written.len(), 1);
    assert!(
        written[0].text.starts_with("USB\nCrème brûlée"),
        "{:?}",
        written[0].text
    );
    assert_eq!(
        std::fs::read(&written[0].bin).unwrap(),
        receipt("USB"),
        "bytes arrive unchanged"
    );
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap().unwrap();
}
