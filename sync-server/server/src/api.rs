//! The HTTP API. Every error answer is `{code, message}` ([`pos_domain::wire::ApiError`]) with
//! a stable code from [`pos_domain::wire::codes`].
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /openapi.json` | anyone | the OpenAPI document of this API (see [`crate::openapi`]) |
//! | `GET /healthz`, `GET /readyz` | anyone | alive; ready (the database answers and is migrated), see [`crate::ops`] |
//! | `GET /api/v1/capabilities` | anyone | protocol versions and limits |
//! | `POST /api/v1/enroll` | a till with a one-time code | registers its key, returns its token |
//! | `POST /api/v1/login` | a head-office user | name and password -> a session token (12 h); throttled (see [`crate::login_throttle`]) |
//! | `POST /api/v1/logout` | a head-office user | ends the session (or API token) it is called with |
//! | `POST /api/v1/hq/tills/{till_id}/revoke` | admin | the till's token and pending code stop working; its records stay |
//! | `POST /api/v1/hq/users/{user_id}/revoke` | admin | every API token and session of the user ends |
//! | `POST /api/v1/hq/webshops/{webshop_id}/revoke` | admin | the web shop's API key stops working; its orders stay |
//! | `POST /api/v1/tills/{till_id}/records` | that till | uploads record batches per chain |
//! | `GET /api/v1/shops/{shop_id}/tills` | a till of that shop, or a user | the shop's tills |
//! | `GET /api/v1/hq/sales?by=&from=&to=&shop=&region=&compare=` | a user | consolidated sales from the rollups, with the previous period (see [`crate::sales_api`]) |
//! | `GET /api/v1/hq/tickets?shop=&day=` | a user | a shop's tickets of a day, paged (see [`crate::tickets_api`]) |
//! | `GET /api/v1/hq/tickets/{till_id}/{number}` | a user | one ticket as the till recorded it, its signature checked again |
//! | `GET /api/v1/hq/live` | a user | server-sent events when a till of their scope uploads (see [`crate::live`]) |
//! | `POST`, `GET`, `DELETE /api/v1/web/session` | a head-office user's browser | login, who, logout with a session cookie (see [`crate::web_session`]) |
//! | `GET /hq/` | anyone | the head-office web app (see [`crate::web_app`]) |
//! | `GET /api/v1/hq/fleet?after=&limit=`, `GET /api/v1/hq/alarms?after=&limit=` | a user | till status, alarms, a page at a time |
//! | `GET /api/v1/feed?after=&consumer=&limit=` | admin, accountant | the outbox as a pull feed |
//! | `PUT /api/v1/feed/consumers/{name}` | admin, accountant | a consumer acknowledges its cursor (at most the feed's last) |
//! | `GET /api/v1/feed/consumers` | admin, accountant | consumers and their lag |
//! | `GET /api/v1/hq/exports/fec?entity=&year=` | admin, accountant | the entity's FEC for the fiscal year starting in `year` |
//! | `GET /api/v1/hq/webhooks` | admin | registered webhooks and their queues |
//! | `POST /api/v1/hq/webhooks` | admin | registers one; its secret, made by the server, shown once |
//! | `DELETE /api/v1/hq/webhooks/{webhook_id}` | admin | removes one with its queue |
//! | `POST /api/v1/hq/webhooks/{webhook_id}/secret` | admin | a new secret, shown once |
//! | `GET /api/v1/hq/webhooks/dead-letters?after=&after_webhook=&limit=` | admin | events parked after their last delivery attempt, a page at a time |
//! | `POST /api/v1/hq/webhooks/dead-letters/retry` | admin | queues dead letters again |
//!
//! Administration (admins only) is under `/api/v1/admin/`, see [`crate::admin::http`].
//! The changes feed and web orders are in [`crate::orders_api`]; credit notes' and gift
//! cards' balances, holds and history in [`crate::stored_value_api`]; ticket lookups and return
//! reservations for returns at any till in [`crate::returns_api`]; a product's stock at the
//! till's shop and nearby, for the till, in [`crate::till_stock_api`].
//!
//! Tills and head-office users authenticate with `Authorization: Bearer TOKEN` (the web app's
//! session cookie stands for it, see [`crate::web_session`]); a missing,
//! unknown, expired or revoked token is 401, a valid one on data it has no right to is 403.
//! A new enrollment code revokes the till's token; a password change ends the user's
//! sessions (and their API tokens when it replaces a password). A shop manager sees only
//! their shop, a regional manager the shops of their region (see [`crate::scope`]).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State,
};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use pos_domain::record::PublicKey;
use pos_domain::wire::{
    ApiError, Capabilities, EnrollRequest, EnrollResponse, ProtocolVersion, UploadRequest, codes,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::login_throttle::{self, LoginThrottle, Refusal};
use crate::ops::Metrics;
use crate::scope::scope;
use crate::secrets;
use crate::store::{Enrollment, Page, Role, Store, StoreError, TillAuth, User, check_batches};

/// Protocol majors this server accepts.
pub const SUPPORTED_MAJORS: [u32; 1] = [1];

/// Limits and settings of the API.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub max_body_bytes: usize,
    pub max_records_per_upload: usize,
    /// The login throttle, with its limits and its counts, shared by every clone.
    pub login: Arc<LoginThrottle>,
    /// The operations metrics, shared by every clone (see [`crate::ops`]).
    pub metrics: Arc<Metrics>,
    /// The head-office web app's folder and cookie settings (see [`crate::web_app`]).
    pub web: crate::web_app::WebSettings,
    /// The open live streams told of each upload (see [`crate::live`]).
    pub live: Arc<crate::live::LiveUpdates>,
    /// Tills' instrument lookups and holds, counted per till (see [`crate::till_throttle`]).
    pub till_lookups: Arc<crate::till_throttle::TillLookups>,
    /// The server key new webhook secrets are sealed with, the one the webhook worker opens
    /// them with (see [`crate::server_key`]); the default has none, so registering a webhook
    /// through the API fails until `serve` sets it.
    pub keys: Arc<crate::server_key::ServerKeys>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 16 * 1024 * 1024,
            max_records_per_upload: 5000,
            login: Arc::default(),
            metrics: Arc::default(),
            web: crate::web_app::WebSettings::default(),
            live: Arc::default(),
            till_lookups: Arc::default(),
            keys: Arc::default(),
        }
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: ServerConfig,
}

/// An error answer: HTTP status, stable code, message saying what to do.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            code,
            message: message.into(),
        }
    }

    fn unauthenticated(message: &str) -> Failure {
        Failure::new(StatusCode::UNAUTHORIZED, codes::UNAUTHENTICATED, message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::FORBIDDEN, codes::FORBIDDEN, message)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = ApiError {
            code: self.code.to_string(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        match e {
            StoreError::EnrollmentCodeInvalid => Failure::new(
                StatusCode::UNAUTHORIZED,
                codes::ENROLLMENT_CODE_INVALID,
                e.to_string(),
            ),
            StoreError::PublicKeyMismatch => Failure::new(
                StatusCode::CONFLICT,
                codes::PUBLIC_KEY_MISMATCH,
                e.to_string(),
            ),
            StoreError::NotFound(m) => Failure::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, m),
            StoreError::IdempotencyConflict => Failure::new(
                StatusCode::CONFLICT,
                codes::IDEMPOTENCY_CONFLICT,
                e.to_string(),
            ),
            StoreError::OrderState(m) => Failure::new(StatusCode::CONFLICT, codes::ORDER_STATE, m),
            StoreError::StockUnavailable(m) => {
                Failure::new(StatusCode::CONFLICT, codes::STOCK_UNAVAILABLE, m)
            }
            StoreError::Conflict(_) | StoreError::Database(_) | StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "storage failed");
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    codes::INTERNAL,
                    "the server could not complete the request; nothing was half-stored: retry later",
                )
            }
        }
    }
}

/// A JSON body whose rejections are `{code, message}` answers.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Every body is a JSON object; serde would also take a struct written as an array of
        // its field values, which no client means and the OpenAPI document does not allow.
        let Json(raw) = Json::<Box<serde_json::value::RawValue>>::from_request(req, state)
            .await
            .map_err(json_failure)?;
        if !raw.get().trim_start().starts_with('{') {
            return Err(Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::JSON_INVALID,
                "the body must be a JSON object, with the fields the API documents",
            ));
        }
        match Json::<T>::from_bytes(raw.get().as_bytes()) {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_failure(rejection)),
        }
    }
}

fn json_failure(rejection: JsonRejection) -> Failure {
    let status = rejection.status();
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::JSON_INVALID,
            format!("the JSON does not have the expected fields and types: {detail}"),
        ),
        JsonRejection::JsonSyntaxError(_) => Failure::new(
            StatusCode::BAD_REQUEST,
            codes::JSON_MALFORMED,
            format!("the body is not valid JSON: {detail}"),
        ),
        JsonRejection::MissingJsonContentType(_) => Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::CONTENT_TYPE,
            "send the body with `Content-Type: application/json`",
        ),
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => Failure::new(
            status,
            codes::BODY_TOO_LARGE,
            "the body is larger than the server accepts: send fewer records per upload (see GET /api/v1/capabilities)",
        ),
        _ => Failure::new(status, codes::JSON_MALFORMED, detail),
    }
}

/// Query parameters whose rejections are `{code, message}` answers.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| QueryParams(q))
            .map_err(|e: QueryRejection| {
                Failure::new(StatusCode::BAD_REQUEST, codes::QUERY_INVALID, e.body_text())
            })
    }
}

/// Path parameters whose rejections are `{code, message}` answers: a path whose segment is not
/// of its type (a ticket number `-1`) names nothing, so it is 404 like an unknown id.
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| PathParams(p))
            .map_err(|e| {
                Failure::new(
                    StatusCode::NOT_FOUND,
                    codes::NOT_FOUND,
                    format!("nothing is at this path: {}", e.body_text()),
                )
            })
    }
}

fn bearer(parts: &Parts) -> Result<String, Failure> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            Failure::unauthenticated("send `Authorization: Bearer TOKEN` with the token received at enrollment or from head office")
        })?;
    let text = header
        .to_str()
        .map_err(|_| Failure::unauthenticated("the Authorization header is not text"))?;
    let token = text
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Failure::unauthenticated("the Authorization header must be `Bearer TOKEN`")
        })?;
    Ok(token.to_string())
}

/// Who is calling: an enrolled till, or a head-office user.
pub enum Caller {
    Till(TillAuth),
    User(User),
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Failure;

    fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        let token = bearer(parts);
        let store = state.store.clone();
        async move {
            let hash = secrets::token_hash(&token?);
            if let Some(till) = store.till_by_token(&hash, Utc::now()).await? {
                return Ok(Caller::Till(till));
            }
            if let Some(user) = store.user_by_token(&hash, Utc::now()).await? {
                return Ok(Caller::User(user));
            }
            Err(Failure::unauthenticated(
                "the token is unknown, expired or revoked: log in again, or enroll the till again, or ask head office for a new token",
            ))
        }
    }
}

impl Caller {
    pub(crate) fn till(self) -> Result<TillAuth, Failure> {
        match self {
            Caller::Till(till) => Ok(till),
            Caller::User(_) => Err(Failure::forbidden("only a till can do this")),
        }
    }

    pub(crate) fn user(self) -> Result<User, Failure> {
        match self {
            Caller::User(user) => Ok(user),
            Caller::Till(_) => Err(Failure::forbidden(
                "tills have no access to head-office data",
            )),
        }
    }
}

pub(crate) fn check_protocol(version: ProtocolVersion) -> Result<(), Failure> {
    if SUPPORTED_MAJORS.contains(&version.major) {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::BAD_REQUEST,
            codes::PROTOCOL_UNSUPPORTED,
            format!(
                "protocol {version} is not supported: this server speaks major versions {SUPPORTED_MAJORS:?} (newest {}); update the till software",
                ProtocolVersion::CURRENT
            ),
        ))
    }
}

fn capabilities(config: &ServerConfig) -> Capabilities {
    Capabilities {
        protocol: ProtocolVersion::CURRENT,
        supported_majors: SUPPORTED_MAJORS.to_vec(),
        max_records_per_upload: config.max_records_per_upload as u32,
        max_body_bytes: config.max_body_bytes as u64,
        features: vec![
            "upload".into(),
            "changes".into(),
            "web_orders".into(),
            "stored_value".into(),
            "returns_anywhere".into(),
        ],
    }
}

#[utoipa::path(get, path = "/api/v1/capabilities", tag = "tills",
    responses((status = 200, description = "Protocol versions and limits", body = crate::openapi::CapabilitiesDoc)))]
pub(crate) async fn get_capabilities(State(state): State<AppState>) -> Json<Capabilities> {
    Json(capabilities(&state.config))
}

#[utoipa::path(post, path = "/api/v1/enroll", tag = "tills",
    request_body = crate::openapi::EnrollRequestDoc,
    responses(
        (status = 200, description = "Enrolled: the till's id, shop and token", body = crate::openapi::EnrollResponseDoc),
        (status = 401, description = "Unknown, used or expired code", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "Enrolled before with another key", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "Invalid public key", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn enroll(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<EnrollRequest>,
) -> Result<Json<EnrollResponse>, Failure> {
    check_protocol(request.protocol)?;
    let public_key: PublicKey = request.public_key.parse().map_err(|e: String| {
        Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::PUBLIC_KEY_INVALID,
            format!("{e}: send the till's P-256 public key as hex SEC1"),
        )
    })?;
    let token = secrets::new_token().map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            format!("no randomness available: {e}"),
        )
    })?;
    let enrollment = Enrollment {
        code_hash: secrets::code_hash(&request.code),
        public_key,
        software: request.software,
        protocol: request.protocol.to_string(),
        token_hash: secrets::token_hash(&token),
    };
    let enrolled = state.store.enroll(&enrollment, Utc::now()).await?;
    Ok(Json(EnrollResponse {
        till_id: enrolled.till_id,
        shop_id: enrolled.shop_id,
        token,
        capabilities: capabilities(&state.config),
    }))
}

#[utoipa::path(post, path = "/api/v1/tills/{till_id}/records", tag = "tills",
    params(("till_id" = String, Path, description = "The uploading till (its token's)")),
    request_body = crate::openapi::UploadRequestDoc,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One acknowledgement per chain", body = crate::openapi::UploadResponseDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Another till's records", body = crate::openapi::ApiErrorDoc),
        (status = 413, description = "Too many records or too large a body", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "Malformed upload", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
    JsonBody(request): JsonBody<UploadRequest>,
) -> Result<Response, Failure> {
    let till = caller.till()?;
    if till.till_id != till_id {
        return Err(Failure::forbidden(format!(
            "this token belongs to till `{}`: it cannot upload for `{till_id}`",
            till.till_id
        )));
    }
    check_protocol(request.protocol)?;
    check_batches(&request.chains)
        .map_err(|m| Failure::new(StatusCode::UNPROCESSABLE_ENTITY, codes::BATCH_INVALID, m))?;
    let count: usize = request.chains.iter().map(|c| c.records.len()).sum();
    if count > state.config.max_records_per_upload {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::BATCH_TOO_LARGE,
            format!(
                "{count} records in one upload; send at most {} (see GET /api/v1/capabilities)",
                state.config.max_records_per_upload
            ),
        ));
    }
    let till_clock = match &request.sent_at {
        None => None,
        Some(text) => Some(
            chrono::DateTime::parse_from_rfc3339(text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|e| {
                    Failure::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        codes::JSON_INVALID,
                        format!("`sent_at` `{text}` is not an RFC 3339 time: {e}"),
                    )
                })?,
        ),
    };
    // Ingest on its own task: if the till hangs up (a timeout, a dropped link), the upload
    // still commits or rolls back as a whole instead of being cancelled at an await point;
    // the till's retry is then a no-op.
    let store = state.store.clone();
    let shop_id = till.shop_id.clone();
    let answer = tokio::spawn(async move {
        store
            .ingest(&till, request.chains, Utc::now(), till_clock)
            .await
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "ingest task failed");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            "the server could not complete the upload; nothing was half-stored: retry",
        )
    })??;
    state.config.metrics.count_ingested(&answer);
    state.config.live.uploaded(&shop_id, &answer);
    Ok(Json(answer).into_response())
}

#[utoipa::path(get, path = "/api/v1/shops/{shop_id}/tills", tag = "tills",
    params(("shop_id" = String, Path, description = "The shop")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The shop's tills", body = Vec<crate::openapi::ShopTillDoc>),
        (status = 403, description = "Another shop", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn shop_tills(
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
    caller: Caller,
) -> Result<Response, Failure> {
    match &caller {
        Caller::Till(till) if till.shop_id != shop_id => {
            return Err(Failure::forbidden(format!(
                "this till belongs to shop `{}`: it cannot read shop `{shop_id}`",
                till.shop_id
            )));
        }
        Caller::User(user) => {
            scope(state.store.as_ref(), user, Some(shop_id.clone()), None).await?;
        }
        Caller::Till(_) => {}
    }
    let tills: Vec<_> = state
        .store
        .tills()
        .await?
        .into_iter()
        .filter(|t| t.shop_id == shop_id)
        .map(|t| serde_json::json!({"id": t.id, "name": t.name, "enrolled": t.enrolled}))
        .collect();
    Ok(Json(tills).into_response())
}

/// `GET /api/v1/hq/fleet` parameters: the shops asked, and a page of their tills by id.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FleetQuery {
    /// Only this shop (a shop manager always sees only theirs).
    shop: Option<String>,
    /// Only the shops of this region (`(none)`: the shops without a region; a regional
    /// manager always sees only their region's).
    region: Option<String>,
    /// The tills after this till id (the `till_id` of the previous page's last till).
    after: Option<String>,
    /// Tills per page: 1 to 5000, default 500.
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/hq/fleet", tag = "head office",
    params(FleetQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Status of each till of the shops asked and in the user's scope, by till id, with the past days it sold on and head office holds no Z of, one page (shorter than `limit`: the last)", body = Vec<crate::store::TillStatus>),
        (status = 400, description = "`limit` is not a number", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A shop or region outside the user's scope, or a regional manager bound to no region", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_fleet(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<FleetQuery>,
) -> Result<Response, Failure> {
    let user = caller.user()?;
    let scoped = scope(state.store.as_ref(), &user, query.shop, query.region).await?;
    let page = Page::new(query.after, query.limit);
    Ok(Json(state.store.fleet(&scoped.selection, &page).await?).into_response())
}

/// `GET /api/v1/hq/alarms` parameters: the shops asked, and a page of their alarms.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlarmQuery {
    /// Only this shop (a shop manager always sees only theirs).
    shop: Option<String>,
    /// Only the shops of this region (`(none)`: the shops without a region; a regional
    /// manager always sees only their region's).
    region: Option<String>,
    /// The alarms after this alarm id (the `id` of the previous page's last alarm).
    after: Option<i64>,
    /// Alarms per page: 1 to 5000, default 500.
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/hq/alarms", tag = "head office",
    params(AlarmQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Alarms of the shops asked and in the user's scope, oldest first, one page (shorter than `limit`: the last)", body = Vec<crate::store::Alarm>),
        (status = 400, description = "`after` or `limit` is not a number", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A shop or region outside the user's scope, or a regional manager bound to no region", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_alarms(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<AlarmQuery>,
) -> Result<Response, Failure> {
    let user = caller.user()?;
    let scoped = scope(state.store.as_ref(), &user, query.shop, query.region).await?;
    let page = Page::new(query.after, query.limit);
    Ok(Json(state.store.alarms(&scoped.selection, &page).await?).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FeedQuery {
    /// Events after this cursor; defaults to the consumer's acknowledged cursor, or 0.
    after: Option<i64>,
    /// A named consumer whose acknowledged cursor is the default `after`.
    consumer: Option<String>,
    limit: Option<u32>,
}

/// The answer of `GET /api/v1/feed`: events after the cursor, and the cursor to ask next.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct FeedAnswer {
    /// CloudEvents 1.0 (structured JSON), oldest first.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    /// Pass as `after` on the next call, or acknowledge it for a named consumer (unchanged
    /// when there is nothing new).
    pub next: i64,
}

/// The body of `PUT /api/v1/feed/consumers/{name}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct Acknowledge {
    /// The cursor of the last event the consumer has durably processed.
    pub cursor: i64,
}

