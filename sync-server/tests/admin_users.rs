//! Head-office users administered through the admin HTTP API and `sync-server admin user`, on
//! SQLite and PostgreSQL: a role or scope change ends the user's sessions and API tokens at
//! once (a demoted admin keeps no admin session), a disabled user cannot log in until enabled
//! again, the last active admin can be neither demoted nor disabled, a new scope is checked as
//! a creation's is, and each change is journaled.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use sync_server::secrets;

on_every_backend!(
    a_demoted_admin_loses_their_open_session_at_once,
    the_last_admin_can_be_neither_demoted_nor_disabled,
    a_disabled_user_cannot_log_in_until_enabled_again,
    a_new_scope_is_checked_as_a_creation_is,
    the_command_line_changes_roles_through_the_same_rules,
);

const PASSWORD: &str = "correct horse battery staple";

async fn put_json(server: &Server, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
    let response = server
        .http
        .put(format!("{}{path}", server.url))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Creates a user through the API and gives them a password; returns their API token.
async fn user(server: &Server, body: Value) -> String {
    let (status, created) = server
        .post_json("/api/v1/admin/users", Some(&server.admin_token), &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["user"]["id"].as_str().unwrap();
    server
        .store
        .set_password(id, &secrets::hash_password(PASSWORD).unwrap())
        .await
        .unwrap();
    created["token"].as_str().unwrap().to_string()
}

/// Logs `user` in; returns the status and, on success, the session token.
async fn log_in(server: &Server, user: &str) -> (StatusCode, Option<String>) {
    let (status, body) = server
        .post_json(
            "/api/v1/login",
            None,
            &json!({"user": user, "password": PASSWORD}),
        )
        .await;
    (status, body["token"].as_str().map(str::to_string))
}

async fn a_demoted_admin_loses_their_open_session_at_once(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let token = user(
        &server,
        json!({"id": "bob", "name": "Bob", "role": "admin"}),
    )
    .await;
    let (status, session) = log_in(&server, "bob").await;
    assert_eq!(status, StatusCode::OK);
    let session = session.unwrap();
    let (status, _) = server.get("/api/v1/admin/users", Some(&session)).await;
    assert_eq!(status, StatusCode::OK, "bob is an admin before");

    let (status, changed) = put_json(
        &server,
        "/api/v1/admin/users/bob/role",
        &server.admin_token,
        &json!({"role": "shop_manager", "shop": SHOP_B}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["user"]["role"], "shop_manager");
    assert_eq!(changed["user"]["shop_id"], SHOP_B);
    assert_eq!(changed["credentials_ended"], 2, "his session and his token");

    for credential in [&session, &token] {
        let (status, body) = server.get("/api/v1/admin/users", Some(credential)).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a demoted admin's session and tokens end with the change, not at their expiry: {body}"
        );
    }
    let (status, session) = log_in(&server, "bob").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "he logs in again under his new role"
    );
    let (status, _) = server
        .get("/api/v1/admin/users", Some(&session.unwrap()))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "as a shop manager, administration is refused"
    );

    let (_, journal) = server
        .get("/api/v1/admin/audit", Some(&server.admin_token))
        .await;
    let entry = &journal[0];
    assert_eq!(entry["action"], "user.role", "{journal}");
    assert_eq!(entry["actor"], "ada");
    assert_eq!(entry["before"]["role"], "admin", "{entry}");
    assert_eq!(entry["after"]["role"], "shop_manager", "{entry}");
    assert_eq!(entry["after"]["shop_id"], SHOP_B, "{entry}");
    server.stop().await;
}

