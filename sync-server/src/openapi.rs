//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers' and types'
//! annotations (utoipa), served at `GET /openapi.json` and committed as
//! `sync-server/openapi.json` (a test fails when the two differ; regenerate with
//! `cargo run -q -p pos-sync-server -- openapi > sync-server/openapi.json`).
//!
//! The wire types of [`pos_domain::wire`] belong to the domain crate, shared with the tills;
//! their schemas are described here by the `*Doc` types, named as the wire types, and a test
//! checks that their fields are those the wire types serialize.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::api;

/// `{code, message}`: every error answer ([`pos_domain::wire::ApiError`]).
#[derive(Serialize, ToSchema)]
#[schema(as = ApiError)]
pub struct ApiErrorDoc {
    /// Stable code (`unauthenticated`, `forbidden`, `json_invalid`, ...).
    pub code: String,
    /// What happened and what to do next.
    pub message: String,
}

/// [`pos_domain::wire::Capabilities`].
#[derive(Serialize, ToSchema)]
#[schema(as = Capabilities)]
pub struct CapabilitiesDoc {
    /// The server's newest protocol version, `MAJOR.MINOR`.
    #[schema(example = "1.0")]
    pub protocol: String,
    pub supported_majors: Vec<u32>,
    pub max_records_per_upload: u32,
    pub max_body_bytes: u64,
    pub features: Vec<String>,
}

/// [`pos_domain::wire::EnrollRequest`].
#[derive(Serialize, ToSchema)]
#[schema(as = EnrollRequest)]
pub struct EnrollRequestDoc {
    #[schema(example = "1.0")]
    pub protocol: String,
    /// The one-time enrollment code printed at head office.
    pub code: String,
    /// The till's P-256 public key, hex SEC1.
    pub public_key: String,
    pub software: String,
}

/// [`pos_domain::wire::EnrollResponse`].
#[derive(Serialize, ToSchema)]
#[schema(as = EnrollResponse)]
pub struct EnrollResponseDoc {
    pub till_id: String,
    pub shop_id: String,
    /// Bearer token for every later request (the server keeps only its hash).
    pub token: String,
    pub capabilities: CapabilitiesDoc,
}

/// [`pos_domain::wire::WireRecord`]: one signed record.
#[derive(Serialize, ToSchema)]
#[schema(as = WireRecord)]
pub struct WireRecordDoc {
    pub seq: u64,
    /// The record exactly as stored and signed at the till.
    pub stored: String,
}

/// [`pos_domain::wire::ChainBatch`].
#[derive(Serialize, ToSchema)]
#[schema(as = ChainBatch)]
pub struct ChainBatchDoc {
    /// `ticket`, `training`, `closure`, `duplicate`, `cash`, `event` or `archive`.
    pub chain: String,
    pub records: Vec<WireRecordDoc>,
}

/// [`pos_domain::wire::UploadRequest`].
#[derive(Serialize, ToSchema)]
#[schema(as = UploadRequest)]
pub struct UploadRequestDoc {
    #[schema(example = "1.0")]
    pub protocol: String,
    pub chains: Vec<ChainBatchDoc>,
    /// The till's clock when it sent the upload (RFC 3339).
    pub sent_at: Option<String>,
}

/// [`pos_domain::wire::ChainAck`]: the outcome fields depend on `status`.
#[derive(Serialize, ToSchema)]
#[schema(as = ChainAck)]
pub struct ChainAckDoc {
    pub chain: String,
    /// Every record from 1 to here is held: the till may mark them synced.
    pub held: u64,
    pub stored: u64,
    pub duplicates: u64,
    /// `ok`, `gap` (resend from `expected`), `fork` or `rejected` (at `seq`, with `reason`).
    pub status: String,
    pub expected: Option<u64>,
    pub seq: Option<u64>,
    pub reason: Option<String>,
}

/// [`pos_domain::wire::UploadResponse`].
#[derive(Serialize, ToSchema)]
#[schema(as = UploadResponse)]
pub struct UploadResponseDoc {
    pub chains: Vec<ChainAckDoc>,
}

/// A till as `GET /api/v1/shops/{shop_id}/tills` lists it.
#[derive(Serialize, ToSchema)]
#[schema(as = ShopTill)]
pub struct ShopTillDoc {
    pub id: String,
    pub name: String,
    pub enrolled: bool,
}

