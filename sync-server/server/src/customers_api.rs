//! The customer upload of a till, merged into [`crate::api::router`]:
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/v1/tills/{till_id}/customers` | that till | customers created or changed at the till: each one later than head office's copy is stored with the shop and till that sent it, sent to the shop's tills through the changes feed (kind `customer`) and announced by a `pos.crm.customer.*` event; resending changes nothing |
//!
//! A change dated more than [`crate::crm::MAX_CLOCK_AHEAD_SECONDS`] past head office's clock
//! is taken as made when head office received it and raises a `customer_clock_ahead` alarm
//! (see [`crate::crm::bound_to_clock`]): one till's clock cannot pin a customer's details.
//!
//! Customers are checked as the tills check them ([`pos_domain::customer::validate`]): a
//! customer whose details are not already in their normalized form is refused with the whole
//! upload, so what head office stores and sends on is what a till would have made.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use pos_domain::customer::{self, ContactInput, Customer};
use pos_domain::wire::{CustomersUpload, CustomersUploadResponse, codes};

use crate::api::{AppState, Caller, Failure, JsonBody};

/// Most customers in one upload.
pub const MAX_CUSTOMERS_PER_UPLOAD: usize = 1000;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/tills/{till_id}/customers", post(upload_customers))
}

fn invalid(message: String) -> Failure {
    Failure::new(StatusCode::UNPROCESSABLE_ENTITY, codes::INVALID, message)
}

/// Checks one uploaded customer: a till-made id and details in their normalized form.
pub fn check(c: &Customer) -> Result<(), String> {
    customer::check_id(&c.id).map_err(|e| e.to_string())?;
    let contact = customer::validate(&ContactInput {
        name: c.name.clone(),
        phone: c.phone.clone(),
        email: c.email.clone(),
    })
    .map_err(|e| format!("customer {}: {e}", c.id))?;
    if contact != c.contact() {
        return Err(format!(
            "customer {}: details must be sent normalized (name trimmed, phone in E.164, e-mail domain in lower case)",
            c.id
        ));
    }
    if c.updated_at < c.created_at {
        return Err(format!(
            "customer {}: updated_at is before created_at",
            c.id
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/tills/{till_id}/customers", tag = "tills",
    params(("till_id" = String, Path, description = "The uploading till (its token's)")),
    request_body = crate::openapi::CustomersUploadDoc,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored: how many were newer than head office's copy, how many changed nothing (a change dated more than 5 minutes past head office's clock counts as made now, and is alarmed)", body = crate::openapi::CustomersUploadResponseDoc),
        (status = 401, description = "Missing or unknown token", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A head-office user, or another till's id", body = crate::openapi::ApiErrorDoc),
        (status = 413, description = "More than 1000 customers: send them in several uploads", body = crate::openapi::ApiErrorDoc),
        (status = 422, description = "A customer is malformed (the message names it); nothing was stored", body = crate::openapi::ApiErrorDoc),
        (status = 500, description = "Storage failed: nothing was stored, retry later", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn upload_customers(
    State(state): State<AppState>,
    Path(till_id): Path<String>,
    caller: Caller,
    JsonBody(request): JsonBody<CustomersUpload>,
) -> Result<Json<CustomersUploadResponse>, Failure> {
    let till = caller.till()?;
    if till.till_id != till_id {
        return Err(Failure::forbidden(format!(
            "this token belongs to till `{}`: it cannot upload for `{till_id}`",
            till.till_id
        )));
    }
    if request.customers.len() > MAX_CUSTOMERS_PER_UPLOAD {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::BATCH_TOO_LARGE,
            format!(
                "{} customers in one upload; send at most {MAX_CUSTOMERS_PER_UPLOAD}",
                request.customers.len()
            ),
        ));
    }
    for c in &request.customers {
        check(c).map_err(invalid)?;
    }
    // On its own task, like record uploads: a till hanging up never cancels it half-way.
    let store = state.store.clone();
    let answer = tokio::spawn(async move {
        store
            .put_customers(&till, request.customers, Utc::now())
            .await
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "customer upload task failed");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            "the server could not store the customers; nothing was half-stored: retry",
        )
    })??;
    Ok(Json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zoe() -> Customer {
        Customer {
            id: customer::new_id([5; 16]),
            name: "Zoé".into(),
            phone: Some("+33612345678".into()),
            email: Some("zoe@example.fr".into()),
            created_at: "2026-03-30T10:00:00Z".parse().unwrap(),
            updated_at: "2026-03-30T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn uploaded_customers_must_be_as_a_till_makes_them() {
        assert_eq!(check(&zoe()), Ok(()));
        let bad = [
            Customer {
                id: "C1".into(),
                ..zoe()
            },
            Customer {
                phone: Some("06 12 34 56 78".into()),
                ..zoe()
            },
            Customer {
                email: Some("zoe@EXAMPLE.fr".into()),
                ..zoe()
            },
            Customer {
                name: " Zoé".into(),
                ..zoe()
            },
            Customer {
                phone: None,
                email: None,
                ..zoe()
            },
            Customer {
                updated_at: "2026-03-29T10:00:00Z".parse().unwrap(),
                ..zoe()
            },
        ];
        for c in bad {
            assert!(check(&c).is_err(), "{c:?}");
        }
    }
}
