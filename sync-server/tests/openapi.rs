//! The committed OpenAPI document is the one the code generates, and the server serves it.

mod support;

use support::*;

on_every_backend!(the_server_serves_its_document);

#[test]
fn the_committed_document_is_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = sync_server::openapi::pretty_json();
    assert!(
        committed == generated,
        "sync-server/openapi.json differs from the document the code generates: regenerate it with\n  \
         cargo run -q -p sync-server -- openapi > sync-server/openapi.json\nand commit it"
    );
}

async fn the_server_serves_its_document(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let (status, served) = server.get("/openapi.json", None).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        served,
        serde_json::to_value(sync_server::openapi::document()).unwrap()
    );
    assert_eq!(served["openapi"], "3.1.0");
    assert!(served["paths"]["/api/v1/hq/webhooks/dead-letters"]["get"].is_object());
    server.stop().await;
}
