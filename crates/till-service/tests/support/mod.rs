//! A till behind the real loopback HTTP transport, with the printer and terminal simulators on
//! real TCP sockets, in a temporary directory.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pos_domain::record::Chain;
use pos_till::system::SystemClock;
use pos_till_service::devices::Devices;
use pos_till_service::simulators::{PrinterSimulator, TerminalSimulator};
use pos_till_service::{Service, ServiceOptions, http, setup};
use serde_json::{Value, json};

pub struct TestTill {
    pub dir: tempfile::TempDir,
    pub url: String,
    /// The launch secret every command carries (the served UI reads it from its page).
    pub secret: http::LaunchSecret,
    pub printer: PrinterSimulator,
    pub terminal: TerminalSimulator,
    client: reqwest::blocking::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<std::thread::JoinHandle<()>>,
}

/// What a command answered: HTTP status and JSON body.
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The body of a successful answer (fails the test otherwise).
    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "expected success, got {}", self.body);
        self.body
    }

    /// The error code of a refused answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl TestTill {
    /// A till with the demo catalog and staff, a printer and a terminal with `behaviour`.
    pub fn start(behaviour: &str, result_timeout: Duration) -> TestTill {
        let dir = tempfile::tempdir().expect("temp dir");
        TestTill::start_in(dir, behaviour, result_timeout)
    }

    pub fn start_in(dir: tempfile::TempDir, behaviour: &str, result_timeout: Duration) -> TestTill {
        let db = dir.path().join("till.db");
        setup::demo_ledger(&db).expect("demo ledger");
        let printer = PrinterSimulator::start(&dir.path().join("receipts")).expect("printer sim");
        let terminal = TerminalSimulator::start(behaviour).expect("terminal sim");
        let devices = Devices::from_uris(Some(printer.uri()), Some(terminal.uri()), result_timeout)
            .expect("device URIs");
        let service = Arc::new(
            Service::open(
                &db,
                Arc::new(SystemClock),
                devices,
                ServiceOptions::default(),
            )
            .expect("service"),
        );
        let secret = http::LaunchSecret::random().expect("launch secret");
        let served_secret = secret.clone();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = http::bind_loopback("127.0.0.1:0".parse().expect("addr"))
                    .await
                    .expect("bind");
                ready_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("ready");
                http::serve(listener, service, None, served_secret, async {
                    let _ = stopped.await;
                })
                .await
                .expect("serve");
            });
        });
        let addr = ready_rx.recv().expect("server address");
        TestTill {
            dir,
            url: format!("http://{addr}"),
            secret,
            printer,
            terminal,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("till.db")
    }

    /// The length of every chain of the ledger, read from the file itself.
    pub fn chain_lengths(&self) -> Vec<(Chain, u64)> {
        let till = pos_till::Till::open(&self.db(), Arc::new(SystemClock)).expect("ledger");
        Chain::ALL
            .iter()
            .map(|c| (*c, till.chain_length(*c).expect("chain length")))
            .collect()
    }

    /// Stops the server and gives the directory back (to start again on the same ledger).
    pub fn stop(mut self) -> tempfile::TempDir {
        self.halt();
        let dir = tempfile::tempdir().expect("placeholder");
        std::mem::replace(&mut self.dir, dir)
    }

    fn halt(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }

    /// Calls a command over HTTP, as the till's own UI does.
    pub fn call(&self, command: &str, request: Value) -> Answer {
        self.call_with(
            command,
            request.to_string(),
            &[
                ("content-type", "application/json"),
                (http::SECRET_HEADER, self.secret.as_str()),
            ],
        )
    }

    /// Posts `body` to a command with exactly these headers (what another page could send).
    pub fn call_with(&self, command: &str, body: String, headers: &[(&str, &str)]) -> Answer {
        let mut post = self.client.post(format!("{}/api/{command}", self.url));
        for (name, value) in headers {
            post = post.header(*name, *value);
        }
        let response = post.body(body).send().expect("HTTP request");
        let status = response.status().as_u16();
        let body = response.json().expect("JSON body");
        Answer { status, body }
    }

    pub fn login(&self, pin: &str) -> Value {
        self.call("login", json!({ "pin": pin })).ok()
    }

    /// Starts a card payment and polls it until the terminal's outcome is known.
    pub fn pay_by_card(&self, amount: &str, kind: &str) -> Value {
        let started = self
            .call(
                "card_payment_start",
                json!({ "amount": amount, "kind": kind }),
            )
            .ok();
        assert_eq!(started["state"], "pending", "{started}");
        let id = started["payment_id"]
            .as_str()
            .expect("payment id")
            .to_string();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = self
                .call("card_payment_status", json!({ "payment_id": id }))
                .ok();
            if status["state"] != "pending" || Instant::now() > deadline {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The text of the first receipt the printer simulator wrote that contains `needle`.
    pub fn printed_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let receipts = self
                .printer
                .wait_receipts(usize::MAX, Duration::from_millis(200));
            if let Some(found) = receipts.iter().find(|r| r.text.contains(needle)) {
                return found.text.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no receipt printed with `{needle}`; printed: {:#?}",
                receipts.iter().map(|r| &r.text).collect::<Vec<_>>()
            );
        }
    }

    /// The QR code of the first receipt printed with `needle`, decoded from the simulator's
    /// PNG image of the paper, as a scanner reads it.
    pub fn scan_printed_qr(&self, needle: &str) -> String {
        self.printed_with(needle);
        let receipts = self
            .printer
            .wait_receipts(usize::MAX, Duration::from_millis(200));
        let receipt = receipts
            .iter()
            .find(|r| r.text.contains(needle))
            .expect("the receipt was printed");
        scan_qr(&receipt.png)
    }

    /// The text of the `n`th receipt the printer simulator wrote (1-based).
    pub fn printed(&self, n: usize) -> String {
        let receipts = self.printer.wait_receipts(n, Duration::from_secs(10));
        assert!(
            receipts.len() >= n,
            "the printer simulator should have printed {n} receipts, it printed {}",
            receipts.len()
        );
        receipts[n - 1].text.clone()
    }
}

impl Drop for TestTill {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A cart line by product id.
pub fn line(product_id: &str, quantity: u32) -> Value {
    json!({ "product_id": product_id, "quantity": quantity })
}

/// The one QR code in a PNG image.
pub fn scan_qr(png_file: &std::path::Path) -> String {
    let file = std::fs::File::open(png_file).expect("receipt image");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut buf).expect("PNG image");
    assert_eq!(
        info.color_type,
        png::ColorType::Grayscale,
        "receipt images are grey"
    );
    let (w, h) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(
        grids.len(),
        1,
        "one QR code on the receipt {}",
        png_file.display()
    );
    grids[0].decode().expect("the QR code decodes").1
}
