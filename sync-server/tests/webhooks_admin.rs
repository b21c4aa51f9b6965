//! Webhooks administered through `/api/v1/hq/webhooks` and `sync-server admin webhook`, on
//! SQLite and PostgreSQL: the server makes the secret, shows it once and keeps it sealed under
//! its key (the one the delivery worker opens); a new secret replaces it the same way; a
//! removed webhook goes with its queue; URLs are HTTPS, or plain HTTP to this machine only,
//! by one rule for the app and the command line; every change is journaled without the
//! secret.

mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::ServerConfig;
use sync_server::server_key::{ServerKey, ServerKeys};

on_every_backend!(
    a_webhook_registered_through_the_api_keeps_its_secret_sealed_and_shows_it_once,
    a_new_secret_replaces_the_old_and_a_removed_webhook_is_gone,
    webhook_urls_follow_one_rule_in_the_app_and_on_the_command_line,
);

const KEY_HEX: &str = "3f1c9a0b7d2e4c6f8a1b3d5e7f90a2c4e6f8091b3d5f7a9c1e3f5a7b9d1f3e5a";

fn key() -> ServerKey {
    ServerKey::from_hex(KEY_HEX, "the test key").unwrap()
}

async fn start(backend: Backend) -> Option<Server> {
    let config = ServerConfig {
        keys: Arc::new(ServerKeys::fixed(key())),
        ..ServerConfig::default()
    };
    Server::start_with(backend, config).await
}

async fn register(server: &Server, body: Value) -> (StatusCode, Value) {
    server
        .post_json("/api/v1/hq/webhooks", Some(&server.admin_token), &body)
        .await
}

/// The secret the delivery worker would sign `webhook`'s deliveries with.
async fn signing_secret(server: &Server, webhook: &str) -> String {
    let target = server
        .store
        .webhook_targets()
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.id == webhook)
        .expect("the webhook is a delivery target");
    key()
        .open(webhook, &target.sealed_secret)
        .expect("its secret is sealed under the server key")
}

async fn journal_text(server: &Server) -> String {
    let (status, journal) = server
        .get("/api/v1/admin/audit", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    journal.to_string()
}

async fn a_webhook_registered_through_the_api_keeps_its_secret_sealed_and_shows_it_once(
    backend: Backend,
) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (status, created) = register(
        &server,
        json!({"id": "erp", "url": "https://erp.example/hook", "types": ["pos.record.ticket"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64, "a secret of 32 random bytes: {created}");
    let stored = server.store.webhook_targets().await.unwrap();
    assert_ne!(
        stored[0].sealed_secret, secret,
        "the database holds the sealed form only"
    );
    assert!(!stored[0].sealed_secret.contains(&secret));
    assert_eq!(
        signing_secret(&server, "erp").await,
        secret,
        "deliveries are signed with the secret shown"
    );

    let (status, listed) = server
        .get("/api/v1/hq/webhooks", Some(&server.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed[0]["types"], json!(["pos.record.ticket"]));
    assert!(
        !listed.to_string().contains(&secret),
        "the list never shows the secret again: {listed}"
    );
    let journal = journal_text(&server).await;
    assert!(journal.contains("webhook.add"), "{journal}");
    assert!(
        !journal.contains(&secret),
        "the journal never holds the secret: {journal}"
    );

    let (status, again) = register(
        &server,
        json!({"id": "erp", "url": "https://other.example/hook"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "an id is taken once: {again}");
    let (status, _) = server
        .post_json(
            "/api/v1/hq/webhooks",
            Some(&server.manager_token),
            &json!({"url": "https://x.example/"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    server.stop().await;
}

async fn a_new_secret_replaces_the_old_and_a_removed_webhook_is_gone(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (_, created) = register(&server, json!({"url": "http://127.0.0.1:9/hook"})).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id, "127-0-0-1", "the id defaults to the host's slug");
    let old = created["secret"].as_str().unwrap().to_string();
    let (status, rotated) = server
        .post_json(
            &format!("/api/v1/hq/webhooks/{id}/secret"),
            Some(&server.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(
        signing_secret(&server, &id).await,
        new,
        "deliveries are signed with the new secret from now on"
    );

    let remove = |path: String| {
        server
            .http
            .delete(format!("{}{path}", server.url))
            .bearer_auth(&server.admin_token)
            .send()
    };
    let status = remove(format!("/api/v1/hq/webhooks/{id}"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(server.store.webhooks().await.unwrap().is_empty());
    let status = remove(format!("/api/v1/hq/webhooks/{id}"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::NOT_FOUND, "it is gone");
    let (status, _) = server
        .post_json(
            &format!("/api/v1/hq/webhooks/{id}/secret"),
            Some(&server.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let journal = journal_text(&server).await;
    for action in ["webhook.add", "webhook.secret", "webhook.remove"] {
        assert!(journal.contains(action), "{action} is journaled: {journal}");
    }
    assert!(
        !journal.contains(&old) && !journal.contains(new),
        "no secret in the journal: {journal}"
    );
    server.stop().await;
}

async fn webhook_urls_follow_one_rule_in_the_app_and_on_the_command_line(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    for url in [
        "http://erp.example/hook",
        "http://10.1.2.3/hook",
        "ftp://erp.example/",
        "erp",
    ] {
        let (status, body) = register(&server, json!({"url": url})).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: events never cross a network in clear: {body}"
        );
        assert_eq!(body["code"], "invalid");
    }
    for (id, url) in [
        ("tls", "https://erp.example/hook"),
        ("v4", "http://127.0.0.1:8080/hook"),
        ("v6", "http://[::1]:8080/hook"),
        ("name", "http://localhost/hook"),
    ] {
        let (status, body) = register(&server, json!({"id": id, "url": url})).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
    }

    let db = server.db_url.clone();
    let output = blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args(["--db", &db, "admin", "webhook", "add", "--id", "cli"])
            .args(["--url", "http://erp.example/hook"])
            .args(["--secret", "a-secret-of-sixteen-chars"])
            .env("SYNC_SECRET_KEY", KEY_HEX)
            .output()
            .unwrap()
    })
    .await;
    assert!(
        !output.status.success(),
        "the command line refuses plain HTTP to another machine too"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("plain HTTP"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    server.stop().await;
}
