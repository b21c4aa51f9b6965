//! A ready-to-use till for demos and tests: a ledger for the demo shop with the demo catalog,
//! and the demo staff (cashier Alice, PIN 1234; manager Bruno, PIN 9999).

use std::path::Path;
use std::sync::Arc;

use pos_till::system::{SystemClock, random_salt, random_secret};
use pos_till::{InitOptions, Till, TillError};

/// Creates the demo ledger at `db` if the file is missing, and adds the demo staff if they are
/// not there. An existing ledger keeps everything it holds.
pub fn demo_ledger(db: &Path) -> Result<(), TillError> {
    let clock = Arc::new(SystemClock);
    let mut till = if db.exists() {
        Till::open(db, clock)?
    } else {
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| TillError::File {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut options = InitOptions::new("Boutique Paris Opéra", "Caisse 1");
        options.shop_address = "12 boulevard des Capucines\n75009 Paris".into();
        options.siret = "12345678900011".into();
        options.vat_number = "FR32123456789".into();
        let mut till = Till::init(db, options, clock, random_secret()?)?;
        till.import_catalog(&pos_till::demo::demo_catalog()?, "demo catalog")?;
        till
    };
    let mut failure = None;
    pos_till::demo::seed_staff(&mut till, || {
        random_salt().unwrap_or_else(|e| {
            failure = Some(e);
            [0; 16]
        })
    })?;
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
