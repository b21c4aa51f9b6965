//! Browser sessions for the head-office web app: the same login, throttle and session tokens
//! as `POST /api/v1/login` (see [`crate::login_throttle`]), but the token travels in a cookie
//! the page's scripts cannot read.
//!
//! | route | what |
//! |---|---|
//! | `POST /api/v1/web/session` | name and password -> the session cookie and the user (never the token) |
//! | `GET /api/v1/web/session` | the user of the session cookie (401 without one) |
//! | `DELETE /api/v1/web/session` | ends the session in the database and clears the cookie |
//!
//! The cookie [`SESSION_COOKIE`] is `HttpOnly` (scripts cannot read it, so an injected script
//! cannot steal it), `SameSite=Strict` (no other site's page sends it), `Path=/`, expires with
//! the session ([`crate::api::SESSION_HOURS`]) and is `Secure` when the server speaks HTTPS.
//! The token in it is a user session in `user_tokens`, like an API login's: it expires, an
//! admin revokes it with the user's other tokens, a password change ends it, and logout ends it
//! in the database, not only in the browser.
//!
//! [`cookie_to_bearer`] runs before every route: a request with the cookie and no
//! `Authorization` header is answered as if it carried `Authorization: Bearer <token>`, so
//! every API route, its role checks and its scoping (see [`crate::scope`]) serve the browser
//! unchanged: the API, not the app, decides what a user may read. Against cross-site use,
//! besides `SameSite=Strict`, a cookie-carrying request is refused (403) when the browser says
//! it comes from another site (`Sec-Fetch-Site`), and a state-changing one (any method but
//! GET and HEAD), the login included, must carry the header [`CSRF_HEADER`]: a page of another
//! site cannot send it without a CORS preflight, which this server never grants.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, extract::FromRequestParts};
use cookie::time::Duration as CookieDuration;
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

use crate::api::{
    AppState, Caller, ClientAddress, Failure, JsonBody, LoginRefused, LoginRequest, SESSION_HOURS,
};
use crate::secrets;
use crate::store::User;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "hq_session";
/// The header every state-changing request of the web app carries (value [`CSRF_VALUE`]).
pub const CSRF_HEADER: &str = "x-pos-hq";
/// The value of [`CSRF_HEADER`].
pub const CSRF_VALUE: &str = "1";

/// The answer to a browser login or to `GET /api/v1/web/session`: who is logged in, and until
/// when. The token stays in the cookie.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct WebSession {
    pub user: User,
    /// When the session ends (RFC 3339 UTC); absent when read back from the cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

fn cross_site() -> Failure {
    Failure::forbidden(
        "this request came from another site's page: open the head-office app from its own address",
    )
}

fn csrf_missing() -> Failure {
    Failure::forbidden(format!(
        "a browser request that changes something must carry the `{CSRF_HEADER}: {CSRF_VALUE}` header the head-office app sends: use the app, or an API token with `Authorization: Bearer`"
    ))
}

/// Whether the browser says the request comes from another site. Browsers that do not send
/// `Sec-Fetch-Site` are covered by `SameSite=Strict` and the [`CSRF_HEADER`] rule.
fn from_another_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| !matches!(site, "same-origin" | "none"))
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn carries_csrf_header(headers: &HeaderMap) -> bool {
    headers
        .get(CSRF_HEADER)
        .is_some_and(|v| v.as_bytes() == CSRF_VALUE.as_bytes())
}

/// The session token of the request's cookie, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE && !c.value().is_empty())
        .map(|c| c.value().to_string())
}

/// Middleware before every route: a request with the session cookie and no `Authorization`
/// header gets `Authorization: Bearer <token>`, after the cross-site checks of the module docs.
pub async fn cookie_to_bearer(mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    if headers.contains_key(AUTHORIZATION) {
        return next.run(request).await;
    }
    let Some(token) = session_token(headers) else {
        return next.run(request).await;
    };
    if from_another_site(headers) {
        return cross_site().into_response();
    }
    if changes_state(request.method()) && !carries_csrf_header(headers) {
        return csrf_missing().into_response();
    }
    match HeaderValue::from_str(&format!("Bearer {token}")) {
        Ok(value) => {
            request.headers_mut().insert(AUTHORIZATION, value);
            next.run(request).await
        }
        // Not a token this server issued (they are hex): as if there were no cookie.
        Err(_) => next.run(request).await,
    }
}

