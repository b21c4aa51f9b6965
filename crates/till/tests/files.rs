//! The till's files: the ledger, its write-ahead log and shared memory, and the signing key
//! file beside it are readable by their owner only; the key is never in the ledger, so a copy
//! of the ledger cannot sign; a ledger of an earlier version, which held its key, is migrated
//! when opened without losing the key at any step.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use pos_domain::clock::ManualClock;
use pos_domain::record::Depth;
use pos_till::requests::SaleRequest;
use pos_till::{Till, db, identity};
use support::{SIMPLE_SALE, new_till, start};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn sell(till: &mut Till) {
    let sale: SaleRequest = serde_json::from_str(SIMPLE_SALE).unwrap();
    till.sell(&sale).expect("the sale is recorded");
}

/// The secret the test tills are made with (`support::new_till`), as the ledger of an earlier
/// version stored it.
const SECRET_HEX: &str = "2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a";

#[test]
fn the_ledger_its_wal_and_its_key_file_are_readable_by_the_owner_only() {
    let mut t = new_till();
    sell(&mut t.till);
    let files = db::ledger_files(&t.path);
    assert_eq!(files.len(), 4, "ledger, -wal, -shm and key: {files:?}");
    for file in &files {
        assert_eq!(
            mode(file),
            0o600,
            "{} is created readable and writable by its owner only (it holds secrets, PIN hashes or customers)",
            file.display()
        );
    }
    assert!(
        db::files_shared_with_others(&t.path).is_empty(),
        "nothing to warn about"
    );
    std::fs::set_permissions(&t.path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        db::files_shared_with_others(&t.path),
        vec![t.path.clone()],
        "a ledger others may read is what the start-up warning names"
    );
}

#[test]
fn the_signing_key_is_kept_beside_the_ledger_never_in_it() {
    let mut t = new_till();
    sell(&mut t.till);
    t.till.checkpoint().unwrap();
    let key_file = identity::key_file(&t.path);
    assert_eq!(key_file, t.dir.path().join("till.db.key"));
    let pem = std::fs::read_to_string(&key_file).unwrap();
    assert!(
        pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "PKCS#8 PEM: {pem}"
    );
    let stored: String = rusqlite::Connection::open(&t.path)
        .unwrap()
        .query_row("SELECT secret_key FROM identity", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, "", "the identity row holds no key");
    let public_key = t.till.public_key().to_string();
    drop(t.till);
    let ledger = std::fs::read(&t.path).unwrap();
    assert!(
        !ledger
            .windows(SECRET_HEX.len())
            .any(|w| w == SECRET_HEX.as_bytes()),
        "the ledger's bytes do not contain the key"
    );

    // A copy of the ledger alone cannot sign: opening it says where the key is expected.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("till.db");
    std::fs::copy(&t.path, &copy).unwrap();
    let error = match Till::open(&copy, Arc::new(ManualClock::new(start()))) {
        Ok(_) => panic!("a ledger without its key file must not open"),
        Err(e) => e,
    };
    assert_eq!(error.code(), "signing_key_missing", "{error}");
    assert!(
        error
            .to_string()
            .contains(&identity::key_file(&copy).display().to_string()),
        "the error names the expected key file: {error}"
    );

    // With its key file back, the copy opens and signs as the same till.
    std::fs::copy(&key_file, identity::key_file(&copy)).unwrap();
    let mut reopened = Till::open(&copy, Arc::new(ManualClock::new(start()))).unwrap();
    assert_eq!(reopened.public_key().to_string(), public_key);
    sell(&mut reopened);
    assert!(reopened.verify(Depth::Full).unwrap().intact());
}

/// Puts the ledger back as an earlier version left it: the key in the identity row.
fn as_an_earlier_version(path: &Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute("UPDATE identity SET secret_key = ?1", [SECRET_HEX])
        .unwrap();
}

#[test]
fn a_ledger_holding_its_key_moves_it_to_the_key_file_when_opened() {
    let mut t = new_till();
    sell(&mut t.till);
    drop(t.till);
    let key_file = identity::key_file(&t.path);
    as_an_earlier_version(&t.path);
    std::fs::remove_file(&key_file).unwrap();

    let mut till = Till::open(&t.path, t.clock.clone()).expect("the old ledger opens");
    assert_eq!(
        mode(&key_file),
        0o600,
        "the key was written to its own file, owner only"
    );
    let stored: String = rusqlite::Connection::open(&t.path)
        .unwrap()
        .query_row("SELECT secret_key FROM identity", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, "", "then removed from the ledger");
    sell(&mut till);
    assert!(
        till.verify(Depth::Full).unwrap().intact(),
        "records signed before and after the move verify with the same key"
    );
    drop(till);

    // A move interrupted after the file was written (the key in both places) finishes.
    as_an_earlier_version(&t.path);
    let mut till = Till::open(&t.path, t.clock.clone()).expect("an interrupted move finishes");
    sell(&mut till);
    assert!(till.verify(Depth::Full).unwrap().intact());
    drop(till);

    // A key file of another till next to a ledger still holding its key: nothing is
    // overwritten, and the error says what is wrong.
    let other = tempfile::tempdir().unwrap();
    let other_path = other.path().join("other.db");
    drop(
        Till::init(
            &other_path,
            pos_till::InitOptions::new("Autre", "Caisse"),
            Arc::new(ManualClock::new(start())),
            [9u8; 32],
        )
        .unwrap(),
    );
    std::fs::copy(identity::key_file(&other_path), &key_file).unwrap();
    as_an_earlier_version(&t.path);
    let error = match Till::open(&t.path, t.clock.clone()) {
        Ok(_) => panic!("another till's key must not be taken"),
        Err(e) => e,
    };
    assert_eq!(error.code(), "ledger_corrupt", "{error}");
    let stored: String = rusqlite::Connection::open(&t.path)
        .unwrap()
        .query_row("SELECT secret_key FROM identity", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        stored, SECRET_HEX,
        "the ledger keeps its key while the file is wrong"
    );
}

#[test]
fn init_never_overwrites_a_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.db");
    std::fs::write(
        identity::key_file(&path),
        "a key of a ledger that was removed",
    )
    .unwrap();
    let error = match Till::init(
        &path,
        pos_till::InitOptions::new("Boutique", "Caisse"),
        Arc::new(ManualClock::new(start())),
        [1u8; 32],
    ) {
        Ok(_) => panic!("init must not replace an existing key file"),
        Err(e) => e,
    };
    assert_eq!(error.code(), "key_file_exists", "{error}");
    assert_eq!(
        std::fs::read_to_string(identity::key_file(&path)).unwrap(),
        "a key of a ledger that was removed"
    );
}
