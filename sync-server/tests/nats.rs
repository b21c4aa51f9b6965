//! The NATS JetStream publisher against a real `nats-server` (found through `NATS_URL`; start
//! one with `sync-server/scripts/start-nats.sh`), on every storage backend: a consumer created
//! afterwards replays every outbox event from the family streams, exactly once; publishing
//! again from an older cursor adds no duplicate (JetStream de-duplicates on `Nats-Msg-Id`);
//! a restarted publisher resumes from its saved cursor.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use serde_json::Value;
use support::*;
use sync_server::Store;
use sync_server::feeds::nats::{FAMILIES, NatsConfig, NatsPublisher, family};
use tokio::sync::watch;

on_every_backend!(a_consumer_replays_every_event_once_from_the_family_streams);

/// `NATS_URL`, or `None` to skip (a failure under `CI=true`).
fn nats_url() -> Option<String> {
    match std::env::var("NATS_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "CI=true but NATS_URL is not set: start NATS with sync-server/scripts/start-nats.sh"
        ),
        Err(_) => {
            eprintln!(
                "SKIPPED: NATS_URL is not set; run `export NATS_URL=$(sync-server/scripts/start-nats.sh)`"
            );
            None
        }
    }
}

/// Streams and subjects of this test only, so tests sharing the NATS server never meet.
fn config(url: &str) -> NatsConfig {
    let tag = hex::encode(sync_server::secrets::random_bytes::<4>().unwrap());
    NatsConfig {
        stream_prefix: format!("T{tag}"),
        subject_prefix: format!("t{tag}"),
        poll_interval: Duration::from_millis(20),
        batch: 40,
        ..NatsConfig::new(url)
    }
}

/// Runs a publisher until the returned sender fires.
async fn start_publisher(
    store: Arc<dyn Store>,
    config: &NatsConfig,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let publisher = NatsPublisher::connect(store, config.clone()).await.unwrap();
    let (stop, stopped) = watch::channel(false);
    (stop, tokio::spawn(publisher.run(stopped)))
}

