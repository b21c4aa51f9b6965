//! The admin HTTP API on SQLite and PostgreSQL: admins only, a catalog file with bad rows
//! refused whole with every bad row named, a good one applied and sent to tills, a till
//! created with a code that enrolls, and every change journaled with who, before and after.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

on_every_backend!(
    only_admins_administer,
    a_catalog_with_bad_rows_changes_nothing_and_names_each_row,
    a_till_created_through_the_api_enrolls_with_the_code_shown,
    every_change_is_journaled_with_who_before_and_after,
);

const HEADER: &str = "id,barcodes,label,category,vat_code,price,sold_by,serial\n";

async fn import(server: &Server, token: &str, csv: &str) -> (StatusCode, Value) {
    server
        .post_raw(
            "/api/v1/admin/catalog/import?format=csv&name=catalog.csv",
            Some(token),
            Some("text/csv"),
            csv.as_bytes().to_vec(),
        )
        .await
}

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

async fn only_admins_administer(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let manager = server.manager_token.clone();
    for path in [
        "/api/v1/admin/tills",
        "/api/v1/admin/audit",
        "/api/v1/admin/promotions",
    ] {
        let (status, body) = server.get(path, Some(&manager)).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a shop manager may not read {path}: {body}"
        );
        assert_eq!(body["code"], "forbidden");
    }
    let (status, _) = import(
        &server,
        &manager,
        &format!("{HEADER}P1,,Coque,A,standard,1.00,,\n"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a shop manager may not import a catalog"
    );
    let (status, _) = server.get("/api/v1/admin/tills", None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "administration needs a token"
    );
    assert!(
        server
            .store
            .audit_entries(&sync_server::store::Page::first())
            .await
            .unwrap()
            .is_empty(),
        "a refused request journals nothing"
    );
    server.stop().await;
}

async fn a_catalog_with_bad_rows_changes_nothing_and_names_each_row(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let token = server.admin_token.clone();
    let bad = format!(
        "{HEADER}P1,,Coque,Accessoires,standard,15.00,,\nP2,,Câble,Accessoires,standard,-3.00,,\n\
         P3,,Chargeur,Accessoires,standard,20.00,,\nP4,,Étui,Accessoires,nonsense,9.00,,\n"
    );
    let (status, body) = import(&server, &token, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "catalog_rows_invalid", "{body}");
    let lines: Vec<u64> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(
        lines,
        vec![3, 5],
        "every bad row is named by its line: {body}"
    );
    let (status, _) = server
        .get("/api/v1/admin/catalog/products/P1", Some(&token))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a file with a bad row applies nothing, not even its good rows"
    );
    let good = format!(
        "{HEADER}P1,,Coque,Accessoires,standard,15.00,,\nP3,,Chargeur,Accessoires,standard,20.00,,\n"
    );
    let (status, body) = import(&server, &token, &good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"products": 2, "changed": 2}));
    let (status, product) = server
        .get("/api/v1/admin/catalog/products/P3", Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        product["price"], "20.00",
        "the imported price is the catalog's: {product}"
    );
    server.stop().await;
}

async fn a_till_created_through_the_api_enrolls_with_the_code_shown(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let token = server.admin_token.clone();
    let (status, created) = server
        .post_json(
            "/api/v1/admin/tills",
            Some(&token),
            &json!({"shop": SHOP_A, "name": "Caisse 7"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["till_id"], format!("{SHOP_A}-CAISSE-7"));
    let code = created["enrollment_code"].as_str().unwrap().to_string();
    let till = TestTill::new("PARIS-OPERA-CAISSE-7", 7, 1, 1, 7);
    let enrolled = server.enroll(&code, &till).await;
    assert_eq!(
        enrolled.till_id, "PARIS-OPERA-CAISSE-7",
        "the code shown enrolls the till"
    );
    let (status, _) = server
        .post_json(
            "/api/v1/admin/tills/PARIS-OPERA-CAISSE-7/revoke",
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .get(
            &format!("/api/v1/shops/{SHOP_A}/tills"),
            Some(&enrolled.token),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked till's token stops at once"
    );
    let (status, again) = server
        .post_json(
            "/api/v1/admin/tills/PARIS-OPERA-CAISSE-7/code",
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_ne!(again["enrollment_code"], created["enrollment_code"]);
    server.stop().await;
}

async fn every_change_is_journaled_with_who_before_and_after(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let token = server.admin_token.clone();
    let product = json!({"id": "P9", "label": "Housse", "category": "Accessoires",
        "vat_code": "standard", "price": "10.00"});
    let (status, body) = put_json(
        &server,
        "/api/v1/admin/catalog/products/P9",
        &token,
        &product,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cheaper = json!({"id": "P9", "label": "Housse", "category": "Accessoires",
        "vat_code": "standard", "price": "8.00"});
    put_json(
        &server,
        "/api/v1/admin/catalog/products/P9",
        &token,
        &cheaper,
    )
    .await;
    let (status, body) = put_json(
        &server,
        &format!("/api/v1/admin/shops/{SHOP_B}/prices/P9"),
        &token,
        &json!({"price": "7.50"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, journal) = server.get("/api/v1/admin/audit", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    let entries = journal.as_array().unwrap();
    assert_eq!(entries.len(), 3, "one entry per change: {journal}");
    assert_eq!(entries[0]["action"], "price.set", "newest first: {journal}");
    let edit = &entries[1];
    assert_eq!(edit["actor"], "ada", "the journal says who: {edit}");
    assert_eq!(edit["action"], "product.put");
    assert_eq!(
        edit["before"]["price"], "10.00",
        "the journal keeps the state before: {edit}"
    );
    assert_eq!(edit["after"]["price"], "8.00", "and after: {edit}");
    assert!(
        entries[2]["before"].is_null(),
        "a creation has no before: {journal}"
    );
    assert!(
        edit["at"].as_str().unwrap().ends_with('Z'),
        "and when: {edit}"
    );
    server.stop().await;
}
