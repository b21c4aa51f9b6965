//! Live updates for head office's open screens: `GET /api/v1/hq/live`, a stream of
//! server-sent events telling a browser that a till of a shop it may see has uploaded new
//! records, so its dashboard re-reads the figures it shows.
//!
//! One notification per committed upload that stored something ([`LiveUpdates::uploaded`],
//! called by the upload handler after ingest commits) goes to one in-process broadcast
//! channel; each open stream forwards only the shops in its user's scope (see
//! [`crate::scope`]) and carries no figure, so it tells nothing a user could not read. The
//! browser re-reads its figures through the API, at most once per notification burst (the app
//! coalesces them), which keeps the cost to one cheap message per upload instead of a
//! re-query per client per second.
//!
//! A stream that falls behind the channel (more than [`CHANNEL_CAPACITY`] uploads while it was
//! not read) gets one `sales` event for every shop (`"shop": "*"`), the safe answer. With
//! several server processes each process notifies its own listeners only; a browser connected
//! to another process still sees the change at its next reload (the figures are always read
//! from the database).

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use pos_domain::wire::UploadResponse;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::api::{AppState, Caller, Failure};
use crate::scope::scope;

/// Uploads a listener may fall behind by before it is told to re-read everything.
pub const CHANNEL_CAPACITY: usize = 1024;
/// How often an idle stream sends a comment, so proxies do not close it.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The shops whose figures changed, told to every open stream of this process.
#[derive(Debug)]
pub struct LiveUpdates {
    sender: broadcast::Sender<String>,
}

impl Default for LiveUpdates {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        LiveUpdates { sender }
    }
}

impl LiveUpdates {
    /// Tells the listeners that `shop_id`'s figures changed, if `answer` stored any record.
    /// Called after the upload committed; never blocks and never fails the upload.
    pub fn uploaded(&self, shop_id: &str, answer: &UploadResponse) {
        if answer.chains.iter().any(|ack| ack.stored > 0) {
            self.changed(shop_id);
        }
    }

    /// Tells the listeners that `shop_id`'s figures changed.
    pub fn changed(&self, shop_id: &str) {
        // No listener is not an error: nobody has a screen open.
        let _ = self.sender.send(shop_id.to_string());
    }

    /// A new listener, told of the changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.sender.subscribe()
    }
}

/// The data of a `sales` event: the shop whose figures changed (`*`: maybe every shop).
#[derive(Serialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct SalesChanged {
    pub shop: String,
}

/// One event of the stream as `text/event-stream` carries it (for the OpenAPI document): its
/// name (`ready` or `sales`) and its data, the JSON of a [`SalesChanged`].
#[derive(Serialize, utoipa::ToSchema)]
pub struct LiveEventDoc {
    pub event: String,
    pub data: String,
}

/// Which shops a listener is told about: every shop, or the set of its scope.
enum Audience {
    Everyone,
    Shops(BTreeSet<String>),
}

impl Audience {
    fn hears(&self, shop: &str) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Shops(shops) => shop == "*" || shops.contains(shop),
        }
    }
}

fn sales_event(shop: &str) -> Event {
    Event::default()
        .event("sales")
        .json_data(SalesChanged {
            shop: shop.to_string(),
        })
        .unwrap_or_else(|_| Event::default().event("sales").data("{\"shop\":\"*\"}"))
}

/// The events of one listener: `ready` once, then `sales` for each change in its audience.
fn events(
    receiver: broadcast::Receiver<String>,
    audience: Audience,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let ready = Event::default().event("ready").data("{\"shop\":\"*\"}");
    let first = futures_util::stream::once(async move { Ok(ready) });
    let changes = futures_util::stream::unfold(
        (receiver, audience),
        |(mut receiver, audience)| async move {
            loop {
                match receiver.recv().await {
                    Ok(shop) if audience.hears(&shop) => {
                        return Some((Ok(sales_event(&shop)), (receiver, audience)));
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(sales_event("*")), (receiver, audience)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    futures_util::StreamExt::chain(first, changes)
}

#[utoipa::path(get, path = "/api/v1/hq/live", tag = "head office",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Server-sent events: `ready` once (`{\"shop\": \"*\"}`: read everything), then `sales` with `{\"shop\": ID}` each time a till of a shop in the user's scope uploads new records (`*`: re-read everything)", content_type = "text/event-stream", body = LiveEventDoc),
        (status = 401, description = "Missing or unknown token (or session cookie)", body = crate::openapi::ApiErrorDoc),
        (status = 403, description = "A till, or a manager bound to no shop or region", body = crate::openapi::ApiErrorDoc)))]
pub(crate) async fn hq_live(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Failure> {
    let user = caller.user()?;
    let scoped = scope(state.store.as_ref(), &user, None, None).await?;
    let audience = if scoped.selection.is_all() {
        Audience::Everyone
    } else {
        let shops = state.store.shops().await?;
        Audience::Shops(
            shops
                .into_iter()
                .filter(|shop| scoped.contains(&shop.id))
                .map(|shop| shop.id)
                .collect(),
        )
    };
    let receiver = state.config.live.subscribe();
    Ok(Sse::new(events(receiver, audience)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// The live route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/hq/live", get(hq_live))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_hears_only_its_shops_and_the_catch_all() {
        let audience = Audience::Shops(["A".to_string()].into());
        assert!(audience.hears("A"));
        assert!(audience.hears("*"), "a lagging stream re-reads every shop");
        assert!(!audience.hears("B"), "another shop's upload is not told");
        assert!(Audience::Everyone.hears("B"));
    }
}
