//! The head-office web app (`ui/head-office`, built by Vite) served by `sync-server serve`
//! itself, under `/hq/`: one process, nothing else to start.
//!
//! The built folder comes from `serve --web-dir DIR` (or `web_dir` in the config file, or
//! `SYNC_WEB_DIR`); without one, [`default_dir`] takes `ui/head-office/dist` when it exists
//! under the working directory (a checkout after `npm run build`). Without a folder, `/hq/`
//! answers 404 saying how to build it; the API is served either way.
//!
//! Every answer of the app carries a strict Content-Security-Policy ([`CONTENT_SECURITY_POLICY`]:
//! scripts, styles and connections from this origin only, no inline script or style, no
//! framing, no plugin), so an injected script or style has nowhere to run from and no page can
//! frame the app; with `nosniff`, no referrer and no framing. The app talks to the API of
//! the same origin with its session cookie (see [`crate::web_session`]); it routes in the URL
//! fragment (`/hq/#/sales`), so only `/hq/` and its built files are served.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY as CSP, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Redirect, Response};
use axum::routing::get;
use pos_domain::wire::codes;
use tower_http::services::ServeDir;

use crate::api::{AppState, Failure};

/// Where the app is served.
pub const APP_PATH: &str = "/hq/";
/// The built app's folder in a checkout, relative to the working directory.
pub const CHECKOUT_DIR: &str = "ui/head-office/dist";

/// The policy on every answer of the app.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
object-src 'none'";

/// How the web app is served.
#[derive(Clone, Debug, Default)]
pub struct WebSettings {
    /// The built app's folder (holding `index.html`); `None`: not served.
    pub dir: Option<PathBuf>,
    /// Whether the session cookie is `Secure` (the server speaks HTTPS).
    pub secure_cookies: bool,
}

/// The built app of a checkout, if it is built: [`CHECKOUT_DIR`] under the working directory.
pub fn default_dir() -> Option<PathBuf> {
    let dir = Path::new(CHECKOUT_DIR);
    dir.join("index.html").is_file().then(|| dir.to_path_buf())
}

/// Adds the app's security headers to an answer.
async fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CSP, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // index.html names the hashed files of the current build: always ask for it again.
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

async fn not_built() -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
        "the head-office app is not built here: run `npm ci && npm run build` in ui/head-office, or start `serve --web-dir DIR` with its built folder",
    )
}

/// The app's routes: `/` leads to `/hq/`, where the built folder is served (its files name
/// each other from `/hq/`, so `/hq` serves the same page).
pub fn routes(settings: &WebSettings) -> Router<AppState> {
    let app: Router<AppState> = match &settings.dir {
        Some(dir) => Router::new().nest_service("/hq", ServeDir::new(dir)),
        None => Router::new()
            .route("/hq", get(not_built))
            .route("/hq/", get(not_built)),
    };
    Router::new()
        .route("/", get(|| async { Redirect::to(APP_PATH) }))
        .merge(app.layer(axum::middleware::map_response(secured)))
}
