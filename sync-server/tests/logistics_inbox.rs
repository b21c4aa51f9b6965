//! The logistics drop folder with the real `sync-server serve --logistics-inbox DIR`, on every
//! storage backend: a good file is applied once even when the server is killed (SIGKILL)
//! right after the file's transaction committed and before the file moved: the restarted
//! server recognizes it by its SHA-256 and moves it to `done/` without applying it again. A
//! bad file goes to `failed/` with a report naming each bad line, and none of it is applied.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use support::*;
use sync_server::distribution::product_change;
use sync_server::store::{LegalEntity, Shop};
use sync_server::{Store, open_store};

on_every_backend!(
    a_good_file_is_applied_once_even_when_the_server_is_killed,
    a_bad_file_is_refused_whole_with_its_bad_lines_named
);

const KEY_HEX: &str = "3f1c9a0b7d2e4c6f8a1b3d5e7f90a2c4e6f8091b3d5f7a9c1e3f5a7b9d1f3e5a";
const CASE: &str = "ACC-COQ-IP16";
const CABLE: &str = "ACC-CBL-CC1";

/// A fresh database with the entity, shops A and B and the demo catalog.
async fn database(backend: Backend, dir: &Path) -> Option<(String, std::sync::Arc<dyn Store>)> {
    let db = fresh_database(backend, dir).await?;
    let store = open_store(&db).await.expect("the store opens and migrates");
    store
        .create_entity(&LegalEntity {
            id: ENTITY.into(),
            name: "Acme".into(),
            siren: "123456789".into(),
            fiscal_year_start_month: 1,
        })
        .await
        .unwrap();
    for id in [SHOP_A, SHOP_B] {
        store
            .create_shop(&Shop {
                id: id.into(),
                entity_id: ENTITY.into(),
                name: id.into(),
                territory: "metropole".into(),
                timezone: "Europe/Paris".into(),
                address: "1 rue de la Paix".into(),
                region_id: None,
            })
            .await
            .unwrap();
    }
    let products = pos_till::demo::demo_catalog().unwrap();
    store
        .put_changes(products.iter().map(product_change).collect())
        .await
        .unwrap();
    Some((db, store))
}

/// The real server watching `inbox`, killed (SIGKILL) when dropped.
struct Serving(Child);

