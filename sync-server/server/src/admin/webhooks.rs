//! Webhooks registered, removed and given a new secret, by the app (`/api/v1/hq/webhooks`) and
//! by `sync-server admin webhook`. One rule for their URLs ([`webhook_url`]: HTTPS, plain HTTP
//! only to this machine) and one way to store a secret: sealed under the server key (see
//! [`crate::server_key`]), never in clear in the database nor in the journal, shown once to
//! whoever registered or rotated it. A secret the server makes is 64 hex digits of OS
//! randomness; one given on the command line has at least [`MIN_SECRET_CHARS`] characters.

use std::net::IpAddr;

use axum::http::Uri;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Admin, AdminError, Result, checked_id, slug};
use crate::secrets;
use crate::server_key::ServerKey;
use crate::store::{AdminChange, NewWebhook};

/// The fewest characters of a webhook secret given by hand.
pub const MIN_SECRET_CHARS: usize = 16;

/// A webhook to register.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Defaults to a slug of the URL's host.
    #[serde(default)]
    pub id: Option<String>,
    /// `https://...`, or `http://` to this machine only (127.0.0.1, ::1, localhost).
    pub url: String,
    /// Event type prefixes it receives (`pos.record.ticket`, `pos.crm`...); empty: every event.
    #[serde(default)]
    pub types: Vec<String>,
    /// Also deliver the events already in the outbox (default: only those written from now).
    #[serde(default)]
    pub from_start: bool,
}

/// A webhook registered, or given a new secret: the secret is shown this once.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct WebhookSecret {
    pub id: String,
    pub url: String,
    pub types: Vec<String>,
    /// The HMAC-SHA256 signing secret of `X-Pos-Signature`; only its sealed form is kept.
    pub secret: String,
}