fn feed_reader(caller: Caller) -> Result<User, Failure> {
    let user = caller.user()?;
    if !matches!(user.role, Role::Admin | Role::Accountant) {
        return Err(Failure::forbidden(
            "the feed carries every shop's data: only admins and accountants read it",
        ));
    }
    Ok(user)
}

fn consumer_name(name: &str) -> Result<(), Failure> {
    if crate::store::is_plain_id(name) {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::BAD_REQUEST,
            codes::QUERY_INVALID,
            format!("consumer name `{name}`: use 1 to 64 letters, digits, `-`, `_` or `.`"),
        ))
    }
}

#[utoipa::path(get, path = "/api/v1/feed", tag = "feeds",
    params(FeedQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Outbox events (CloudEvents 1.0) after the cursor", body = FeedAnswer),
        (status = 403, description = "Neither admin nor accountant", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn feed(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<FeedQuery>,
) -> Result<Json<FeedAnswer>, Failure> {
    feed_reader(caller)?;
    let after = match (query.after, &query.consumer) {
        (Some(after), _) => after,
        (None, Some(name)) => {
            consumer_name(name)?;
            state.store.consumer_cursor(name).await?.unwrap_or(0)
        }
        (None, None) => 0,
    };
    let limit = query.limit.unwrap_or(500).clamp(1, 5000);
    let events = state.store.feed(after, limit).await?;
    let next = events.last().map(|e| e.cursor).unwrap_or(after);
    Ok(Json(FeedAnswer {
        events: events.into_iter().map(|e| e.event).collect(),
        next,
    }))
}

/// `GET /api/v1/hq/exports/fec` parameters.
#[derive(Deserialize, Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FecQuery {
    /// The legal entity's id.
    pub entity: String,
    /// The year the fiscal year starts in.
    pub year: i32,
}

/// The FEC of a legal entity's fiscal year, as an attachment (admins and accountants).
#[utoipa::path(get, path = "/api/v1/hq/exports/fec", tag = "head office",
    params(FecQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The FEC file (ISO-8859-15 text) as an attachment", body = String, content_type = "text/plain; charset=iso-8859-15"),
        (status = 404, description = "Unknown entity", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn export_fec(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<FecQuery>,
) -> Result<Response, Failure> {
    let user = caller.user()?;
    if !matches!(user.role, Role::Admin | Role::Accountant) {
        return Err(Failure::forbidden(
            "accounting exports cover every shop of an entity: only admins and accountants read them",
        ));
    }
    let (name, bytes) =
        crate::accounting_export::fec_export(state.store.as_ref(), &query.entity, query.year)
            .await
            .map_err(|e| match e {
                crate::accounting_export::ExportError::UnknownEntity(_) => {
                    Failure::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, e.to_string())
                }
                crate::accounting_export::ExportError::BadRequest(m) => {
                    Failure::new(StatusCode::BAD_REQUEST, codes::QUERY_INVALID, m)
                }
                crate::accounting_export::ExportError::Store(e) => Failure::from(e),
                crate::accounting_export::ExportError::Render(e) => Failure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    codes::JSON_INVALID,
                    e.to_string(),
                ),
            })?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=iso-8859-15".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(put, path = "/api/v1/feed/consumers/{name}", tag = "feeds",
    params(("name" = String, Path, description = "The consumer: 1 to 64 letters, digits, `-`, `_` or `.`")),
    request_body = Acknowledge,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Cursor recorded"),
        (status = 400, description = "A malformed consumer name, or a body that is not JSON", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Neither admin nor accountant", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "A negative cursor, or one past the feed's last event (`invalid`)", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    Path(name): Path<String>,
    caller: Caller,
    JsonBody(ack): JsonBody<Acknowledge>,
) -> Result<StatusCode, Failure> {
    feed_reader(caller)?;
    consumer_name(&name)?;
    if ack.cursor < 0 {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::JSON_INVALID,
            "a cursor is 0 or more",
        ));
    }
    // A cursor past the end would make the consumer (the NATS publisher among them) skip
    // every event written until the outbox reaches it.
    let end = state.store.feed_end().await?;
    if ack.cursor > end {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::INVALID,
            format!(
                "cursor {} is past the feed's last event ({end}): acknowledge a `next` the feed gave you",
                ack.cursor
            ),
        ));
    }
    state
        .store
        .set_consumer_cursor(&name, ack.cursor, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/feed/consumers", tag = "feeds",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Feed consumers and their lag", body = Vec<crate::store::Consumer>),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Neither admin nor accountant: only the roles that run feeds see them", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn consumers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, Failure> {
    feed_reader(caller)?;
    Ok(Json(state.store.consumers().await?).into_response())
}

