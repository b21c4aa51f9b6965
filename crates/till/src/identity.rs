//! Who this till is: its id, shop, territory, time zone, legal mentions and signing key.
//!
//! The signing key lives in its own file beside the ledger, `<ledger>.key` (PKCS#8 PEM, mode
//! 0600), never in the ledger, so a copy of the ledger is not a copy of the key; the ledger
//! keeps the public key, which the key file must match. A ledger written by an earlier
//! version, which still holds its key, is migrated when opened: the key file is written and
//! synced first, and only then is the key removed from the identity row (not a fiscal table:
//! no trigger guards it), so a crash at any instant leaves the key in one place at least.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono_tz::Tz;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use pos_domain::record::{PublicKey, Signer, SoftwareKey};
use pos_domain::vat::Territory;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::db;
use crate::error::{Result, TillError};

/// The till's identity as stored in its ledger.
#[derive(Clone, Debug, Serialize)]
pub struct Identity {
    pub till_id: String,
    pub shop_name: String,
    pub till_name: String,
    pub territory: Territory,
    #[serde(serialize_with = "serialize_tz")]
    pub timezone: Tz,
    pub shop_address: String,
    pub siret: String,
    pub vat_number: String,
    pub fiscal_year_start_month: u32,
    pub public_key: String,
}

fn serialize_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// What `till init` is told.
#[derive(Clone, Debug)]
pub struct InitOptions {
    pub shop_name: String,
    pub till_name: String,
    /// Defaults to a slug of shop and till names.
    pub till_id: Option<String>,
    pub territory: Territory,
    pub timezone: String,
    pub shop_address: String,
    pub siret: String,
    pub vat_number: String,
}

impl InitOptions {
    pub fn new(shop_name: &str, till_name: &str) -> InitOptions {
        InitOptions {
            shop_name: shop_name.into(),
            till_name: till_name.into(),
            till_id: None,
            territory: Territory::Metropole,
            timezone: "Europe/Paris".into(),
            shop_address: String::new(),
            siret: String::new(),
            vat_number: String::new(),
        }
    }
}

/// A stable id made of capital letters, digits and dashes ("Boutique Opéra" -> "BOUTIQUE-OPERA").
pub fn slug(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    for c in text
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
    {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

pub(crate) fn parse_timezone(text: &str) -> Result<Tz> {
    Tz::from_str(text).map_err(|_| {
        TillError::invalid(
            "timezone_invalid",
            format!("`{text}` is not an IANA time zone such as Europe/Paris"),
        )
    })
}

pub(crate) fn load(conn: &Connection, path: &str) -> Result<(Identity, SoftwareKey)> {
    let row = conn
        .query_row(
            "SELECT till_id, shop_name, till_name, territory, timezone, shop_address, siret, vat_number,
                    fiscal_year_start_month, secret_key, public_key FROM identity WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, String>(10)?,
                ))
            },
        )
        .optional()?
        .ok_or_else(|| TillError::NotInitialized(path.to_string()))?;
    let public: PublicKey = row.10.parse().map_err(|e: String| TillError::Corrupt(e))?;
    let key = signing_key(conn, &row.9, &public)?;
    let identity = Identity {
        till_id: row.0,
        shop_name: row.1,
        till_name: row.2,
        territory: Territory::from_str(&row.3).map_err(TillError::Corrupt)?,
        timezone: parse_timezone(&row.4)?,
        shop_address: row.5,
        siret: row.6,
        vat_number: row.7,
        fiscal_year_start_month: row.8.clamp(1, 12) as u32,
        public_key: row.10,
    };
    Ok((identity, key))
}