/// Declares the `bearer` security scheme the protected routes name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A till's token from enrollment, a head-office user's API token, or a login session token",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Point-of-sale head-office sync server",
        description = "Till enrollment and ledger upload, head-office reports, the outbox feed and webhook administration. Errors are `{code, message}`.",
        license(name = "Apache-2.0 OR MIT"),
    ),
    paths(
        api::openapi_json,
        api::get_capabilities,
        api::enroll,
        api::login,
        api::upload,
        api::shop_tills,
        api::hq_sales,
        api::hq_fleet,
        api::hq_alarms,
        api::export_fec,
        api::hq_webhooks,
        api::hq_dead_letters,
        api::hq_retry_dead_letters,
        api::feed,
        api::consumers,
        api::acknowledge,
    ),
    components(schemas(crate::store::Role)),
    modifiers(&BearerAuth),
    tags(
        (name = "tills", description = "Enrollment and upload of the tills' signed ledgers"),
        (name = "head office", description = "Consolidated reports, fleet, alarms, exports"),
        (name = "feeds", description = "The outbox as a pull feed, and webhook delivery"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// The OpenAPI document, with the crate's version.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// The document as the committed `sync-server/openapi.json` holds it (pretty, newline-ended).
pub fn pretty_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use pos_domain::record::Chain;
    use pos_domain::wire::*;
    use serde_json::Value;

    use super::*;

    /// The property names of a schema in the document.
    fn properties(name: &str) -> BTreeSet<String> {
        let doc = serde_json::to_value(document()).unwrap();
        doc["components"]["schemas"][name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("schema {name} is in the document"))
            .keys()
            .cloned()
            .collect()
    }

    fn keys(value: impl Serialize) -> BTreeSet<String> {
        match serde_json::to_value(value).unwrap() {
            Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn the_wire_schemas_have_the_fields_the_wire_types_serialize() {
        let capabilities = Capabilities {
            protocol: ProtocolVersion::CURRENT,
            supported_majors: vec![1],
            max_records_per_upload: 1,
            max_body_bytes: 1,
            features: vec![],
        };
        assert_eq!(properties("Capabilities"), keys(&capabilities));
        assert_eq!(
            properties("ApiError"),
            keys(ApiError {
                code: "c".into(),
                message: "m".into()
            })
        );
        assert_eq!(
            properties("EnrollRequest"),
            keys(EnrollRequest {
                protocol: ProtocolVersion::CURRENT,
                code: "c".into(),
                public_key: "k".into(),
                software: "s".into(),
            })
        );
        assert_eq!(
            properties("EnrollResponse"),
            keys(EnrollResponse {
                till_id: "t".into(),
                shop_id: "s".into(),
                token: "x".into(),
                capabilities,
            })
        );
        let record = WireRecord {
            seq: 1,
            stored: "{}".into(),
        };
        assert_eq!(properties("WireRecord"), keys(&record));
        let batch = ChainBatch {
            chain: Chain::Ticket,
            records: vec![record],
        };
        assert_eq!(properties("ChainBatch"), keys(&batch));
        assert_eq!(
            properties("UploadRequest"),
            keys(UploadRequest {
                protocol: ProtocolVersion::CURRENT,
                chains: vec![batch],
                sent_at: Some("2026-01-01T00:00:00Z".into()),
            })
        );
        let mut ack_fields = BTreeSet::new();
        for outcome in [
            ChainOutcome::Ok,
            ChainOutcome::Gap { expected: 2 },
            ChainOutcome::Fork {
                seq: 1,
                reason: "r".into(),
            },
            ChainOutcome::Rejected {
                seq: 1,
                reason: "r".into(),
            },
        ] {
            ack_fields.extend(keys(ChainAck {
                chain: Chain::Ticket,
                held: 1,
                stored: 1,
                duplicates: 0,
                outcome,
            }));
        }
        assert_eq!(properties("ChainAck"), ack_fields);
        assert_eq!(
            properties("UploadResponse"),
            keys(UploadResponse { chains: vec![] })
        );
    }

    #[test]
    fn every_route_of_the_router_is_documented() {
        let doc = serde_json::to_value(document()).unwrap();
        let documented: BTreeSet<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let source = include_str!("api.rs");
        let router = &source[source.find("pub fn router(").unwrap()..];
        let router = &router[..router.find("\n}\n").unwrap()];
        // The string literals of the router are its paths (and nothing else).
        let routes: BTreeSet<&str> = router
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|literal| literal.starts_with('/'))
            .collect();
        assert!(!routes.is_empty());
        assert_eq!(documented, routes, "each route has a #[utoipa::path]");
    }
}
