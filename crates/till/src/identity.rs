//! Who this till is: its id, shop, territory, time zone, legal mentions and signing key.

use std::str::FromStr;

use chrono_tz::Tz;
use pos_domain::record::{PublicKey, SoftwareKey};
use pos_domain::vat::Territory;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

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
    let key = SoftwareKey::from_secret_hex(&row.9)
        .ok_or_else(|| TillError::Corrupt("signing key unreadable".into()))?;
    let public: PublicKey = row.10.parse().map_err(|e: String| TillError::Corrupt(e))?;
    if public != pos_domain::record::Signer::public_key(&key) {
        return Err(TillError::Corrupt(
            "the stored public key does not match the signing key".into(),
        ));
    }
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
    conn.execute(
        "INSERT INTO identity (id, till_id, shop_name, till_name, territory, timezone, shop_address, siret,
                               vat_number, secret_key, public_key, created_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        rusqlite::params![
            till_id,
            options.shop_name,
            options.till_name,
            territory,
            options.timezone,
            options.shop_address,
            options.siret,
            options.vat_number,
            key.secret_hex(),
            pos_domain::record::Signer::public_key(key).to_string(),
            created_at,
        ],
    )?;
    Ok(till_id)
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