/// `POST /api/v1/login`: a head-office user's name and password.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
}

/// The answer to a login: a session token for `Authorization: Bearer`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: String,
    pub user: User,
}

/// How long a login session lasts.
pub const SESSION_HOURS: i64 = 12;

#[utoipa::path(post, path = "/api/v1/login", tag = "head office",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A session token", body = LoginResponse),
        (status = 401, description = "Unknown user or wrong password (the same answer for both)", body = crate::openapi::ApiErrorDoc),
        (status = 429, description = "Too many failed logins for this user name or from this address: even the right password is refused until `Retry-After` seconds have passed", body = crate::openapi::ApiErrorDoc,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Too many logins being checked at once", body = crate::openapi::ApiErrorDoc,
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, LoginRefused> {
    let throttle = &state.config.login;
    throttle.admit(&request.user, address)?;
    let found = state.store.password_of(&request.user).await?;
    // Verify even for an unknown user, so timing does not tell which users exist.
    let (user, stored) = match found {
        Some((user, Some(hash))) => (Some(user), hash),
        _ => (None, DUMMY_HASH.clone()),
    };
    let matches = throttle
        .verify(&request.user, address, request.password, stored)
        .await?;
    let Some(user) = user.filter(|_| matches) else {
        return Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            codes::LOGIN_FAILED,
            "unknown user or wrong password: check both, or ask an admin to set your password",
        )
        .into());
    };
    let token = secrets::new_token().map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            e.to_string(),
        )
    })?;
    let expires = Utc::now() + chrono::Duration::hours(SESSION_HOURS);
    state
        .store
        .create_session(&secrets::token_hash(&token), &user.id, expires)
        .await?;
    Ok(Json(LoginResponse {
        token,
        expires_at: pos_domain::record::timestamp::format(&expires),
        user,
    }))
}

