//! The tills' archives at head office, merged into [`crate::api::router`]:
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/v1/tills/{till_id}/archives` | that till | an archive it made (a closed month or fiscal year), its bytes as the body: verified on arrival with the till's enrolled key, stored (a resend stores nothing), alarmed if it does not verify |
//! | `GET /api/v1/hq/archives` | admin, accountant (scoped) | the archives of the shops asked, with their latest verification |
//! | `GET /api/v1/hq/archives/{id}` | admin, accountant (scoped) | the archive's bytes as stored, which `till archive verify FILE` checks offline |
//! | `POST /api/v1/hq/archives/verify` | admin, accountant (scoped) | verifies every archive of the scope again (bytes unchanged since arrival, signatures with the enrolled key), records each check and raises an alarm for each that fails |
//!
//! Besides these routes, [`recheck_periodically`] (started by `serve`) verifies every stored
//! archive again every day, in the one process that leads the job [`RECHECK_JOB`] (any number
//! of replicas over one PostgreSQL database run it once), so one byte changed in an archive
//! nobody asked about is found and alarmed once.
//!
//! Archives are kept at least [`crate::archives::KEEP_YEARS`] years: there is no route, admin
//! command or storage verb that deletes or changes one, and both backends refuse it by
//! trigger. What an archive is and how it verifies is [`pos_domain::archive`], the rule of
//! `till archive verify`; head office's verdict is [`crate::archives::judge`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use pos_domain::archive::ArchiveReceipt;
use pos_domain::record::{PublicKey, timestamp};
use pos_domain::wire::codes;
use serde::{Deserialize, Serialize};

use crate::api::{AppState, Caller, Failure, PathParams, QueryParams};
use crate::archives::{self, MAX_ARCHIVE_BYTES, Verdict};
use crate::feeds::{self, Shutdown};
use crate::scope::scope;
use crate::store::archives::{ArchiveInfo, NewArchive, NewArchiveCheck};
use crate::store::{Page, Role, ShopSelection, Store, StoreError, User};

/// The code of an upload that is not an archive this server reads.
pub const ARCHIVE_INVALID: &str = "archive_invalid";

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/tills/{till_id}/archives",
            post(upload_archive).layer(DefaultBodyLimit::max(MAX_ARCHIVE_BYTES)),
        )
        .route("/api/v1/hq/archives", get(list_archives))
        .route("/api/v1/hq/archives/verify", post(verify_archives))
        .route("/api/v1/hq/archives/{id}", get(download_archive))
}

/// [`pos_domain::archive::Archive`], the file `till archive` writes (`pos-archive/1`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Archive)]
pub struct ArchiveDoc {
    #[schema(example = "pos-archive/1")]
    pub format: String,
    pub till_id: String,
    pub shop_name: String,
    /// The till's SEC1 hex public key; head office verifies with the key it enrolled.
    pub public_key: String,
    /// First and last local day archived, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    pub timezone: String,
    pub created_at: String,
    pub software: String,
    /// Per chain: `chain`, `first_seq`, `last_seq` and `records`, each a signed record.
    pub chains: Vec<serde_json::Value>,
    /// ES256 signature (hex `r‖s`) of the canonical archive without this key.
    pub signature: String,
}

/// [`pos_domain::archive::ArchiveReceipt`].
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ArchiveReceipt)]
pub struct ArchiveReceiptDoc {
    /// Head office's id of the archive.
    pub id: i64,
    /// Hex SHA-256 of the bytes stored.
    pub sha256: String,
    /// Whether it verified with the till's enrolled key.
    pub intact: bool,
    /// Head office already held these bytes: nothing was stored.
    pub already_held: bool,
}

fn check_of(verdict: &Verdict) -> NewArchiveCheck {
    NewArchiveCheck {
        checked_at: timestamp::format(&Utc::now()),
        intact: verdict.intact,
        defect: verdict.defect.clone(),
        judged_sha256: verdict.sha256.clone(),
    }
}

#[utoipa::path(post, path = "/api/v1/tills/{till_id}/archives", tag = "tills",
    params(("till_id" = String, Path, description = "The till")),
    request_body(content = ArchiveDoc, content_type = "application/json",
        description = "The archive file as the till wrote it (`pos-archive/1`), byte for byte"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored (or already held: `already_held`); `intact` says whether it verified with the till's enrolled key, an alarm is raised if not", body = ArchiveReceiptDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Not this till's token", body = crate::openapi::ApiErrorDoc),
        (status = 413, description = "Larger than the largest archive accepted", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "Not an archive this server reads (`archive_invalid`)", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn upload_archive(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, Failure> {
    let till = caller.till()?;
    if till.till_id != till_id {
        return Err(Failure::forbidden(format!(
            "this token belongs to till `{}`: it cannot upload archives for `{till_id}`",
            till.till_id
        )));
    }
    let verdict = archives::judge(&body, &till.till_id, &till.public_key).map_err(|e| {
        Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ARCHIVE_INVALID,
            format!("{e}: send the file `till archive` wrote, unchanged"),
        )
    })?;
    let check = check_of(&verdict);
    let put = state
        .store
        .put_archive(&NewArchive {
            till_id: till.till_id.clone(),
            period_from: verdict.from.clone(),
            period_to: verdict.to.clone(),
            sha256: verdict.sha256.clone(),
            content: body.to_vec(),
            received_at: check.checked_at.clone(),
            check,
        })
        .await?;
    if !verdict.intact && !put.already_held {
        tracing::warn!(till = %till.till_id, from = %verdict.from, to = %verdict.to,
            defect = verdict.defect.as_deref().unwrap_or_default(), "an uploaded archive does not verify");
    }
    Ok(Json(ArchiveReceipt {
        id: put.id,
        sha256: verdict.sha256,
        intact: verdict.intact,
        already_held: put.already_held,
    })
    .into_response())
}

/// Only auditors read archives: admins and accountants.
fn auditor(caller: Caller) -> Result<User, Failure> {
    let user = caller.user()?;
    if !matches!(user.role, Role::Admin | Role::Accountant) {
        return Err(Failure::forbidden(
            "archives are for auditors: only admins and accountants read them",
        ));
    }
    Ok(user)
}

/// `GET /api/v1/hq/archives` and `POST /api/v1/hq/archives/verify` parameters.
#[derive(Deserialize, Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArchivesQuery {
    /// Only this shop's tills.
    pub shop: Option<String>,
    /// Only the tills of this region's shops (`(none)`: shops without a region).
    pub region: Option<String>,
    /// The archives after this id (the `id` of the previous page's last archive).
    pub after: Option<i64>,
    /// Archives per page: 1 to 5000, default 500.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/hq/archives", tag = "head office",
    params(ArchivesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The archives of the shops asked, oldest first, one page, each with its latest verification", body = Vec<crate::store::archives::ArchiveInfo>),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Neither admin nor accountant, or a shop outside the user's scope", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn list_archives(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ArchivesQuery>,
) -> Result<Response, Failure> {
    let user = auditor(caller)?;
    let scoped = scope(state.store.as_ref(), &user, query.shop, query.region).await?;
    let page = Page::new(query.after, query.limit);
    Ok(Json(state.store.archives(&scoped.selection, &page).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/hq/archives/{id}", tag = "head office",
    params(("id" = i64, Path, description = "The archive's id at head office")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The archive file as stored: check it offline with `till archive verify FILE`", content_type = "application/json", body = ArchiveDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Neither admin nor accountant", body = crate::openapi::ApiErrorDoc),
        (status = 404, description = "No such archive in the user's scope", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn download_archive(
    State(state): State<AppState>,
    PathParams(id): PathParams<i64>,
    caller: Caller,
) -> Result<Response, Failure> {
    let user = auditor(caller)?;
    let missing = || {
        Failure::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("no archive {id}: list them with GET /api/v1/hq/archives"),
        )
    };
    let (info, content) = state.store.archive_content(id).await?.ok_or_else(missing)?;
    let scoped = scope(state.store.as_ref(), &user, None, None).await?;
    if !scoped.contains(&info.shop_id) {
        return Err(missing());
    }
    let name = format!("{}_{}_{}.json", info.till_id, info.from, info.to);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        content,
    )
        .into_response())
}

/// One archive verified again.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct ArchiveRecheck {
    pub id: i64,
    pub till_id: String,
    pub from: String,
    pub to: String,
    pub intact: bool,
    pub defect: Option<String>,
    /// Whether this check raised a new alarm (the same altered bytes alarm once).
    pub alarm_raised: bool,
}

#[utoipa::path(post, path = "/api/v1/hq/archives/verify", tag = "head office",
    params(ArchivesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Each archive of the page verified again: its bytes against the hash received, its signatures against the till's enrolled key; each failure is an alarm", body = Vec<ArchiveRecheck>),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "Neither admin nor accountant, or a shop outside the user's scope", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn verify_archives(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ArchivesQuery>,
) -> Result<Response, Failure> {
    let user = auditor(caller)?;
    let scoped = scope(state.store.as_ref(), &user, query.shop, query.region).await?;
    let page = Page::new(query.after, query.limit);
    let answers = recheck_page(state.store.as_ref(), &scoped.selection, &page).await?;
    Ok(Json(answers).into_response())
}

/// The name of the singleton job of [`recheck_periodically`] (see [`Store::try_lead`]).
pub const RECHECK_JOB: &str = "archive recheck";
/// How often `serve` verifies every stored archive again.
pub const RECHECK_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// Verifies every stored archive again every `every` (the first time at once), while this
/// process leads [`RECHECK_JOB`]; stops when `shutdown` fires. A failed round is logged and
/// tried again at the next.
pub async fn recheck_periodically(store: Arc<dyn Store>, every: Duration, mut shutdown: Shutdown) {
    let retry = every.min(Duration::from_secs(60));
    let Some(mut lead) = feeds::lead(store.as_ref(), RECHECK_JOB, retry, &mut shutdown).await
    else {
        return;
    };
    loop {
        if !lead.still_leading().await {
            tracing::warn!(job = RECHECK_JOB, "lost the lead; waiting to lead again");
            match feeds::lead(store.as_ref(), RECHECK_JOB, retry, &mut shutdown).await {
                Some(again) => lead = again,
                None => return,
            }
        }
        match recheck_all(store.as_ref()).await {
            Ok(checks) => {
                let failed = checks.iter().filter(|c| !c.intact).count();
                tracing::info!(
                    archives = checks.len(),
                    failed,
                    "stored archives verified again"
                );
            }
            Err(error) => {
                tracing::warn!(%error, "the archives' re-check failed; retrying at the next round")
            }
        }
        tokio::select! {
            _ = feeds::stopped(&mut shutdown) => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Verifies every stored archive of every shop again, a page at a time.
pub async fn recheck_all(store: &dyn Store) -> Result<Vec<ArchiveRecheck>, StoreError> {
    let mut all = Vec::new();
    let mut page = Page::first();
    loop {
        let checks = recheck_page(store, &ShopSelection::all(), &page).await?;
        let Some(last) = checks.last().map(|c| c.id) else {
            return Ok(all);
        };
        let full = checks.len() as u32 >= page.limit;
        all.extend(checks);
        if !full {
            return Ok(all);
        }
        page.after = Some(last);
    }
}

/// Verifies again each archive of a page of `shops`' archives.
async fn recheck_page(
    store: &dyn Store,
    shops: &ShopSelection,
    page: &Page<i64>,
) -> Result<Vec<ArchiveRecheck>, StoreError> {
    let tills = store.tills().await?;
    let mut answers = Vec::new();
    for listed in store.archives(shops, page).await? {
        let Some((info, content)) = store.archive_content(listed.id).await? else {
            continue;
        };
        let key = tills
            .iter()
            .find(|t| t.id == info.till_id)
            .and_then(|t| t.public_key.as_deref())
            .and_then(|k| k.parse::<PublicKey>().ok());
        answers.push(recheck(store, &info, &content, key.as_ref()).await?);
    }
    Ok(answers)
}

/// Verifies a stored archive again and records the check (an alarm if it fails).
async fn recheck(
    store: &dyn Store,
    info: &ArchiveInfo,
    content: &[u8],
    enrolled: Option<&PublicKey>,
) -> Result<ArchiveRecheck, StoreError> {
    let verdict = match enrolled {
        Some(key) => archives::rejudge(
            content,
            &info.sha256,
            &info.till_id,
            key,
            (&info.from, &info.to),
        ),
        None => Verdict {
            from: info.from.clone(),
            to: info.to.clone(),
            sha256: pos_domain::record::sha256_hex(content),
            intact: false,
            defect: Some("the till has no enrolled key to verify it with".into()),
        },
    };
    let alarm_raised = store
        .record_archive_check(info.id, &check_of(&verdict))
        .await?;
    Ok(ArchiveRecheck {
        id: info.id,
        till_id: info.till_id.clone(),
        from: info.from.clone(),
        to: info.to.clone(),
        intact: verdict.intact,
        defect: verdict.defect,
        alarm_raised,
    })
}
