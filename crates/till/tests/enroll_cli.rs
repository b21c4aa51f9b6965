//! `till enroll` refuses, before any connection and with a code, what would send the till's
//! secrets in clear or trust nothing: plain `http://` to another machine, and a `--ca-cert`
//! file that is no PEM certificate. (Enrolling over HTTPS with a pinned authority against a
//! real head office is in sync-server/tests/tls.rs.)

mod support;

use std::time::{Duration, Instant};

use support::{new_till, run_till, text};

#[test]
fn plain_http_to_another_machine_is_refused_at_once_with_what_to_do() {
    let t = new_till();
    drop(t.till);
    let started = Instant::now();
    let out = run_till(
        &t.path,
        &[
            "enroll",
            "--server",
            "http://192.0.2.1:8080",
            "--code",
            "K7QM-2XPD-9RTA",
        ],
        "",
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused without trying to connect (TEST-NET would hang until the connect timeout)"
    );
    assert!(stderr.contains("[plain_http_refused]"), "{stderr}");
    assert!(
        stderr.contains("https://192.0.2.1:8080") && stderr.contains("--ca-cert"),
        "the message says what to use instead: {stderr}"
    );
}

#[test]
fn a_ca_cert_file_that_is_no_certificate_is_refused() {
    let t = new_till();
    drop(t.till);
    let pem = t.dir.path().join("not-a-certificate.pem");
    std::fs::write(&pem, "hello").unwrap();
    let out = run_till(
        &t.path,
        &[
            "enroll",
            "--server",
            "https://192.0.2.1:8443",
            "--code",
            "K7QM-2XPD-9RTA",
            "--ca-cert",
            pem.to_str().unwrap(),
        ],
        "",
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("[ca_cert_invalid]"), "{stderr}");
    assert!(stderr.contains("BEGIN CERTIFICATE"), "{stderr}");
}