/// Stores the identity of a new ledger (in the caller's transaction), its key in the key file
/// beside the ledger.
pub(crate) fn store(
    conn: &Connection,
    options: &InitOptions,
    key: &SoftwareKey,
    created_at: &str,
) -> Result<String> {
    let till_id = options
        .till_id
        .clone()
        .unwrap_or_else(|| slug(&format!("{} {}", options.shop_name, options.till_name)));
    if till_id.is_empty() {
        return Err(TillError::invalid(
            "till_id_invalid",
            "give the shop and the till a name made of letters or digits",
        ));
    }
    let territory = serde_json::to_value(options.territory)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let key_path = key_file(&ledger_path(conn)?);
    if key_path.exists() {
        return Err(TillError::invalid(
            "key_file_exists",
            format!(
                "{} already exists, but this ledger is new: it may be the key of a ledger that was removed. Move it away (keep it if that ledger is kept somewhere) and run init again",
                key_path.display()
            ),
        ));
    }
    // The key file first: a crash before the commit leaves a key without a ledger (init
    // then asks to move it away), never a ledger without its key.
    write_key_file(&key_path, key)?;
    conn.execute(
        "INSERT INTO identity (id, till_id, shop_name, till_name, territory, timezone, shop_address, siret,
                               vat_number, secret_key, public_key, created_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '', ?9, ?10)",
        rusqlite::params![
            till_id,
            options.shop_name,
            options.till_name,
            territory,
            options.timezone,
            options.shop_address,
            options.siret,
            options.vat_number,
            key.public_key().to_string(),
            created_at,
        ],
    )?;
    Ok(till_id)
}

/// The file holding the signing key of the ledger at `ledger`: `<ledger>.key`, beside it.
pub fn key_file(ledger: &Path) -> PathBuf {
    db::with_suffix(ledger, ".key")
}

/// The path of the ledger `conn` is open on.
fn ledger_path(conn: &Connection) -> Result<PathBuf> {
    conn.path()
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| {
            TillError::invalid(
                "ledger_not_a_file",
                "a till's ledger is a file: its signing key is kept in a file beside it",
            )
        })
}

/// The signing key of the ledger `conn` is open on, which must match its `public` key.
/// `in_ledger` is the key column of the identity row: empty once the key is in its file; a key
/// still there (an earlier version's ledger) is moved out now.
fn signing_key(conn: &Connection, in_ledger: &str, public: &PublicKey) -> Result<SoftwareKey> {
    let ledger = ledger_path(conn)?;
    let path = key_file(&ledger);
    let from_file = read_key_file(&path)?;
    if in_ledger.is_empty() {
        let key = from_file.ok_or_else(|| {
            TillError::invalid(
                "signing_key_missing",
                format!(
                    "the signing key of the ledger {} is expected in {}, which does not exist: restore that file from where this till's files were saved (the ledger alone cannot sign)",
                    ledger.display(),
                    path.display()
                ),
            )
        })?;
        return matching(key, public, &path);
    }
    let key = SoftwareKey::from_secret_hex(in_ledger)
        .ok_or_else(|| TillError::Corrupt("signing key unreadable".into()))?;
    let key = matching(key, public, &ledger)?;
    match from_file {
        // A move interrupted after the file was written: the file is complete, finish it.
        Some(written) if written.public_key() == *public => {}
        Some(_) => {
            return Err(TillError::Corrupt(format!(
                "{} holds another till's key, and the ledger {} still holds its own: move that file away and open the ledger again, which writes its key there",
                path.display(),
                ledger.display()
            )));
        }
        None => write_key_file(&path, &key)?,
    }
    conn.execute("UPDATE identity SET secret_key = '' WHERE id = 1", [])?;
    tracing::info!(file = %path.display(), "the signing key was moved out of the ledger into its own file");
    Ok(key)
}

/// `key` if it is the one whose public key the ledger holds.
fn matching(key: SoftwareKey, public: &PublicKey, source: &Path) -> Result<SoftwareKey> {
    if key.public_key() != *public {
        return Err(TillError::Corrupt(format!(
            "the signing key in {} does not match the ledger's public key: put back this till's own key file",
            source.display()
        )));
    }
    Ok(key)
}