/// The one rule of a webhook's URL: `https://HOST/...`, or `http://` to a loopback address
/// (`127.0.0.0/8`, `::1`, `localhost`) for a receiver on this machine. Events carry shops'
/// sales and customers: they never cross a network in clear.
pub fn webhook_url(url: &str) -> Result<String> {
    let refused = |why: &str| {
        AdminError::Invalid(format!(
            "`{url}`: {why}; a webhook URL is https://HOST/PATH (http:// only to this machine: 127.0.0.1, ::1 or localhost)"
        ))
    };
    let uri: Uri = url.parse().map_err(|_| refused("not a URL"))?;
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| refused("no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(url.to_string()),
        Some("http") if is_loopback(host) => Ok(url.to_string()),
        Some("http") => Err(refused("plain HTTP to another machine")),
        _ => Err(refused("not an http(s) URL")),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What the journal keeps of a webhook: never its secret.
fn journaled(id: &str, url: &str, types: &[String]) -> serde_json::Value {
    json!({"id": id, "url": url, "types": types})
}

/// A new secret: 32 bytes of OS randomness, in hex.
fn new_secret() -> Result<String> {
    secrets::new_token().map_err(|e| AdminError::Internal(e.to_string()))
}

impl Admin<'_> {
    /// Registers a webhook signed with `secret` (at least [`MIN_SECRET_CHARS`] characters),
    /// or with a secret made here when `None`; the secret is sealed under `key`.
    pub async fn add_webhook(
        &self,
        key: &ServerKey,
        request: WebhookRequest,
        secret: Option<String>,
    ) -> Result<WebhookSecret> {
        let url = webhook_url(request.url.trim())?;
        let secret = match secret {
            Some(secret) if secret.chars().count() < MIN_SECRET_CHARS => {
                return Err(AdminError::Invalid(format!(
                    "a webhook secret has at least {MIN_SECRET_CHARS} characters: generate one, e.g. `openssl rand -hex 32`"
                )));
            }
            Some(secret) => secret,
            None => new_secret()?,
        };
        let types: Vec<String> = request
            .types
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let host = url.parse::<Uri>().ok().and_then(|u| u.host().map(slug));
        let id = match request.id.filter(|id| !id.trim().is_empty()) {
            Some(id) => id,
            None => host.unwrap_or_else(|| "webhook".into()).to_lowercase(),
        };
        let id = checked_id("webhook", id)?;
        let hook = NewWebhook {
            sealed_secret: key
                .seal(&id, &secret)
                .map_err(|e| AdminError::Internal(e.to_string()))?,
            id,
            url,
            types,
            from_start: request.from_start,
        };
        let after = journaled(&hook.id, &hook.url, &hook.types);
        let target = format!("webhook {}", hook.id);
        self.apply(
            AdminChange::Webhook(hook.clone()),
            "webhook.add",
            target,
            None,
            Some(after),
        )
        .await
        .map_err(|e| match e {
            AdminError::Conflict(_) => AdminError::Conflict(format!(
                "a webhook `{}` exists: give another id, or remove it first",
                hook.id
            )),
            other => other,
        })?;
        Ok(WebhookSecret {
            id: hook.id,
            url: hook.url,
            types: hook.types,
            secret,
        })
    }

    /// Removes a webhook with its queue and dead letters.
    pub async fn remove_webhook(&self, webhook_id: &str) -> Result<()> {
        let before = self.webhook(webhook_id).await?;
        let change = AdminChange::RemoveWebhook {
            webhook_id: webhook_id.to_string(),
        };
        let target = format!("webhook {webhook_id}");
        self.apply(change, "webhook.remove", target, Some(before), None)
            .await?;
        Ok(())
    }

    /// Gives a webhook a new secret made here, sealed under `key`; the old one stops signing
    /// at once (the receiver needs the new one before the next delivery verifies).
    pub async fn rotate_webhook_secret(
        &self,
        key: &ServerKey,
        webhook_id: &str,
    ) -> Result<WebhookSecret> {
        let hook = self
            .store
            .webhooks()
            .await?
            .into_iter()
            .find(|w| w.id == webhook_id)
            .ok_or_else(|| not_found(webhook_id))?;
        let secret = new_secret()?;
        let sealed = key
            .seal(webhook_id, &secret)
            .map_err(|e| AdminError::Internal(e.to_string()))?;
        let change = AdminChange::WebhookSecret {
            webhook_id: webhook_id.to_string(),
            sealed,
        };
        let after = json!({"secret": "replaced"});
        let target = format!("webhook {webhook_id}");
        self.apply(change, "webhook.secret", target, None, Some(after))
            .await?;
        Ok(WebhookSecret {
            id: hook.id,
            url: hook.url,
            types: hook.types,
            secret,
        })
    }

    /// A webhook as the journal keeps it.
    async fn webhook(&self, webhook_id: &str) -> Result<serde_json::Value> {
        self.store
            .webhooks()
            .await?
            .into_iter()
            .find(|w| w.id == webhook_id)
            .map(|w| journaled(&w.id, &w.url, &w.types))
            .ok_or_else(|| not_found(webhook_id))
    }
}

fn not_found(webhook_id: &str) -> AdminError {
    AdminError::NotFound(format!(
        "no webhook `{webhook_id}`: pick one of the listed webhooks"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_https_or_plain_http_to_this_machine_only() {
        for good in [
            "https://crm.example/hook",
            "https://10.0.0.7:8443/events",
            "http://127.0.0.1:9000/events",
            "http://127.3.2.1/events",
            "http://[::1]:8080/x",
            "http://localhost/hook",
        ] {
            assert!(webhook_url(good).is_ok(), "{good} is accepted");
        }
        for bad in [
            "http://crm.example/hook",
            "http://10.0.0.7/events",
            "http://[::2]/x",
            "ftp://crm.example/hook",
            "crm.example/hook",
            "https:///nohost",
            "",
        ] {
            assert!(
                matches!(webhook_url(bad), Err(AdminError::Invalid(_))),
                "{bad} is refused"
            );
        }
    }
}
