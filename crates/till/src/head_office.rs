//! How the till reaches head office: the one HTTP(S) client every request to head office goes
//! through (enrollment, uploads, customers, the changes feed).
//!
//! - **HTTPS**, with rustls and its ring provider (no OpenSSL, no process-wide provider),
//!   trusting the system's certificate authorities plus the authority (or the certificate)
//!   pinned at enrollment (`till enroll --ca-cert FILE.pem`), which the ledger keeps with the
//!   enrollment and every later request uses.
//! - **Plain `http://`** only to this machine (127.0.0.0/8, `::1`, `localhost`): anything else
//!   is refused before any connection is made, since tokens, signed records, customers and
//!   staff PIN hashes would cross the network in clear.
//! - **Errors** say what to do: an untrusted certificate names `--ca-cert`, a refused scheme
//!   names `https://`.
//!
//! - **Customer money across the chain** ([`Till::lookup_instrument`], [`Till::hold_redemption`],
//!   [`Till::lookup_ticket`], [`Till::reserve_return`]): asked while the customer waits, so
//!   each allows [`ASK_TIMEOUT`]; no answer (no network, not enrolled, a head office without
//!   the feature) is `Ok(None)`, and the caller applies the offline rules (caps, a manager's
//!   approval) instead of refusing. Only a refusal head office *answered* is an error.
//!
//! The client is blocking (hyper on a small runtime of its own, per client): call it from a
//! thread that may block, never from async code. hyper is used rather than reqwest's TLS
//! features so that no other HTTP client of the workspace depends on a process-wide rustls
//! provider.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Serialize;
use serde::de::DeserializeOwned;

use pos_domain::wire::ApiError;

use crate::error::{Result, TillError};

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may take, answer included, unless the caller says otherwise.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The code of a plain `http://` address refused because it is not this machine.
pub const PLAIN_HTTP_REFUSED: &str = "plain_http_refused";
/// The code of a head office whose certificate no trusted authority signed.
pub const CERTIFICATE_UNTRUSTED: &str = "server_certificate_untrusted";
/// The code of a head office whose certificate is refused for another reason (expired, for
/// another name...).
pub const CERTIFICATE_REFUSED: &str = "server_certificate_refused";
/// The code of a `--ca-cert` file that holds no usable certificate.
pub const CA_CERT_INVALID: &str = "ca_cert_invalid";

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// A blocking client of one head office.
#[derive(Clone)]
pub(crate) struct HeadOffice {
    base: String,
    runtime: Arc<tokio::runtime::Runtime>,
    http: Client<Https, Full<Bytes>>,
}

/// How long the till waits for head office while a customer is at the till.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(3);

/// An answer: its status and body, read whole.
pub(crate) struct Answer {
    status: u16,
    body: Bytes,
}

impl HeadOffice {
    /// A client of the head office at `base` (`https://HOST[:PORT]`, or `http://` on this
    /// machine), trusting the system's authorities and `pinned_pem` (PEM certificates) if
    /// given. Refuses a plain `http://` address of another machine before connecting.
    pub(crate) fn new(base: &str, pinned_pem: Option<&str>) -> Result<HeadOffice> {
        let base = base.trim().trim_end_matches('/').to_string();
        check_address(&base)?;
        let roots = trusted_roots(pinned_pem)?;
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TillError::Unreachable(format!("TLS cannot be set up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TillError::Unreachable(format!("no runtime for HTTP: {e}")))?;
        let http = Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Ok(HeadOffice {
            base,
            runtime: Arc::new(runtime),
            http,
        })
    }

    /// Head office's address, without a trailing slash.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// POSTs `body` as JSON to `path` (below the base address) and reads the answer.
    pub(crate) fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &impl Serialize,
    ) -> Result<T> {
        let body = serde_json::to_vec(body)
            .map_err(|e| TillError::invalid("request_unencodable", e.to_string()))?;
        self.send(Method::POST, path, token, Some(body), REQUEST_TIMEOUT)?
            .decode()
    }

    /// [`HeadOffice::post_json`] allowing `timeout` for the whole exchange.
    pub(crate) fn post_json_within<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<T> {
        let body = serde_json::to_vec(body)
            .map_err(|e| TillError::invalid("request_unencodable", e.to_string()))?;
        self.send(Method::POST, path, token, Some(body), timeout)?
            .decode()
    }

    /// GETs `path` (below the base address, query included) and reads the answer, allowing
    /// `timeout` for the whole exchange.
    pub(crate) fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        timeout: Duration,
    ) -> Result<T> {
        self.send(Method::GET, path, token, None, timeout)?.decode()
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Answer> {
        let url = format!("{}{path}", self.base);
        let mut request = Request::builder()
            .method(method)
            .uri(&url)
            .header(header::ACCEPT, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if json.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(json.unwrap_or_default())))
            .map_err(|e| address_invalid(&url, &e.to_string()))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| connection_failed(&self.base, &e))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| TillError::Unreachable(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        self.runtime
            .block_on(async { tokio::time::timeout(timeout, exchange).await })
            .map_err(|_| {
                TillError::Unreachable(format!(
                    "no answer from {url} within {} s",
                    timeout.as_secs()
                ))
            })?
    }
}