/// The key in the key file at `path`; `None` when there is no such file.
fn read_key_file(path: &Path) -> Result<Option<SoftwareKey>> {
    let pem = match std::fs::read_to_string(path) {
        Ok(pem) => pem,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(TillError::File {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let unreadable = || {
        TillError::Corrupt(format!(
            "{} is not a P-256 private key in PKCS#8 PEM",
            path.display()
        ))
    };
    let secret = p256::SecretKey::from_pkcs8_pem(&pem).map_err(|_| unreadable())?;
    let bytes: [u8; 32] = secret
        .to_bytes()
        .as_slice()
        .try_into()
        .map_err(|_| unreadable())?;
    SoftwareKey::from_secret_bytes(&bytes)
        .map(Some)
        .ok_or_else(unreadable)
}

/// Writes `key` to `path` (PKCS#8 PEM, mode 0600) durably: a temporary file, synced, renamed
/// over `path`, and the directory synced, so the file is either absent or complete.
fn write_key_file(path: &Path, key: &SoftwareKey) -> Result<()> {
    let file_error = |source: std::io::Error| TillError::File {
        path: path.display().to_string(),
        source,
    };
    let secret = hex_bytes(&key.secret_hex())
        .and_then(|bytes| p256::SecretKey::from_slice(&bytes).ok())
        .ok_or_else(|| TillError::Corrupt("the signing key cannot be encoded".into()))?;
    let pem = secret
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| TillError::Corrupt(format!("the signing key cannot be encoded: {e}")))?;
    let temporary = db::with_suffix(path, ".tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(file_error)?;
    file.write_all(pem.as_bytes()).map_err(file_error)?;
    file.sync_all().map_err(file_error)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(file_error)?;
    let directory = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(directory)
        .and_then(|d| d.sync_all())
        .map_err(file_error)?;
    Ok(())
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Shop settings a manager may change after `init`. Each change is recorded as a
/// settings-changed event with the old and new values.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct SettingsChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_year_start_month: Option<u32>,
}

impl SettingsChange {
    pub fn is_empty(&self) -> bool {
        self.shop_address.is_none()
            && self.siret.is_none()
            && self.vat_number.is_none()
            && self.fiscal_year_start_month.is_none()
    }
}

/// Applies `change` to the stored identity (in the caller's transaction) and returns the old
/// and new values of what changed, for the event journal.
pub(crate) fn apply(
    conn: &Connection,
    identity: &mut Identity,
    change: &SettingsChange,
) -> Result<serde_json::Value> {
    if let Some(month) = change.fiscal_year_start_month
        && !(1..=12).contains(&month)
    {
        return Err(TillError::invalid(
            "month_invalid",
            format!("the fiscal year starts in a month from 1 to 12, not {month}"),
        ));
    }
    if let Some(siret) = &change.siret
        && !(siret.len() == 14 && siret.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(TillError::invalid(
            "siret_invalid",
            format!("a SIRET is 14 digits, `{siret}` is not"),
        ));
    }
    let mut changed = serde_json::Map::new();
    let mut record = |name: &str, old: serde_json::Value, new: serde_json::Value| {
        if old != new {
            changed.insert(name.into(), serde_json::json!({"from": old, "to": new}));
        }
    };
    if let Some(address) = &change.shop_address {
        record(
            "shop_address",
            identity.shop_address.clone().into(),
            address.clone().into(),
        );
        identity.shop_address = address.clone();
    }
    if let Some(siret) = &change.siret {
        record("siret", identity.siret.clone().into(), siret.clone().into());
        identity.siret = siret.clone();
    }
    if let Some(vat) = &change.vat_number {
        record(
            "vat_number",
            identity.vat_number.clone().into(),
            vat.clone().into(),
        );
        identity.vat_number = vat.clone();
    }
    if let Some(month) = change.fiscal_year_start_month {
        record(
            "fiscal_year_start_month",
            identity.fiscal_year_start_month.into(),
            month.into(),
        );
        identity.fiscal_year_start_month = month;
    }
    conn.execute(
        "UPDATE identity SET shop_address = ?1, siret = ?2, vat_number = ?3, fiscal_year_start_month = ?4 WHERE id = 1",
        rusqlite::params![identity.shop_address, identity.siret, identity.vat_number, identity.fiscal_year_start_month],
    )?;
    Ok(serde_json::Value::Object(changed))
}