impl Serving {
    fn start(db: &str, inbox: &Path, pause_after_commit: bool) -> Serving {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sync-server"));
        command
            .env("SYNC_SECRET_KEY", KEY_HEX)
            .env("RUST_LOG", "info")
            .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
            .arg("--logistics-inbox")
            .arg(inbox)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if pause_after_commit {
            command.env(sync_server::logistics_inbox::PAUSE_AFTER_COMMIT_VAR, "1");
        }
        Serving(command.spawn().expect("the sync-server binary starts"))
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().unwrap();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn drop_file(inbox: &Path, name: &str, text: &str) -> (PathBuf, String) {
    // Written under another name, then renamed: the server never reads half a file.
    let part = inbox.join(format!("{name}.part"));
    std::fs::write(&part, text).unwrap();
    let path = inbox.join(name);
    std::fs::rename(&part, &path).unwrap();
    (path, hex::encode(Sha256::digest(text.as_bytes())))
}

async fn a_good_file_is_applied_once_even_when_the_server_is_killed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((db, store)) = database(backend, dir.path()).await else {
        return;
    };
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let text = format!(
        "notice,shop,product,quantity,unit,imeis\n\
         ASN-100,{SHOP_A},{CASE},10,units,\n\
         ASN-100,{SHOP_A},{CABLE},4,,\n\
         ASN-200,{SHOP_B},{CASE},3,,\n"
    );
    let (path, sha256) = drop_file(&inbox, "delivery-1.csv", &text);

    let first = Serving::start(&db, &inbox, true);
    let applied = eventually("the file's transaction to commit", async || {
        store.applied_file(&sha256).await.unwrap()
    })
    .await;
    first.kill();
    assert!(
        path.exists(),
        "killed after the commit and before the move: the file is still in the inbox"
    );
    assert_eq!((applied.notices, applied.lines), (2, 3), "{applied:?}");
    let feed_end = store.changes(SHOP_A, 0, 20_000).await.unwrap().latest;

    let second = Serving::start(&db, &inbox, false);
    let done = inbox.join("done").join("delivery-1.csv");
    eventually(
        "the restarted server to move the file to done/",
        async || done.exists().then_some(()),
    )
    .await;
    drop(second);
    assert!(!path.exists(), "the file left the inbox");
    let report = std::fs::read_to_string(inbox.join("done/delivery-1.csv.report.txt")).unwrap();
    assert!(
        report.contains("already applied") && report.contains(&sha256),
        "the report says the file was recognized by its hash, not applied again: {report}"
    );
    assert_eq!(
        store.applied_file(&sha256).await.unwrap(),
        Some(applied),
        "the file's record is the first application's"
    );
    assert_eq!(
        store.changes(SHOP_A, 0, 20_000).await.unwrap().latest,
        feed_end,
        "applying nothing again, the restart wrote nothing to the changes feed"
    );
    let notices = store.notices(None, None, None, 100).await.unwrap();
    let ids: Vec<_> = notices.iter().map(|n| n.notice.id.as_str()).collect();
    assert_eq!(ids, vec!["ASN-100", "ASN-200"], "each notice once");
    assert_eq!(notices[0].notice.lines.len(), 2);
    assert_eq!(notices[0].notice.lines[0].quantity, 10);
    assert_eq!(notices[1].notice.shop_id, SHOP_B);
}

async fn a_bad_file_is_refused_whole_with_its_bad_lines_named(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((db, store)) = database(backend, dir.path()).await else {
        return;
    };
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let server = Serving::start(&db, &inbox, false);

    // Lines 3 and 5 cannot be read: nothing of the file is applied, line 2 included.
    let unreadable = format!(
        "notice,shop,product,quantity,unit,imeis\n\
         ASN-300,{SHOP_A},{CASE},10,,\n\
         ASN-300,{SHOP_A},{CABLE},many,,\n\
         ASN-301,{SHOP_B},{CASE},1,,\n\
         ASN-301,{SHOP_B},{CABLE},1,crates,\n"
    );
    drop_file(&inbox, "bad-1.csv", &unreadable);
    // Readable, but the shop of line 3 and the product of line 4 are unknown at head office.
    let unknown = format!(
        "notice,shop,product,quantity,unit,imeis\n\
         ASN-400,{SHOP_A},{CASE},10,,\n\
         ASN-401,NOWHERE,{CASE},1,,\n\
         ASN-402,{SHOP_B},NO-SUCH-PRODUCT,1,,\n\
         ASN-402,{SHOP_B},{CABLE},1,,\n"
    );
    drop_file(&inbox, "bad-2.csv", &unknown);

    for (name, bad_lines, words) in [
        ("bad-1.csv", vec![3, 5], vec!["many", "crates"]),
        ("bad-2.csv", vec![3, 4], vec!["NOWHERE", "NO-SUCH-PRODUCT"]),
    ] {
        let failed = inbox.join("failed").join(name);
        eventually("the bad file to move to failed/", async || {
            failed.exists().then_some(())
        })
        .await;
        let report =
            std::fs::read_to_string(inbox.join("failed").join(format!("{name}.report.txt")))
                .unwrap();
        let named: Vec<u64> = report
            .lines()
            .filter_map(|l| l.strip_prefix("line ")?.split(':').next()?.parse().ok())
            .collect();
        assert_eq!(
            named, bad_lines,
            "{name}: the report names each bad line, and only those: {report}"
        );
        for word in words {
            assert!(
                report.contains(word),
                "{name}: the report says why ({word}): {report}"
            );
        }
        assert!(report.contains("nothing applied"), "{report}");
    }
    drop(server);
    assert_eq!(
        store.notices(None, None, None, 100).await.unwrap(),
        vec![],
        "nothing of a bad file is applied, not even its good lines"
    );
    assert!(
        std::fs::read_dir(inbox.join("done"))
            .unwrap()
            .next()
            .is_none(),
        "nothing went to done/"
    );
}
