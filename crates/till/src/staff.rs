//! The staff who may log in at this till (table `staff`, schema 3): names, roles and PINs kept
//! only as Argon2id PHC strings. Head office fills the table through its feed; a till without a
//! server has staff added locally (`till staff add`).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use pos_domain::record::timestamp;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::engine::{SYSTEM_OPERATOR, Till};
use crate::error::{Result, TillError};

/// Shortest and longest PIN accepted.
pub const PIN_LENGTH: std::ops::RangeInclusive<usize> = 4..=8;

/// A staff member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Cashier,
    Manager,
}

impl StaffRole {
    pub fn name(self) -> &'static str {
        match self {
            StaffRole::Cashier => "cashier",
            StaffRole::Manager => "manager",
        }
    }

    fn parse(text: &str) -> Result<StaffRole> {
        match text {
            "cashier" => Ok(StaffRole::Cashier),
            "manager" => Ok(StaffRole::Manager),
            other => Err(TillError::Corrupt(format!("staff role `{other}`"))),
        }
    }
}

/// A staff member as stored (without the PIN hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Staff {
    pub id: String,
    pub name: String,
    pub role: StaffRole,
    pub active: bool,
}

fn check_pin(pin: &str) -> Result<()> {
    if !PIN_LENGTH.contains(&pin.len()) || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(TillError::invalid(
            "pin_invalid",
            format!(
                "a PIN is {} to {} digits",
                PIN_LENGTH.start(),
                PIN_LENGTH.end()
            ),
        ));
    }
    Ok(())
}

impl Till {
    /// Adds (or replaces, by id) a staff member. `salt` (16 random bytes) is supplied by the
    /// caller, so randomness stays injected.
    pub fn add_staff(
        &mut self,
        id: &str,
        name: &str,
        role: StaffRole,
        pin: &str,
        salt: [u8; 16],
    ) -> Result<Staff> {
        if id.trim().is_empty() || name.trim().is_empty() {
            return Err(TillError::invalid(
                "staff_invalid",
                "give the staff member a name",
            ));
        }
        check_pin(pin)?;
        let salt = SaltString::encode_b64(&salt)
            .map_err(|e| TillError::invalid("salt_invalid", e.to_string()))?;
        let hash = Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|e| TillError::invalid("pin_hash_failed", e.to_string()))?
            .to_string();
        let now = timestamp::format(&self.now());
        self.conn.execute(
            "INSERT INTO staff (id, name, role, pin_hash, active, updated_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
               pin_hash = excluded.pin_hash, active = 1, updated_at = excluded.updated_at",
            params![id, name.trim(), role.name(), hash, now],
        )?;
        let detail = serde_json::json!({"staff_added": {"id": id, "name": name.trim(), "role": role.name()}});
        self.log_event(
            SYSTEM_OPERATOR,
            pos_domain::journal::EventKind::SettingsChanged,
            detail,
        )?;
        Ok(Staff {
            id: id.into(),
            name: name.trim().into(),
            role,
            active: true,
        })
    }

    /// Active staff, by name.
    pub fn staff(&self) -> Result<Vec<Staff>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, role, active FROM staff WHERE active = 1 ORDER BY name, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })?;
        let mut staff = Vec::new();
        for row in rows {
            let (id, name, role, active) = row?;
            staff.push(Staff {
                id,
                name,
                role: StaffRole::parse(&role)?,
                active,
            });
        }
        Ok(staff)
    }

    /// The active staff member whose PIN this is (only `staff_id` when given). Every candidate's
    /// hash is checked, so a wrong PIN costs the same whoever is tried.
    pub fn staff_by_pin(&self, pin: &str, staff_id: Option<&str>) -> Result<Option<Staff>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, role, pin_hash FROM staff WHERE active = 1 AND (?1 IS NULL OR id = ?1)",
        )?;
        let candidates = stmt
            .query_map([staff_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut found = None;
        for (id, name, role, hash) in candidates {
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| TillError::Corrupt(format!("PIN hash of staff {id}: {e}")))?;
            if found.is_none()
                && Argon2::default()
                    .verify_password(pin.as_bytes(), &parsed)
                    .is_ok()
            {
                found = Some(Staff {
                    id,
                    name,
                    role: StaffRole::parse(&role)?,
                    active: true,
                });
            }
        }
        Ok(found)
    }

    /// One staff member by id (active or not).
    pub fn staff_member(&self, id: &str) -> Result<Option<Staff>> {
        self.conn
            .query_row(
                "SELECT id, name, role, active FROM staff WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, bool>(3)?,
                    ))
                },
            )
            .optional()?
            .map(|(id, name, role, active)| {
                Ok(Staff {
                    id,
                    name,
                    role: StaffRole::parse(&role)?,
                    active,
                })
            })
            .transpose()
    }
}
