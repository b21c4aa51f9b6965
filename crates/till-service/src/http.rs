//! The loopback HTTP transport: `POST /api/{command}` with the request as JSON body, answered
//! by [`Service::call`] exactly as the Tauri command is, plus the built UI served statically from
//! the same origin. Browser tests and development use it; the shop's till uses the Tauri window.
//!
//! A web page open on the till's browser must not drive the till. So:
//!
//! - it listens on loopback addresses only (anything else is refused at bind), and answers only
//!   requests whose `Host` is a loopback name, so a page elsewhere cannot reach the till through
//!   DNS rebinding;
//! - a command must come from the till's own origin: a foreign `Origin`, or a `Sec-Fetch-Site`
//!   other than `same-origin`, is refused (403), and its body must be `application/json` (415),
//!   which a cross-site form or a "simple" `fetch` cannot send without a CORS preflight that this
//!   server never grants;
//! - a command must carry the [`LaunchSecret`], drawn at each launch, in the [`SECRET_HEADER`]
//!   header (403 without it). The served `index.html` carries it in a
//!   `<meta name="till-secret">` tag: the UI of this origin reads it, another origin's page
//!   cannot (the same-origin policy keeps the response from it, and the page refuses framing).
//!   Tests and tools get it from that page too, or from the file `till-app-http --secret-file`
//!   writes (0600).
//!
//! A refused request never reaches the dispatcher: nothing is recorded.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tower_http::services::ServeDir;

use crate::error::ApiError;
use crate::service::Service;

/// The header a command carries the launch secret in.
pub const SECRET_HEADER: &str = "x-till-secret";

/// The name of the `<meta>` tag of the served `index.html` that holds the launch secret.
pub const SECRET_META: &str = "till-secret";

/// A secret drawn when the transport starts: only the UI it serves (and whoever started it)
/// knows it, and every command must send it back.
#[derive(Clone)]
pub struct LaunchSecret(Arc<str>);

impl LaunchSecret {
    /// 32 random bytes, as 64 hex digits.
    pub fn random() -> std::io::Result<LaunchSecret> {
        let bytes = pos_till::system::random_secret().map_err(std::io::Error::other)?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(LaunchSecret(hex.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compared in constant time: a refusal must not tell how much of a guess was right.
    fn matches(&self, given: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }
}

/// Binds `addr`, refusing any address that is not loopback.
pub async fn bind_loopback(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{addr} is not a loopback address: the till's HTTP transport listens on 127.0.0.1 (or ::1) only"
            ),
        ));
    }
    tokio::net::TcpListener::bind(addr).await
}

/// The HTTP status of an error: what kind of refusal it is, for the browser's tools; the UI
/// reads the body's `code`.
pub fn status_of(error: &ApiError) -> StatusCode {
    match error.code.as_str() {
        "not_logged_in" => StatusCode::UNAUTHORIZED,
        "approval_required" | "manager_only" | "pin_locked" => StatusCode::FORBIDDEN,
        "pin_wait" => StatusCode::TOO_MANY_REQUESTS,
        "cross_site_refused" | "origin_refused" | "secret_refused" => StatusCode::FORBIDDEN,
        "content_type_refused" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unknown_command" => StatusCode::NOT_FOUND,
        _ if error.input_error => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_response(error: ApiError) -> Response {
    (status_of(&error), axum::Json(error)).into_response()
}

async fn command(
    State(service): State<Arc<Service>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(e) => {
                return error_response(ApiError::invalid(
                    "request_invalid",
                    format!("the body is not JSON ({e}): send the request as a JSON object"),
                ));
            }
        }
    };
    // Commands block (SQLite, devices): run them off the async workers.
    let result = tokio::task::spawn_blocking(move || service.call(&name, request)).await;
    match result {
        Ok(Ok(value)) => axum::Json(value).into_response(),
        Ok(Err(error)) => error_response(error),
        Err(join) => error_response(ApiError::failure(
            "command_panicked",
            format!("the command failed unexpectedly ({join}): try again; the ledger is intact"),
        )),
    }
}

fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map(|(n, _)| n).unwrap_or(host)
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn only_loopback_hosts(request: Request, next: Next) -> Response {
    if !loopback_host(request.headers()) {
        return error_response(ApiError::invalid(
            "host_refused",
            "the till answers only on 127.0.0.1 or localhost",
        ));
    }
    next.run(request).await
}

