//! Every admin change is written with its journal entry in one transaction, on SQLite and
//! PostgreSQL: with the journal refusing inserts (a trigger of the test database), each kind
//! of change (a region, a product, a till, a user's role, a user's revocation, a webhook) fails
//! and leaves nothing applied; once the journal takes entries again, the same change is
//! applied with exactly its entry.

mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::ServerConfig;
use sync_server::server_key::{ServerKey, ServerKeys};

on_every_backend!(a_change_whose_journal_entry_fails_is_not_applied);

const KEY_HEX: &str = "3f1c9a0b7d2e4c6f8a1b3d5e7f90a2c4e6f8091b3d5f7a9c1e3f5a7b9d1f3e5a";

/// Runs `sql` on the test's database, beside the server.
async fn execute(db_url: &str, sqlite: &str, postgres: &str) {
    if let Some(path) = db_url.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(sqlite).unwrap();
        return;
    }
    let (client, connection) = tokio_postgres::connect(db_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client.batch_execute(postgres).await.unwrap();
}

async fn refuse_journal_entries(db_url: &str) {
    execute(
        db_url,
        "CREATE TRIGGER admin_audit_refused BEFORE INSERT ON admin_audit
         BEGIN SELECT RAISE(ABORT, 'journal refused by the test'); END;",
        "CREATE FUNCTION refuse_journal() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'journal refused by the test'; END $$;
         CREATE TRIGGER admin_audit_refused BEFORE INSERT ON admin_audit
           FOR EACH ROW EXECUTE FUNCTION refuse_journal();",
    )
    .await;
}

async fn take_journal_entries(db_url: &str) {
    execute(
        db_url,
        "DROP TRIGGER admin_audit_refused;",
        "DROP TRIGGER admin_audit_refused ON admin_audit;",
    )
    .await;
}

async fn put_json(server: &Server, path: &str, body: &Value) -> StatusCode {
    server
        .http
        .put(format!("{}{path}", server.url))
        .bearer_auth(&server.admin_token)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn post(server: &Server, path: &str, body: Value) -> StatusCode {
    server
        .post_json(path, Some(&server.admin_token), &body)
        .await
        .0
}

async fn a_change_whose_journal_entry_fails_is_not_applied(backend: Backend) {
    let config = ServerConfig {
        keys: Arc::new(ServerKeys::fixed(
            ServerKey::from_hex(KEY_HEX, "the test key").unwrap(),
        )),
        ..ServerConfig::default()
    };
    let Some(server) = Server::start_with(backend, config).await else {
        return;
    };
    let region = json!({"id": "EST", "name": "Est"});
    let product = json!({"id": "P9", "label": "Housse", "category": "Accessoires",
        "vat_code": "standard", "price": "10.00"});
    refuse_journal_entries(&server.db_url).await;

    let refused = [
        (
            "region",
            post(&server, "/api/v1/admin/regions", region.clone()).await,
        ),
        (
            "product",
            put_json(&server, "/api/v1/admin/catalog/products/P9", &product).await,
        ),
        (
            "till",
            post(
                &server,
                "/api/v1/admin/tills",
                json!({"shop": SHOP_A, "name": "Caisse 9", "id": "PARIS-OPERA-9"}),
            )
            .await,
        ),
        (
            "role",
            put_json(
                &server,
                "/api/v1/admin/users/max/role",
                &json!({"role": "shop_manager", "shop": SHOP_B}),
            )
            .await,
        ),
        (
            "revocation",
            post(&server, "/api/v1/admin/users/max/revoke", json!({})).await,
        ),
        (
            "webhook",
            post(
                &server,
                "/api/v1/hq/webhooks",
                json!({"id": "erp", "url": "https://erp.example/hook"}),
            )
            .await,
        ),
    ];
    for (what, status) in refused {
        assert!(
            !status.is_success(),
            "the {what} change fails when its journal entry cannot be written: {status}"
        );
    }
    let store = &server.store;
    assert!(
        store.regions().await.unwrap().is_empty(),
        "no region without its journal entry"
    );
    let (status, _) = server
        .get(
            "/api/v1/admin/catalog/products/P9",
            Some(&server.admin_token),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no product without its journal entry"
    );
    assert!(
        store
            .tills()
            .await
            .unwrap()
            .iter()
            .all(|t| t.id != "PARIS-OPERA-9"),
        "no till without its journal entry"
    );
    let max = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.user.id == "max")
        .unwrap();
    assert_eq!(
        max.user.shop_id.as_deref(),
        Some(SHOP_A),
        "no role change without its journal entry"
    );
    let (status, _) = server
        .get("/api/v1/hq/fleet", Some(&server.manager_token))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "neither the role change nor the revocation ended the user's token without its entry"
    );
    assert!(
        store.webhooks().await.unwrap().is_empty(),
        "no webhook without its journal entry"
    );

    take_journal_entries(&server.db_url).await;
    assert_eq!(
        post(&server, "/api/v1/admin/regions", region).await,
        StatusCode::OK
    );
    let (_, journal) = server
        .get("/api/v1/admin/audit", Some(&server.admin_token))
        .await;
    let actions: Vec<&str> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["region.create"],
        "the journal holds exactly the change applied: {journal}"
    );
    server.stop().await;
}