/// The `Set-Cookie` value of a session cookie holding `token` for `max_age`, or of its removal
/// (an empty value that expires at once).
fn session_cookie(token: &str, max_age: CookieDuration, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((SESSION_COOKIE, token.to_string()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(max_age)
        .build();
    HeaderValue::from_str(&cookie.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("hq_session=; Path=/; Max-Age=0"))
}

/// A login that must come from the web app itself: the [`CSRF_HEADER`] and, when the browser
/// tells it, the same site.
pub(crate) struct FromTheApp;

impl<S: Send + Sync> FromRequestParts<S> for FromTheApp {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        if from_another_site(&parts.headers) {
            return Err(cross_site());
        }
        if !carries_csrf_header(&parts.headers) {
            return Err(csrf_missing());
        }
        Ok(FromTheApp)
    }
}

#[utoipa::path(post, path = "/api/v1/web/session", tag = "head office",
    request_body = LoginRequest,
    params(("x-pos-hq" = String, Header, description = "`1`: the web app's own request (refused without it)")),
    responses(
        (status = 200, description = "Logged in: the session is in the `hq_session` cookie (HttpOnly, SameSite=Strict)", body = WebSession),
        (status = 401, description = "Unknown user or wrong password (the same answer for both)", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Without the `x-pos-hq` header, or from another site's page", body = crate::openapi::ApiErrorDoc),
        (status = 429, description = "Too many failed logins for this user name or from this address", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn web_login(
    State(state): State<AppState>,
    _: FromTheApp,
    address: ClientAddress,
    body: JsonBody<LoginRequest>,
) -> Result<Response, LoginRefused> {
    let secure = state.config.web.secure_cookies;
    let Json(session) = crate::api::login(State(state), address, body).await?;
    let max_age = CookieDuration::hours(SESSION_HOURS);
    let mut response = Json(WebSession {
        user: session.user,
        expires_at: Some(session.expires_at),
    })
    .into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, session_cookie(&session.token, max_age, secure));
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/web/session", tag = "head office",
    responses(
        (status = 200, description = "The user of the session cookie", body = WebSession),
        (status = 401, description = "No session, or an expired or ended one: log in", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn current_session(caller: Caller) -> Result<Json<WebSession>, Failure> {
    Ok(Json(WebSession {
        user: caller.user()?,
        expires_at: None,
    }))
}

#[utoipa::path(delete, path = "/api/v1/web/session", tag = "head office",
    params(("x-pos-hq" = String, Header, description = "`1`: the web app's own request")),
    responses(
        (status = 204, description = "The session ended in the database and its cookie is cleared (also when there was none)"),
        (status = 403, description = "Without the `x-pos-hq` header, or from another site's page", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn web_logout(
    State(state): State<AppState>,
    _: FromTheApp,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    if let Some(token) = session_token(&headers) {
        state
            .store
            .end_session(&secrets::token_hash(&token))
            .await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        session_cookie("", CookieDuration::ZERO, state.config.web.secure_cookies),
    );
    Ok(response)
}

/// The session routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/web/session",
        post(web_login).get(current_session).delete(web_logout),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_tls() {
        let plain = session_cookie("abc", CookieDuration::hours(12), false);
        let plain = plain.to_str().unwrap();
        assert!(plain.starts_with("hq_session=abc"), "{plain}");
        assert!(
            plain.contains("HttpOnly"),
            "scripts must not read it: {plain}"
        );
        assert!(plain.contains("SameSite=Strict"), "{plain}");
        assert!(
            plain.contains("Max-Age=43200"),
            "it expires with the session: {plain}"
        );
        assert!(
            !plain.contains("Secure"),
            "plain HTTP cannot keep a Secure cookie: {plain}"
        );
        let tls = session_cookie("abc", CookieDuration::hours(12), true);
        assert!(tls.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn the_session_token_is_read_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; hq_session=tok; b=2"));
        assert_eq!(session_token(&headers).as_deref(), Some("tok"));
        headers.insert(COOKIE, HeaderValue::from_static("hq_session="));
        assert_eq!(session_token(&headers), None);
    }

    #[test]
    fn only_same_origin_or_typed_navigation_counts_as_the_app() {
        let mut headers = HeaderMap::new();
        assert!(!from_another_site(&headers));
        for (site, other) in [
            ("same-origin", false),
            ("none", false),
            ("same-site", true),
            ("cross-site", true),
        ] {
            headers.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert_eq!(from_another_site(&headers), other, "{site}");
        }
    }
}