/// Waits until the publisher's cursor reaches the newest outbox event.
async fn caught_up(store: &dyn Store, config: &NatsConfig) {
    let newest = store
        .feed(0, u32::MAX)
        .await
        .unwrap()
        .last()
        .map(|e| e.cursor)
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let cursor = store.consumer_cursor(&config.cursor_name).await.unwrap();
        if cursor == Some(newest) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the publisher is stuck at {cursor:?}, newest event {newest}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Every message of every family stream, read by a new consumer from the start: stream
/// family -> (Nats-Msg-Id, CloudEvent) in stream order.
async fn replay(config: &NatsConfig) -> BTreeMap<&'static str, Vec<(String, Value)>> {
    let client = async_nats::connect(config.url.as_str()).await.unwrap();
    let js = jetstream::new(client);
    let mut out = BTreeMap::new();
    for family in FAMILIES {
        let mut stream = js.get_stream(config.stream(family)).await.unwrap();
        let count = stream.info().await.unwrap().state.messages as usize;
        let consumer = stream
            .create_consumer(consumer::pull::Config {
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::None,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut messages = Vec::new();
        while messages.len() < count {
            let mut batch = consumer
                .fetch()
                .max_messages(count - messages.len())
                .expires(Duration::from_secs(2))
                .messages()
                .await
                .unwrap();
            while let Some(message) = batch.next().await {
                let message = message.unwrap();
                let id = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Nats-Msg-Id"))
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_default();
                let event: Value = serde_json::from_slice(&message.payload).unwrap();
                messages.push((id, event));
            }
        }
        out.insert(family, messages);
    }
    out
}

async fn a_consumer_replays_every_event_once_from_the_family_streams(backend: Backend) {
    let Some(url) = nats_url() else {
        return;
    };
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let config = config(&url);
    let (stop, publisher) = start_publisher(server.store.clone(), &config).await;

    // A first till's ledger, published while it arrives.
    let code = server.create_till(SHOP_A, "PARIS-OPERA-1").await;
    let till = TestTill::new("PARIS-OPERA-1", 31, 15, 2, 9);
    let token = server.enroll(&code, &till).await.token;
    for chains in till.batches(10) {
        server.upload(&token, "PARIS-OPERA-1", chains).await;
    }
    caught_up(server.store.as_ref(), &config).await;
    let _ = stop.send(true);
    publisher.await.unwrap();

    // A second till uploads while the publisher is down; a new publisher (a restarted
    // server) resumes from the saved cursor.
    let code = server.create_till(SHOP_B, "LYON-BELLECOUR-1").await;
    let other = TestTill::new("LYON-BELLECOUR-1", 32, 10, 2, 10);
    let token = server.enroll(&code, &other).await.token;
    for chains in other.batches(50) {
        server.upload(&token, "LYON-BELLECOUR-1", chains).await;
    }
    let db_url = server.db_url.clone();
    let dir = server.stop_keeping_data().await;
    let store = sync_server::open_store(&db_url).await.unwrap();
    let (stop, publisher) = start_publisher(store.clone(), &config).await;
    caught_up(store.as_ref(), &config).await;
    let _ = stop.send(true);
    publisher.await.unwrap();

    let events: Vec<Value> = store
        .feed(0, u32::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(facts(&events), till.fact_count() + other.fact_count());
    let check = |streams: &BTreeMap<&'static str, Vec<(String, Value)>>| {
        let mut replayed = 0;
        for (family_name, messages) in streams {
            let mut expected: Vec<&Value> = events
                .iter()
                .filter(|e| family(e["type"].as_str().unwrap()) == *family_name)
                .collect();
            assert_eq!(
                messages.len(),
                expected.len(),
                "stream {family_name} holds each of its events once"
            );
            for ((id, event), wanted) in messages.iter().zip(expected.drain(..)) {
                assert_eq!(event, wanted, "in outbox order, as stored");
                assert_eq!(id, wanted["id"].as_str().unwrap(), "Nats-Msg-Id is the id");
            }
            replayed += messages.len();
        }
        assert_eq!(replayed, events.len(), "every event is in a stream");
    };
    let streams = replay(&config).await;
    check(&streams);
    for family_name in ["SALES", "ACCOUNTING", "CRM", "STOCK", "FLEET"] {
        assert!(
            !streams[family_name].is_empty(),
            "the demo ledgers feed the {family_name} stream"
        );
    }

    // A publisher that lost its cursor (a crash before it was saved) publishes everything
    // again: JetStream drops the copies, a consumer still sees each event once.
    store
        .set_consumer_cursor(&config.cursor_name, 0, chrono::Utc::now())
        .await
        .unwrap();
    let (stop, publisher) = start_publisher(store.clone(), &config).await;
    caught_up(store.as_ref(), &config).await;
    let _ = stop.send(true);
    publisher.await.unwrap();
    check(&replay(&config).await);

    drop(store);
    drop_database(&db_url).await;
    drop(dir);
}

/// `sync-server serve --nats URL --nats-prefix P` publishes the outbox to the `P_*` streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_command_publishes_with_its_nats_settings() {
    let Some(url) = nats_url() else {
        return;
    };
    // A ledger uploaded to a server that is then stopped, its SQLite file kept.
    let server = Server::start(Backend::Sqlite).await.unwrap();
    let code = server.create_till(SHOP_A, "PARIS-OPERA-1").await;
    let till = TestTill::new("PARIS-OPERA-1", 33, 8, 1, 11);
    let token = server.enroll(&code, &till).await.token;
    for chains in till.batches(100) {
        server.upload(&token, "PARIS-OPERA-1", chains).await;
    }
    let db_url = server.db_url.clone();
    let dir = server.stop_keeping_data().await;

    let prefix = format!(
        "s{}",
        hex::encode(sync_server::secrets::random_bytes::<4>().unwrap())
    );
    let config = NatsConfig::new(&url).with_prefix(&prefix).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args(["--db", &db_url, "serve", "--listen", "127.0.0.1:0"])
        .env("SYNC_NATS", &url)
        .env("SYNC_NATS_PREFIX", &prefix)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let store = sync_server::open_store(&db_url).await.unwrap();
    caught_up(store.as_ref(), &config).await;
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "stops cleanly on interrupt"
    );

    let streams = replay(&config).await;
    let published = facts(streams.values().flatten().map(|(_, event)| event));
    assert_eq!(published, till.fact_count());
    assert!(!streams["SALES"].is_empty());
    drop(store);
    drop(dir);
}
