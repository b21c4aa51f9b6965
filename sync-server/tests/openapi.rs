//! The committed OpenAPI document is the one the code generates, and the server serves it.

mod support;

use support::*;

on_every_backend!(
    the_server_serves_its_document,
    a_body_written_as_an_array_of_field_values_is_refused,
    a_path_segment_not_of_its_type_is_a_404_error_answer,
);

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

/// serde takes a struct written as an array of its field values; the API takes the JSON
/// objects its document describes, and nothing else.
async fn a_body_written_as_an_array_of_field_values_is_refused(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let path = "/api/v1/hq/webhooks/dead-letters/retry";
    let token = Some(server.admin_token.as_str());
    let (status, body) = server
        .post_json(path, token, &serde_json::json!([null, null]))
        .await;
    assert_eq!(
        status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "a body that is not a JSON object is refused, as the document says: {body}"
    );
    assert_eq!(body["code"], "json_invalid", "{body}");
    let (status, body) = server.post_json(path, token, &serde_json::json!({})).await;
    assert_eq!(
        status,
        reqwest::StatusCode::OK,
        "the object is taken: {body}"
    );
    server.stop().await;
}

/// A ticket number that is not a number names no ticket: a 404 `{code, message}` like an
/// unknown one, never a text/plain answer without a code.
async fn a_path_segment_not_of_its_type_is_a_404_error_answer(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    for number in ["-1", "x", "99999999999999999999"] {
        let (status, body) = server
            .get(
                &format!("/api/v1/hq/tickets/{}-CAISSE-1/{number}", SHOP_A),
                Some(&server.admin_token),
            )
            .await;
        assert_eq!(
            status,
            reqwest::StatusCode::NOT_FOUND,
            "ticket `{number}`: {body}"
        );
        assert_eq!(
            body["code"], "not_found",
            "every error answer is {{code, message}}: {body}"
        );
    }
    server.stop().await;
}
