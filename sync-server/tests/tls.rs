//! TLS between a till and head office, with a test certificate authority made by rcgen: a real
//! till (`pos_till`, what `till enroll` and `till sync` run) enrolls with the authority pinned
//! and syncs records over HTTPS, served by the library's entry point, by the `sync-server`
//! binary with `--tls-cert`/`--tls-key`, and through a TLS-terminating reverse proxy; without
//! the pin it is refused and told what to do; plain HTTP to another machine is refused before
//! any connection.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pos_till::Till;
use pos_till::head_office::{CERTIFICATE_UNTRUSTED, PLAIN_HTTP_REFUSED};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use reqwest::StatusCode;
use support::*;
use sync_server::{AppState, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A test certificate authority and head office's certificate (for `localhost` and
/// `127.0.0.1`) signed by it, as PEM files.
struct TestPki {
    _dir: tempfile::TempDir,
    authority_pem: String,
    cert_file: PathBuf,
    key_file: PathBuf,
}

impl TestPki {
    fn new() -> TestPki {
        let mut authority = CertificateParams::new(Vec::<String>::new()).unwrap();
        authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        authority
            .distinguished_name
            .push(DnType::CommonName, "Acme test authority");
        authority.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let authority =
            CertifiedIssuer::self_signed(authority, KeyPair::generate().unwrap()).unwrap();
        let mut server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("names of head office");
        server
            .distinguished_name
            .push(DnType::CommonName, "head office");
        let server_key = KeyPair::generate().unwrap();
        let server_cert = server.signed_by(&server_key, &authority).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert_file = dir.path().join("hq.pem");
        let key_file = dir.path().join("hq.key");
        std::fs::write(&cert_file, server_cert.pem() + &authority.pem()).unwrap();
        std::fs::write(&key_file, server_key.serialize_pem()).unwrap();
        TestPki {
            _dir: dir,
            authority_pem: authority.pem(),
            cert_file,
            key_file,
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        sync_server::tls::server_config(&self.cert_file, &self.key_file)
            .expect("the certificate and key files serve")
    }
}

/// Serves `server`'s store over HTTPS with the library's entry point; the address, and what
/// stops it when dropped.
async fn serve_https(
    server: &Server,
    tls: Arc<rustls::ServerConfig>,
) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let state = AppState {
        store: server.store.clone(),
        config: ServerConfig::default(),
    };
    tokio::spawn(sync_server::tls::serve(listener, tls, state, async {
        let _ = stopped.await;
    }));
    (address, stop)
}

async fn head_office_total_cents(server: &Server) -> i64 {
    let (status, answer) = server
        .get("/api/v1/hq/sales?by=shop", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let total: pos_domain::Money = serde_json::from_value(answer["total"].clone()).unwrap();
    total.cents()
}

/// Enrolls `till` at `url` trusting `authority`, syncs, and checks head office holds it all.
async fn enroll_and_sync(till: Till, url: String, code: String, authority: String) -> Till {
    blocking(move || {
        let mut till = till;
        till.enroll_trusting(&url, &code, Some(&authority))
            .expect("enrollment over HTTPS with the pinned authority");
        let summary = till.sync(|_, _, _| {}).expect("a sync over HTTPS");
        assert_eq!(
            summary.waiting, 0,
            "head office holds every record: {summary:?}"
        );
        till
    })
    .await
}

on_every_backend!(a_till_enrolls_and_syncs_over_https_with_the_pinned_authority);

async fn a_till_enrolls_and_syncs_over_https_with_the_pinned_authority(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let pki = TestPki::new();
    let (address, _stop) = serve_https(&server, pki.server_config()).await;
    let code = server.create_till(SHOP_A, "PARIS-OPERA-1").await;
    let t = TestTill::new("PARIS-OPERA-1", 21, 40, 2, 3);
    let total_cents = t.ticket_total_cents();
    let TestTill {
        dir: _dir,
        path,
        clock,
        till,
    } = t;
    let url = format!("https://localhost:{}", address.port());
    let till = enroll_and_sync(till, url, code, pki.authority_pem.clone()).await;
    assert_eq!(
        head_office_total_cents(&server).await,
        total_cents,
        "the records went up over HTTPS"
    );
    assert_eq!(
        till.enrolled_server().unwrap().as_deref(),
        Some(format!("https://localhost:{}", address.port()).as_str())
    );
    drop(till);

    // The pin is kept with the enrollment: the reopened till syncs again without being told.
    let again = blocking(move || {
        let mut till = Till::open(&path, clock).unwrap();
        till.sync(|_, _, _| {})
    })
    .await
    .expect("later syncs trust the authority pinned at enrollment");
    assert_eq!(again.waiting, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_without_the_pinned_authority_is_refused_and_told_what_to_do() {
    let server = Server::start(Backend::Sqlite).await.unwrap();
    let pki = TestPki::new();
    let (address, _stop) = serve_https(&server, pki.server_config()).await;
    let code = server.create_till(SHOP_A, "PARIS-OPERA-2").await;
    let TestTill {
        dir: _dir, till, ..
    } = TestTill::new("PARIS-OPERA-2", 22, 5, 1, 4);
    let url = format!("https://127.0.0.1:{}", address.port());
    let (till, refused) = {
        let url = url.clone();
        let code = code.clone();
        blocking(move || {
            let mut till = till;
            let refused = till.enroll(&url, &code).map(|_| ());
            (till, refused)
        })
        .await
    };
    let error = refused.expect_err("a certificate from an unknown authority is refused");
    assert_eq!(
        error.code(),
        CERTIFICATE_UNTRUSTED,
        "an unknown issuer has its own code: {error}"
    );
    assert!(
        error.to_string().contains("--ca-cert"),
        "the message says to pin the authority: {error}"
    );
    assert_eq!(
        till.enrolled_server().unwrap(),
        None,
        "nothing is recorded by a refused enrollment"
    );
    // Nothing reached head office either: the one-time code still enrolls the pinned till.
    enroll_and_sync(till, url, code, pki.authority_pem.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_of_head_office_can_be_pinned_itself() {
    let server = Server::start(Backend::Sqlite).await.unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("hq.pem"), dir.path().join("hq.key"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, signing_key.serialize_pem()).unwrap();
    let tls = sync_server::tls::server_config(&cert_file, &key_file).unwrap();
    let (address, _stop) = serve_https(&server, tls).await;
    let code = server.create_till(SHOP_A, "PARIS-OPERA-6").await;
    let t = TestTill::new("PARIS-OPERA-6", 26, 10, 1, 8);
    let total_cents = t.ticket_total_cents();
    let url = format!("https://localhost:{}", address.port());
    let _till = enroll_and_sync(t.till, url, code, cert.pem()).await;
    assert_eq!(
        head_office_total_cents(&server).await,
        total_cents,
        "the pinned certificate is trusted as its own authority"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_machine_is_refused_before_any_connection() {
    let server = Server::start(Backend::Sqlite).await.unwrap();
    let TestTill {
        dir: _dir,
        path,
        till,
        ..
    } = TestTill::new("PARIS-OPERA-3", 23, 5, 1, 5);
    let till = blocking(move || {
        let mut till = till;
        // TEST-NET-1 (RFC 5737) is never routed: a connection attempt would wait for the
        // connect timeout (10 s) instead of answering at once.
        for address in ["http://192.0.2.1:8080", "http://hq.example:8080"] {
            let started = Instant::now();
            let error = till
                .enroll(address, "ABCD-EFGH")
                .map(|_| ())
                .expect_err("plain HTTP to another machine is refused");
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{address} is refused before any connection ({:?})",
                started.elapsed()
            );
            assert_eq!(error.code(), PLAIN_HTTP_REFUSED, "{error}");
            assert!(
                error.to_string().contains("https://"),
                "the message says to use https://: {error}"
            );
        }
        till
    })
    .await;
    // A till enrolled before this rule with a plain address elsewhere stops syncing in clear.
    let code = server.create_till(SHOP_A, "PARIS-OPERA-3").await;
    let url = server.url.clone();
    let till = blocking(move || {
        let mut till = till;
        till.enroll(&url, &code)
            .expect("plain HTTP on this machine is allowed");
        till
    })
    .await;
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE sync_server SET url = 'http://192.0.2.1:8080'", [])
        .unwrap();
    let error = blocking(move || {
        let mut till = till;
        let started = Instant::now();
        let error = till.sync(|_, _, _| {}).map(|_| ()).unwrap_err();
        (error, started.elapsed())
    })
    .await;
    assert_eq!(error.0.code(), PLAIN_HTTP_REFUSED, "{}", error.0);
    assert!(error.1 < Duration::from_secs(1), "refused at once");
}

/// A reverse proxy terminating TLS on 127.0.0.1:0 and passing each connection to `upstream`.
async fn tls_terminating_proxy(pki: &TestPki, upstream: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config());
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut client) = acceptor.accept(client).await else {
                    return;
                };
                let mut server = TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_syncs_through_a_tls_terminating_reverse_proxy() {
    let server = Server::start(Backend::Sqlite).await.unwrap();
    let pki = TestPki::new();
    let upstream: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let proxy = tls_terminating_proxy(&pki, upstream).await;
    let code = server.create_till(SHOP_A, "PARIS-OPERA-4").await;
    let t = TestTill::new("PARIS-OPERA-4", 24, 40, 2, 6);
    let total_cents = t.ticket_total_cents();
    let url = format!("https://localhost:{}", proxy.port());
    let _till = enroll_and_sync(t.till, url, code, pki.authority_pem.clone()).await;
    assert_eq!(
        head_office_total_cents(&server).await,
        total_cents,
        "the records went up through the proxy"
    );
}

/// Starts `sync-server serve` on `db` with `args`, and returns it with the address it logs.
fn start_binary(db: &str, dir: &Path, args: &[&str]) -> (std::process::Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sync-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("SYNC_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .current_dir(dir)
        .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("address=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string)
        })
        .expect("the server logs the address it listens on");
    // Keep reading the log so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_https_with_its_certificate_and_key_files() {
    let server = Server::start(Backend::Sqlite).await.unwrap();
    let pki = TestPki::new();
    let code = server.create_till(SHOP_A, "PARIS-OPERA-5").await;
    let (mut child, address) = start_binary(
        &server.db_url,
        server.dir.path(),
        &[
            "--tls-cert",
            pki.cert_file.to_str().unwrap(),
            "--tls-key",
            pki.key_file.to_str().unwrap(),
        ],
    );
    let t = TestTill::new("PARIS-OPERA-5", 25, 30, 2, 7);
    let total_cents = t.ticket_total_cents();
    let port = address.rsplit(':').next().unwrap().to_string();
    let url = format!("https://localhost:{port}");
    let _till = enroll_and_sync(t.till, url, code, pki.authority_pem.clone()).await;
    assert_eq!(head_office_total_cents(&server).await, total_cents);
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "stops cleanly on interrupt"
    );

    // Half a TLS setting is refused at start, naming both.
    let output = Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .current_dir(server.dir.path())
        .args(["--db", &server.db_url, "serve", "--listen", "127.0.0.1:0"])
        .args(["--tls-cert", pki.cert_file.to_str().unwrap()])
        .env_remove("SYNC_TLS_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success(), "a certificate without its key");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--tls-cert") && stderr.contains("--tls-key"),
        "{stderr}"
    );
}