/// Why a login got no session: a `{code, message}` failure, or the throttle (429 when
/// locked, 503 when busy, with `Retry-After`).
pub(crate) enum LoginRefused {
    Failure(Failure),
    Throttled(Refusal),
}

impl From<Failure> for LoginRefused {
    fn from(failure: Failure) -> Self {
        LoginRefused::Failure(failure)
    }
}

impl From<StoreError> for LoginRefused {
    fn from(e: StoreError) -> Self {
        LoginRefused::Failure(e.into())
    }
}

impl From<Refusal> for LoginRefused {
    fn from(refusal: Refusal) -> Self {
        LoginRefused::Throttled(refusal)
    }
}

impl IntoResponse for LoginRefused {
    fn into_response(self) -> Response {
        let refusal = match self {
            LoginRefused::Failure(failure) => return failure.into_response(),
            LoginRefused::Throttled(refusal) => refusal,
        };
        let (status, code, wait) = match refusal {
            Refusal::Locked(wait) => (StatusCode::TOO_MANY_REQUESTS, codes::LOGIN_THROTTLED, wait),
            Refusal::Busy(wait) => (StatusCode::SERVICE_UNAVAILABLE, codes::BUSY, wait),
        };
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let message = match refusal {
            Refusal::Locked(_) => format!(
                "too many failed logins for this user or from this address: try again in {seconds} s (ask an admin if you forgot your password)"
            ),
            Refusal::Busy(_) => {
                format!("the server is checking too many logins at once: try again in {seconds} s")
            }
        };
        let mut response = Failure::new(status, code, message).into_response();
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(seconds),
        );
        response
    }
}