async fn the_last_admin_can_be_neither_demoted_nor_disabled(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let admin = server.admin_token.clone();
    let (status, body) = put_json(
        &server,
        "/api/v1/admin/users/ada/role",
        &admin,
        &json!({"role": "accountant"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the last admin cannot demote themselves: {body}"
    );
    assert_eq!(body["code"], "conflict");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("last active admin"),
        "{body}"
    );
    let (status, body) = server
        .post_json("/api/v1/admin/users/ada/disable", Some(&admin), &json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "nor disable themselves: {body}"
    );
    let (status, _) = server.get("/api/v1/admin/users", Some(&admin)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a refused change ends no credential of theirs"
    );
    let (_, journal) = server.get("/api/v1/admin/audit", Some(&admin)).await;
    assert_eq!(
        journal.as_array().unwrap().len(),
        0,
        "a refused change journals nothing: {journal}"
    );

    // With a second admin, the first may step down.
    let bob = user(
        &server,
        json!({"id": "bob", "name": "Bob", "role": "admin"}),
    )
    .await;
    let (status, body) = server
        .post_json("/api/v1/admin/users/ada/disable", Some(&bob), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["user"]["disabled_at"].is_string(), "{body}");
    let (status, body) = put_json(
        &server,
        "/api/v1/admin/users/bob/role",
        &bob,
        &json!({"role": "accountant"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a disabled admin does not count as one: {body}"
    );
    server.stop().await;
}

async fn a_disabled_user_cannot_log_in_until_enabled_again(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let admin = server.admin_token.clone();
    server
        .store
        .set_password("max", &secrets::hash_password(PASSWORD).unwrap())
        .await
        .unwrap();
    let (status, session) = log_in(&server, "max").await;
    assert_eq!(status, StatusCode::OK);
    let session = session.unwrap();
    let (status, body) = server
        .post_json("/api/v1/admin/users/max/disable", Some(&admin), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server.get("/api/v1/hq/fleet", Some(&session)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled user's session ends"
    );
    let (status, _) = log_in(&server, "max").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled user cannot log in, even with the right password"
    );
    let (_, users) = server.get("/api/v1/admin/users", Some(&admin)).await;
    let max = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "max")
        .unwrap();
    assert!(
        max["disabled_at"].is_string(),
        "the list says who is disabled: {max}"
    );

    let (status, body) = server
        .post_json("/api/v1/admin/users/max/enable", Some(&admin), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["user"]["disabled_at"].is_null(), "{body}");
    let (status, session) = log_in(&server, "max").await;
    assert_eq!(status, StatusCode::OK, "enabled again, they log in");
    let (status, _) = server
        .get("/api/v1/hq/fleet", Some(&session.unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, journal) = server.get("/api/v1/admin/audit", Some(&admin)).await;
    let actions: Vec<&str> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.enable", "user.disable"], "{journal}");
    server.stop().await;
}

async fn a_new_scope_is_checked_as_a_creation_is(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let admin = server.admin_token.clone();
    for (body, expected, why) in [
        (
            json!({"role": "shop_manager"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a shop manager needs a shop",
        ),
        (
            json!({"role": "accountant", "shop": SHOP_A}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "only a shop manager has a shop",
        ),
        (
            json!({"role": "regional_manager"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a regional manager needs a region",
        ),
        (
            json!({"role": "shop_manager", "shop": "NOWHERE"}),
            StatusCode::NOT_FOUND,
            "the shop must exist",
        ),
        (
            json!({"role": "regional_manager", "region": "NOWHERE"}),
            StatusCode::NOT_FOUND,
            "the region must exist",
        ),
    ] {
        let (status, answer) =
            put_json(&server, "/api/v1/admin/users/max/role", &admin, &body).await;
        assert_eq!(status, expected, "{why}: {body} -> {answer}");
    }
    let (status, _) = put_json(
        &server,
        "/api/v1/admin/users/nobody/role",
        &admin,
        &json!({"role": "accountant"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown user");
    let (status, _) = put_json(
        &server,
        "/api/v1/admin/users/max/role",
        &server.manager_token,
        &json!({"role": "admin"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a shop manager cannot promote themselves"
    );
    let (status, _) = server
        .get("/api/v1/hq/fleet", Some(&server.manager_token))
        .await;
    assert_eq!(status, StatusCode::OK, "refused changes end no credential");
    let (status, _) = server
        .post_json(
            "/api/v1/admin/regions",
            Some(&admin),
            &json!({"id": "SUD", "name": "Sud"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = put_json(
        &server,
        "/api/v1/admin/users/max/role",
        &admin,
        &json!({"role": "regional_manager", "region": "SUD"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["region_id"], "SUD");
    assert!(
        body["user"]["shop_id"].is_null(),
        "the old shop goes: {body}"
    );
    let (status, _) = server
        .get("/api/v1/hq/fleet", Some(&server.manager_token))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a new scope ends the old token"
    );
    server.stop().await;
}

async fn the_command_line_changes_roles_through_the_same_rules(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let run = |args: &'static [&'static str]| {
        let db = server.db_url.clone();
        blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
                .args(["--db", &db, "--json"])
                .args(args)
                .output()
                .unwrap()
        })
    };
    let refused = run(&["admin", "user", "disable", "--id", "ada"]).await;
    assert!(
        !refused.status.success(),
        "the command line cannot disable the last admin either"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("last active admin"),
        "and says why: {}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let changed = run(&[
        "admin",
        "user",
        "role",
        "--id",
        "max",
        "--role",
        "shop_manager",
        "--shop",
        SHOP_B,
    ])
    .await;
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let changed: Value = serde_json::from_slice(&changed.stdout).unwrap();
    assert_eq!(changed["user"]["shop_id"], SHOP_B, "{changed}");
    let (status, _) = server
        .get("/api/v1/hq/fleet", Some(&server.manager_token))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a change from the command line ends the user's tokens too"
    );
    let (_, journal) = server
        .get("/api/v1/admin/audit", Some(&server.admin_token))
        .await;
    assert_eq!(journal[0]["action"], "user.role", "{journal}");
    assert!(
        journal[0]["actor"].as_str().unwrap().starts_with("cli:"),
        "the command line journals under its account: {journal}"
    );
    server.stop().await;
}