/// Why a command request does not come from the till's own UI, if it does not.
fn foreign_request(headers: &HeaderMap, secret: &LaunchSecret) -> Option<ApiError> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    // Browsers say where a request comes from; a tool that says nothing still needs the secret.
    if let Some(site) = text("sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return Some(ApiError::invalid(
            "cross_site_refused",
            format!("a {site} request cannot drive the till: use the till's own screen"),
        ));
    }
    if let Some(origin) = text(header::ORIGIN.as_str()) {
        let own = text(header::HOST.as_str()).map(|host| format!("http://{host}"));
        if own.as_deref() != Some(origin) {
            return Some(ApiError::invalid(
                "origin_refused",
                format!("a page from {origin} cannot drive the till: use the till's own screen"),
            ));
        }
    }
    let json = text(header::CONTENT_TYPE.as_str()).is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Some(ApiError::invalid(
            "content_type_refused",
            "a command's body is JSON: send it with Content-Type: application/json",
        ));
    }
    let given = headers.get(SECRET_HEADER).map(HeaderValue::as_bytes);
    if !given.is_some_and(|g| secret.matches(g)) {
        return Some(ApiError::invalid(
            "secret_refused",
            format!(
                "this request does not carry the till's launch secret ({SECRET_HEADER}): reload the till's page"
            ),
        ));
    }
    None
}

async fn only_the_tills_own_ui(
    State(secret): State<LaunchSecret>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(refusal) = foreign_request(request.headers(), &secret) {
        tracing::warn!(code = %refusal.code, "a command request was refused");
        return error_response(refusal);
    }
    next.run(request).await
}

/// The built UI's directory and the secret its `index.html` carries.
#[derive(Clone)]
struct Ui {
    dir: PathBuf,
    secret: LaunchSecret,
}

/// `index.html` with the launch secret in a `<meta>` tag, never cached (a new launch has a new
/// secret), never framed by another page, and allowed to talk to this origin only (a link
/// naming another engine, `?api=...`, cannot send the cashier's PINs elsewhere).
async fn index(State(ui): State<Ui>) -> Response {
    let file = ui.dir.join("index.html");
    let html = match tokio::fs::read_to_string(&file).await {
        Ok(html) => html,
        Err(e) => {
            return error_response(ApiError::failure(
                "ui_missing",
                format!(
                    "{}: {e}: build the UI (cd ui && npm run build)",
                    file.display()
                ),
            ));
        }
    };
    let meta = format!(
        r#"<meta name="{SECRET_META}" content="{}">"#,
        ui.secret.as_str()
    );
    let html = match html.find("</head>") {
        Some(at) => format!("{}{meta}{}", &html[..at], &html[at..]),
        None => format!("{meta}{html}"),
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "frame-ancestors 'none'; connect-src 'self'",
            ),
        ],
        html,
    )
        .into_response()
}

/// The routes: the API, and the UI directory (with `index.html` for unknown paths) if given.
pub fn router(service: Arc<Service>, ui_dir: Option<PathBuf>, secret: LaunchSecret) -> Router {
    let mut router = Router::new()
        .route("/api/{command}", post(command))
        .with_state(service)
        .route_layer(middleware::from_fn_with_state(
            secret.clone(),
            only_the_tills_own_ui,
        ));
    if let Some(dir) = ui_dir {
        let ui = Ui {
            dir: dir.clone(),
            secret,
        };
        let index = get(index).with_state(ui);
        router = router
            .route_service("/", index.clone())
            .route_service("/index.html", index.clone())
            .fallback_service(
                ServeDir::new(dir)
                    .append_index_html_on_directories(false)
                    .fallback(index),
            );
    }
    router.layer(middleware::from_fn(only_loopback_hosts))
}

/// How long requests in flight may take to finish after shutdown was asked. Browsers keep
/// idle connections open: the server does not wait for those.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Serves until `shutdown` completes (then lets requests in flight finish, for a moment).
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
    ui_dir: Option<PathBuf>,
    secret: LaunchSecret,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (asked, mut stopping) = tokio::sync::watch::channel(false);
    let graceful =
        axum::serve(listener, router(service, ui_dir, secret)).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = asked.send(true);
        });
    tokio::select! {
        result = graceful => result,
        _ = async {
            let _ = stopping.wait_for(|stop| *stop).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_host_names_are_answered() {
        let with = |host: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, host.parse().expect("header"));
            loopback_host(&headers)
        };
        assert!(with("127.0.0.1:8080"));
        assert!(with("localhost:3000"));
        assert!(with("[::1]:8080"));
        assert!(
            !with("evil.example:8080"),
            "a rebinding name must be refused"
        );
        assert!(!with("192.168.1.10:8080"));
    }

    #[tokio::test]
    async fn binding_a_non_loopback_address_is_refused() {
        let error = bind_loopback("0.0.0.0:0".parse().expect("addr"))
            .await
            .expect_err("0.0.0.0 must be refused");
        assert!(error.to_string().contains("loopback"), "{error}");
    }
}