/// The client's address as the throttle counts it ([`login_throttle::counted_address`] of
/// the connection's peer, see [`serve`]). `None` when the server runs without connection info
/// (a router driven directly in tests).
pub(crate) struct ClientAddress(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| login_throttle::counted_address(peer.ip()));
        Ok(ClientAddress(peer))
    }
}

/// The bearer token of the request, as sent.
pub(crate) struct BearerToken(String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        bearer(parts).map(BearerToken)
    }
}

#[utoipa::path(post, path = "/api/v1/logout", tag = "head office",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session (or API token) the request was made with no longer works"),
        (status = 401, description = "No valid token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A till's token (tills do not log out)", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    BearerToken(token): BearerToken,
) -> Result<StatusCode, Failure> {
    caller.user()?;
    state
        .store
        .end_session(&secrets::token_hash(&token))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn credentials_admin(caller: Caller) -> Result<User, Failure> {
    let user = caller.user()?;
    if user.role != Role::Admin {
        return Err(Failure::forbidden(
            "only admins revoke tills', users' and web shops' credentials",
        ));
    }
    Ok(user)
}

#[utoipa::path(post, path = "/api/v1/hq/tills/{till_id}/revoke", tag = "head office",
    params(("till_id" = String, Path, description = "The till")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The till's token and any pending enrollment code no longer work; its records stay. `sync-server admin till code` lets it enroll again with its key."),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "Unknown till", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn revoke_till(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
) -> Result<StatusCode, Failure> {
    let admin = credentials_admin(caller)?;
    state.store.revoke_till(&till_id, Utc::now()).await?;
    tracing::warn!(till = %till_id, by = %admin.id, "till revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/hq/users/{user_id}/revoke", tag = "head office",
    params(("user_id" = String, Path, description = "The head-office user")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every API token and session of the user ended (their password stays: change it with `sync-server admin user password`)"),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "Unknown user", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn revoke_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    caller: Caller,
) -> Result<StatusCode, Failure> {
    let admin = credentials_admin(caller)?;
    let ended = state.store.revoke_user(&user_id).await?;
    tracing::warn!(user = %user_id, by = %admin.id, ended, "user's tokens and sessions revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/hq/webshops/{webshop_id}/revoke", tag = "web orders",
    params(("webshop_id" = String, Path, description = "The web shop")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The web shop's API key no longer works; its orders stay. `sync-server admin webshop key` gives it a new one."),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "Unknown web shop", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn revoke_webshop(
    State(state): State<AppState>,
    Path(webshop_id): Path<String>,
    caller: Caller,
) -> Result<StatusCode, Failure> {
    let admin = credentials_admin(caller)?;
    state.store.revoke_webshop(&webshop_id, Utc::now()).await?;
    tracing::warn!(webshop = %webshop_id, by = %admin.id, "web shop key revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// An Argon2id hash of a random password, verified against when the user is unknown or has
/// no password, so that answer takes as long as a wrong password.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let random = secrets::new_token().unwrap_or_default();
    secrets::hash_password(&random).unwrap_or_default()
});

fn admin_only(caller: Caller) -> Result<User, Failure> {
    let user = caller.user()?;
    if user.role != Role::Admin {
        return Err(Failure::forbidden(
            "webhooks carry every shop's data and their secrets: only admins manage them",
        ));
    }
    Ok(user)
}

#[utoipa::path(get, path = "/api/v1/hq/webhooks", tag = "feeds",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Registered webhooks and their queues", body = Vec<crate::store::WebhookStatus>),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, Failure> {
    admin_only(caller)?;
    Ok(Json(state.store.webhooks().await?).into_response())
}

/// The server key to seal a new webhook secret with (created on first use, as the command
/// line does).
fn sealing_key(state: &AppState) -> Result<Arc<crate::server_key::ServerKey>, Failure> {
    state.config.keys.get_or_create().map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            format!("{e}: the server cannot seal webhook secrets until its key is readable"),
        )
    })
}

#[utoipa::path(post, path = "/api/v1/hq/webhooks", tag = "feeds",
    request_body = crate::admin::webhooks::WebhookRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Registered, with its signing secret made by the server (shown this once; kept sealed)", body = crate::admin::webhooks::WebhookSecret),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 409, description = "The id is taken", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "The URL is not https:// (or http:// to this machine), or the id is not 1 to 64 letters, digits, `-`, `_` or `.`", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_add_webhook(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<crate::admin::webhooks::WebhookRequest>,
) -> Result<Json<crate::admin::webhooks::WebhookSecret>, Failure> {
    let user = admin_only(caller)?;
    let key = sealing_key(&state)?;
    let admin = crate::admin::Admin::new(state.store.as_ref(), user.id);
    Ok(Json(admin.add_webhook(&key, request, None).await?))
}

