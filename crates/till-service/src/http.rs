//! The loopback HTTP transport: `POST /api/{command}` with the request as JSON body, answered
//! by [`Service::call`] exactly as the Tauri command is, plus the built UI served statically from
//! the same origin. Browser tests and development use it; the shop's till uses the Tauri window.
//!
//! It listens on loopback addresses only (anything else is refused at bind), and answers only
//! requests whose `Host` is a loopback name, so a web page elsewhere cannot reach the till
//! through DNS rebinding.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::ApiError;
use crate::service::Service;

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
        "approval_required" | "manager_only" => StatusCode::FORBIDDEN,
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

/// The routes: the API, and the UI directory (with `index.html` for unknown paths) if given.
pub fn router(service: Arc<Service>, ui_dir: Option<PathBuf>) -> Router {
    let mut router = Router::new()
        .route("/api/{command}", post(command))
        .with_state(service);
    if let Some(dir) = ui_dir {
        let index = dir.join("index.html");
        router = router.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)));
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
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (asked, mut stopping) = tokio::sync::watch::channel(false);
    let graceful =
        axum::serve(listener, router(service, ui_dir)).with_graceful_shutdown(async move {
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