impl crate::engine::Till {
    /// POSTs `body` to `/api/v1/tills/{till}/{what}` with [`ASK_TIMEOUT`]: `Ok(None)` when head
    /// office does not answer (or this till is not enrolled, or head office lacks the route).
    fn ask<T: DeserializeOwned>(&self, what: &str, body: &impl Serialize) -> Result<Option<T>> {
        let Ok(server) = self.server() else {
            return Ok(None);
        };
        let path = format!("/api/v1/tills/{}/{what}", self.identity.till_id);
        match server
            .http
            .post_json_within(&path, Some(&server.token), body, ASK_TIMEOUT)
        {
            Ok(answer) => Ok(Some(answer)),
            Err(TillError::Unreachable(why)) => {
                tracing::info!(%what, %why, "head office did not answer: offline rules apply");
                Ok(None)
            }
            Err(TillError::Server { code, .. }) if code == "not_found" || code == "http_404" => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Head office's balance of a credit note or gift card (`None`: no answer, spend offline).
    pub fn lookup_instrument(
        &self,
        number: &pos_domain::stored_value::InstrumentNumber,
    ) -> Result<Option<pos_domain::wire::InstrumentAnswer>> {
        self.ask(
            "instruments/lookup",
            &pos_domain::wire::InstrumentLookup {
                protocol: pos_domain::wire::ProtocolVersion::CURRENT,
                number: number.clone(),
            },
        )
    }

    /// Reserves `amount` of an instrument for a sale about to be recorded.
    pub fn hold_redemption(
        &self,
        hold: &pos_domain::wire::RedemptionHold,
    ) -> Result<Option<pos_domain::wire::RedemptionHoldAnswer>> {
        self.ask("instruments/hold", hold)
    }

    /// Another till's ticket with every return made against it in the chain.
    pub fn lookup_ticket(
        &self,
        receipt: &pos_domain::returns_anywhere::ReceiptRef,
    ) -> Result<Option<pos_domain::wire::TicketLookupAnswer>> {
        self.ask(
            "tickets/lookup",
            &pos_domain::wire::TicketLookup {
                protocol: pos_domain::wire::ProtocolVersion::CURRENT,
                till: receipt.till.clone(),
                ticket: receipt.ticket,
                hash_prefix: receipt.hash_prefix.clone(),
            },
        )
    }

    /// Reserves the lines about to be returned against another till's ticket.
    pub fn reserve_return(
        &self,
        reservation: &pos_domain::wire::ReturnReservation,
    ) -> Result<Option<pos_domain::wire::ReturnReservationAnswer>> {
        self.ask("returns/reserve", reservation)
    }
}

impl Answer {
    /// The expected JSON on success, the server's `{code, message}` otherwise.
    fn decode<T: DeserializeOwned>(self) -> Result<T> {
        if (200..300).contains(&self.status) {
            return serde_json::from_slice(&self.body).map_err(|e| {
                TillError::Unreachable(format!("unexpected answer from head office: {e}"))
            });
        }
        let error: ApiError = serde_json::from_slice(&self.body).unwrap_or(ApiError {
            code: format!("http_{}", self.status),
            message: String::from_utf8_lossy(&self.body)
                .chars()
                .take(300)
                .collect(),
        });
        Err(TillError::Server {
            code: error.code,
            message: error.message,
        })
    }
}

/// Refuses an address the till must not use: not http(s), or plain `http://` to another
/// machine. Nothing is connected to.
pub fn check_address(base: &str) -> Result<()> {
    let uri: Uri = base
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| address_invalid(base, &e.to_string()))?;
    let host = uri
        .host()
        .ok_or_else(|| address_invalid(base, "it names no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_this_machine(host) => Ok(()),
        Some("http") => Err(TillError::invalid(
            PLAIN_HTTP_REFUSED,
            format!(
                "{base} is plain HTTP to another machine: the till's token, records and customers would cross the network unencrypted. Use https://{} (and --ca-cert FILE.pem if head office's certificate comes from a private authority); plain http:// is only for a head office on this machine (127.0.0.1, ::1, localhost)",
                base.trim_start_matches("http://")
            ),
        )),
        _ => Err(address_invalid(base, "it does not start with https://")),
    }
}

/// Whether `host` (as written in a URL, IPv6 in brackets) is this machine.
fn is_this_machine(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

fn address_invalid(base: &str, why: &str) -> TillError {
    TillError::invalid(
        "server_address_invalid",
        format!("`{base}` is not head office's address ({why}): give it as https://HOST[:PORT]"),
    )
}

/// The system's certificate authorities, plus the pinned ones.
fn trusted_roots(pinned_pem: Option<&str>) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    // An unreadable system certificate is skipped: a head office it would have vouched for
    // then fails with a certificate error that says what to do.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(pem) = pinned_pem {
        let (_, refused) = roots.add_parsable_certificates(pinned_certificates(pem)?);
        if refused > 0 {
            return Err(TillError::invalid(
                CA_CERT_INVALID,
                "a pinned certificate cannot serve as an authority: give the PEM file of the authority that signed head office's certificate",
            ));
        }
    }
    Ok(roots)
}

/// The certificates of a PEM file given with `--ca-cert`; at least one.
pub fn pinned_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let invalid = |why: String| {
        TillError::invalid(
            CA_CERT_INVALID,
            format!(
                "the --ca-cert file is not a PEM certificate ({why}): give the file of the authority that signed head office's certificate, starting with -----BEGIN CERTIFICATE-----"
            ),
        )
    };
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    if certificates.is_empty() {
        return Err(invalid("no certificate in it".into()));
    }
    Ok(certificates)
}