#[utoipa::path(delete, path = "/api/v1/hq/webhooks/{webhook_id}", tag = "feeds",
    params(("webhook_id" = String, Path, description = "The webhook")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed with its queue and dead letters (the events stay in the outbox)"),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such webhook", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_remove_webhook(
    State(state): State<AppState>,
    Path(webhook_id): Path<String>,
    caller: Caller,
) -> Result<StatusCode, Failure> {
    let user = admin_only(caller)?;
    crate::admin::Admin::new(state.store.as_ref(), user.id)
        .remove_webhook(&webhook_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/hq/webhooks/{webhook_id}/secret", tag = "feeds",
    params(("webhook_id" = String, Path, description = "The webhook")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new signing secret made by the server (shown this once); deliveries from now on are signed with it", body = crate::admin::webhooks::WebhookSecret),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such webhook", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_rotate_webhook_secret(
    State(state): State<AppState>,
    Path(webhook_id): Path<String>,
    caller: Caller,
) -> Result<Json<crate::admin::webhooks::WebhookSecret>, Failure> {
    let user = admin_only(caller)?;
    let key = sealing_key(&state)?;
    let admin = crate::admin::Admin::new(state.store.as_ref(), user.id);
    Ok(Json(admin.rotate_webhook_secret(&key, &webhook_id).await?))
}

/// `GET /api/v1/hq/webhooks/dead-letters` parameters: a page of dead letters, ordered by
/// event cursor then webhook id.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeadLetterQuery {
    /// The dead letters after this event cursor (the `cursor` of the previous page's last).
    after: Option<i64>,
    /// With `after`: the `webhook_id` of the previous page's last dead letter.
    after_webhook: Option<String>,
    /// Dead letters per page: 1 to 5000, default 500.
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/hq/webhooks/dead-letters", tag = "feeds",
    params(DeadLetterQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Events parked after their last delivery attempt, by event cursor and webhook, one page (shorter than `limit`: the last)", body = Vec<crate::store::DeadLetter>),
        (status = 400, description = "`after` or `limit` is not a number", body = crate::openapi::ApiErrorDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_dead_letters(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<DeadLetterQuery>,
) -> Result<Response, Failure> {
    admin_only(caller)?;
    let after = query
        .after
        .map(|cursor| (cursor, query.after_webhook.unwrap_or_default()));
    let page = Page::new(after, query.limit);
    Ok(Json(state.store.dead_letters(&page).await?).into_response())
}

/// The body of `POST /api/v1/hq/webhooks/dead-letters/retry`: which dead letters to queue
/// again (all if both are left out).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default, utoipa::ToSchema)]
pub struct RetryDeadLetters {
    /// Only this webhook's.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Only this event (its outbox cursor, as listed).
    #[serde(default)]
    pub cursor: Option<i64>,
}

/// The answer to a retry: how many dead letters were queued again.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct Retried {
    pub retried: u64,
}

#[utoipa::path(post, path = "/api/v1/hq/webhooks/dead-letters/retry", tag = "feeds",
    request_body = RetryDeadLetters,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many dead letters were queued again", body = Retried),
        (status = 403, description = "Not an admin", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_retry_dead_letters(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<RetryDeadLetters>,
) -> Result<Json<Retried>, Failure> {
    admin_only(caller)?;
    let retried = state
        .store
        .retry_dead_letters(request.webhook.as_deref(), request.cursor, Utc::now())
        .await?;
    Ok(Json(Retried { retried }))
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This document", body = Object)))]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

async fn not_found() -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
        "no such endpoint: see the route list in the server documentation",
    )
}

/// The router with every route, each request counted in the metrics (see [`crate::ops`]).
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let metrics = state.config.metrics.clone();
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .merge(crate::ops::probe_routes())
        .route("/api/v1/capabilities", get(get_capabilities))
        .route("/api/v1/enroll", post(enroll))
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/hq/tills/{till_id}/revoke", post(revoke_till))
        .route("/api/v1/hq/users/{user_id}/revoke", post(revoke_user))
        .route(
            "/api/v1/hq/webshops/{webshop_id}/revoke",
            post(revoke_webshop),
        )
        .route("/api/v1/tills/{till_id}/records", post(upload))
        .route("/api/v1/shops/{shop_id}/tills", get(shop_tills))
        .route("/api/v1/hq/sales", get(crate::sales_api::hq_sales))
        .route("/api/v1/hq/tickets", get(crate::tickets_api::day_tickets))
        .route(
            "/api/v1/hq/tickets/{till_id}/{number}",
            get(crate::tickets_api::ticket),
        )
        .route("/api/v1/hq/fleet", get(hq_fleet))
        .route("/api/v1/hq/alarms", get(hq_alarms))
        .route("/api/v1/hq/exports/fec", get(export_fec))
        .route("/api/v1/hq/webhooks", get(hq_webhooks).post(hq_add_webhook))
        .route(
            "/api/v1/hq/webhooks/{webhook_id}",
            axum::routing::delete(hq_remove_webhook),
        )
        .route(
            "/api/v1/hq/webhooks/{webhook_id}/secret",
            post(hq_rotate_webhook_secret),
        )
        .route("/api/v1/hq/webhooks/dead-letters", get(hq_dead_letters))
        .route(
            "/api/v1/hq/webhooks/dead-letters/retry",
            post(hq_retry_dead_letters),
        )
        .route("/api/v1/feed", get(feed))
        .route("/api/v1/feed/consumers", get(consumers))
        .route(
            "/api/v1/feed/consumers/{name}",
            axum::routing::put(acknowledge),
        )
        .merge(crate::orders_api::routes())
        .merge(crate::customers_api::routes())
        .merge(crate::live::routes())
        .merge(crate::web_session::routes())
        .merge(crate::web_app::routes(&state.config.web))
        .merge(crate::archives_api::routes())
        .merge(crate::stored_value_api::routes())
        .merge(crate::returns_api::routes())
        .merge(crate::commissions_api::routes())
        .merge(crate::exports_api::routes())
        .merge(crate::admin::http::routes())
        .merge(crate::stock_api::routes())
        .merge(crate::till_stock_api::routes())
        .merge(crate::logistics_api::routes())
        .merge(crate::admin::replenishment::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(
            crate::web_session::cookie_to_bearer,
        ))
        // Outermost, so it sees every answer, the extractors' refusals and 404s included.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::ops::track_requests,
        ))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, then finishes requests in flight.
/// Each request knows its peer's address (for the login throttle).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