/// Says why a connection failed; a refused certificate says what to do about it.
fn connection_failed(base: &str, error: &hyper_util::client::legacy::Error) -> TillError {
    match tls_error(error) {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            TillError::invalid(
                CERTIFICATE_UNTRUSTED,
                format!(
                    "head office's certificate at {base} is signed by an authority this till does not trust: enroll again with `till enroll --server {base} --code CODE --ca-cert FILE.pem`, FILE.pem being the authority that signed it (ask head office for it)"
                ),
            )
        }
        Some(rustls::Error::InvalidCertificate(why)) => TillError::invalid(
            CERTIFICATE_REFUSED,
            format!(
                "head office's certificate at {base} is refused ({why:?}): check the address, the machine's date, and that head office serves a valid certificate for this name"
            ),
        ),
        Some(other) => TillError::Unreachable(format!("TLS with {base} failed: {other}")),
        None => TillError::Unreachable(describe(error)),
    }
}

/// The rustls error somewhere in `error`'s chain of causes (hyper and tokio wrap it in
/// `std::io::Error`s, whose `source` skips the wrapped error, so those are opened too).
fn tls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(tls) = tls_error(inner)
        {
            return Some(tls);
        }
        next = current.source();
    }
    None
}

/// An error with its causes, as one line.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_only_for_this_machine() {
        for local in [
            "http://127.0.0.1:8080",
            "http://127.3.2.1",
            "http://[::1]:8080",
            "http://localhost:8080",
            "http://LOCALHOST",
            "https://hq.example",
            "https://192.0.2.1:8443",
        ] {
            assert!(check_address(local).is_ok(), "{local} is allowed");
        }
        for remote in [
            "http://192.0.2.1:8080",
            "http://hq.example",
            "http://localhost.example.com",
            "http://[2001:db8::1]:8080",
            "http://10.0.0.1",
        ] {
            let error = check_address(remote).unwrap_err();
            assert_eq!(error.code(), PLAIN_HTTP_REFUSED, "{remote}: {error}");
            assert!(error.to_string().contains("https://"), "{error}");
        }
        for broken in ["ftp://hq.example", "hq.example:8080", "https://"] {
            assert_eq!(
                check_address(broken).unwrap_err().code(),
                "server_address_invalid",
                "{broken}"
            );
        }
    }

    #[test]
    fn a_pin_must_hold_a_certificate() {
        assert_eq!(
            pinned_certificates("hello").unwrap_err().code(),
            CA_CERT_INVALID
        );
    }
}
