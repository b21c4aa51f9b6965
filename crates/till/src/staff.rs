//! The staff who may log in at this till (table `staff`, schema 3): names, roles and PINs kept
//! only as Argon2id PHC strings. Head office fills the table through its feed; a till without a
//! server has staff added locally (`till staff add`).
//!
//! PINs are short, so guessing them is limited ([`Till::check_pin`], table `pin_failures`,
//! schema 10): wrong PINs are counted per staff member when one was chosen before typing, and
//! per till when the PIN was tried against everyone, in series. From the third wrong PIN of a series the next try
//! waits 1, 2, then 4 seconds; the sixth locks PIN entry out (for that staff member, or for PINs
//! typed without choosing a name at this till) until a manager lifts it ([`Till::unlock_pins`])
//! or head office re-sends the staff (any change to the staff records lifts it). A series that
//! did not lock ends after [`PIN_SERIES_QUIET`] without a wrong PIN; a right PIN ends its staff
//! member's series. Each series is journaled as a signed `login_failed` event when it starts
//! and when it locks, each lifting as `login_unlocked`. The counters live in the ledger's
//! database, so a restart forgets nothing.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use pos_domain::journal::EventKind;
use pos_domain::record::timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use crate::engine::{SYSTEM_OPERATOR, Till, append_event};
use crate::error::{Result, TillError};

/// Shortest and longest PIN accepted.
pub const PIN_LENGTH: std::ops::RangeInclusive<usize> = 4..=8;

/// A staff member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Cashier,
    /// The shop manager: distinct from head office's users, who never log in at a till.
    Manager,
    /// Stock work only: never cash or sales.
    Stock,
}

impl StaffRole {
    pub fn name(self) -> &'static str {
        match self {
            StaffRole::Cashier => "cashier",
            StaffRole::Manager => "manager",
            StaffRole::Stock => "stock",
        }
    }

    fn parse(text: &str) -> Result<StaffRole> {
        match text {
            "cashier" => Ok(StaffRole::Cashier),
            "manager" => Ok(StaffRole::Manager),
            "stock" => Ok(StaffRole::Stock),
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
    ///
    /// No limit on attempts: what staff type goes through [`Till::check_pin`].
    pub fn staff_by_pin(&self, pin: &str, staff_id: Option<&str>) -> Result<Option<Staff>> {
        self.staff_with_pin(pin, staff_id, None)
    }

    /// [`Till::staff_by_pin`] among staff of `role` only (all when `None`).
    fn staff_with_pin(
        &self,
        pin: &str,
        staff_id: Option<&str>,
        role: Option<StaffRole>,
    ) -> Result<Option<Staff>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, role, pin_hash FROM staff
             WHERE active = 1 AND (?1 IS NULL OR id = ?1) AND (?2 IS NULL OR role = ?2)",
        )?;
        let candidates = stmt
            .query_map(params![staff_id, role.map(StaffRole::name)], |r| {
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

// --- Wrong PINs -------------------------------------------------------------------------------

/// The wrong PIN of a series that locks PIN entry out. With the delays of [`pin_delay`], the
/// first six can come within 7 seconds: the sixth wrong PIN within a minute locks.
pub const PIN_LOCKOUT_AT: u32 = 6;

/// A series of wrong PINs that did not lock ends after this long without another.
pub const PIN_SERIES_QUIET: Duration = Duration::minutes(15);

/// How long the next try waits after `failures` wrong PINs of a series: nothing for the first
/// two typos, then 1, 2, 4... seconds.
pub fn pin_delay(failures: u32) -> Duration {
    match failures {
        0..=2 => Duration::zero(),
        n => Duration::seconds(1 << (n - 3).min(10)),
    }
}

/// What a PIN is typed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinPurpose {
    Login,
    /// A manager's approval: only managers' PINs are tried.
    Approval,
}

/// One PIN typed at the till.
#[derive(Clone, Copy, Debug)]
pub struct PinAttempt<'a> {
    pub pin: &'a str,
    /// The staff member chosen before typing; without, the PIN is tried against everyone.
    pub staff_id: Option<&'a str>,
    pub purpose: PinPurpose,
}

/// Whose wrong PINs a counter counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinScope {
    /// Every wrong PIN at this till; its lockout stops PINs typed without choosing a name.
    Till,
    /// The wrong PINs typed for one staff member; its lockout stops that member's PIN.
    Staff(String),
}

impl PinScope {
    /// Its key in `pin_failures` and in the journal (`till`, `staff:ID`).
    pub fn key(&self) -> String {
        match self {
            PinScope::Till => "till".into(),
            PinScope::Staff(id) => format!("staff:{id}"),
        }
    }

    fn from_key(key: &str) -> PinScope {
        match key.strip_prefix("staff:") {
            Some(id) => PinScope::Staff(id.into()),
            None => PinScope::Till,
        }
    }
}

/// What came of a PIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinCheck {
    /// The right PIN; `wrong_before` wrong ones for this member preceded it.
    Accepted { staff: Staff, wrong_before: u32 },
    /// A wrong PIN, the `failures`-th of its series; `locked` when it locked PIN entry out.
    Wrong { failures: u32, locked: bool },
    /// Not tried: too soon after the last wrong PIN.
    Wait { seconds: i64 },
    /// Not tried: PIN entry is locked out for this scope.
    Locked(PinScope),
}

/// A scope's current series of wrong PINs.
struct Series {
    failures: u32,
    first_at: String,
    last_at: DateTime<Utc>,
    locked: bool,
    staff_version: Option<String>,
}

fn series(conn: &Connection, scope: &PinScope) -> Result<Option<Series>> {
    conn.query_row(
        "SELECT failures, first_at, last_at, locked_at IS NOT NULL, staff_version
         FROM pin_failures WHERE scope = ?1",
        [scope.key()],
        |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        },
    )
    .optional()?
    .map(|(failures, first_at, last_at, locked, staff_version)| {
        let last_at = DateTime::parse_from_rfc3339(&last_at)
            .map_err(|e| TillError::Corrupt(format!("pin_failures {}: {e}", scope.key())))?
            .with_timezone(&Utc);
        Ok(Series {
            failures,
            first_at,
            last_at,
            locked,
            staff_version,
        })
    })
    .transpose()
}

/// The staff records a lockout was decided against: any change (head office re-sending the
/// staff, a new PIN) makes it another version, which lifts the lockout.
fn staff_version(conn: &Connection, scope: &PinScope) -> Result<Option<String>> {
    Ok(match scope {
        PinScope::Till => conn.query_row("SELECT max(updated_at) FROM staff", [], |r| r.get(0))?,
        PinScope::Staff(id) => conn
            .query_row("SELECT updated_at FROM staff WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?,
    })
}

impl Till {
    /// Checks a PIN typed at the till, within the limits on guessing (see the module doc):
    /// too soon after wrong PINs, or locked out, the PIN is not even tried. A locked-out staff
    /// member's right PIN typed without choosing a name counts as a wrong one, so the answer
    /// never tells that it was right.
    pub fn check_pin(&mut self, attempt: &PinAttempt<'_>) -> Result<PinCheck> {
        let now = self.now();
        let gate = match attempt.staff_id {
            Some(id) => PinScope::Staff(id.to_string()),
            None => PinScope::Till,
        };
        if let Some(refusal) = self.pin_gate(&gate, now)? {
            return Ok(refusal);
        }
        let role = (attempt.purpose == PinPurpose::Approval).then_some(StaffRole::Manager);
        if let Some(id) = attempt.staff_id
            && !self.staff_exists(id, role)?
        {
            // Staff names are on the login screen: saying so tells nothing, and keeps a guesser
            // from filling the counters with made-up names.
            return Err(TillError::invalid(
                "staff_unknown",
                format!(
                    "no active {} `{id}` here: choose a name from the list",
                    match role {
                        Some(role) => role.name(),
                        None => "staff member",
                    }
                ),
            ));
        }
        if let Some(staff) = self.staff_with_pin(attempt.pin, attempt.staff_id, role)? {
            let own = PinScope::Staff(staff.id.clone());
            let own_locked =
                own != gate && matches!(self.pin_gate(&own, now)?, Some(PinCheck::Locked(_)));
            if !own_locked {
                // The right PIN ends its owner's series.
                let wrong_before = match series(&self.conn, &own)? {
                    Some(series) => {
                        self.conn
                            .execute("DELETE FROM pin_failures WHERE scope = ?1", [own.key()])?;
                        series.failures
                    }
                    None => 0,
                };
                return Ok(PinCheck::Accepted {
                    staff,
                    wrong_before,
                });
            }
        }
        self.record_wrong_pin(&gate, attempt.purpose, now)
    }

    fn staff_exists(&self, id: &str, role: Option<StaffRole>) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM staff WHERE active = 1 AND id = ?1 AND (?2 IS NULL OR role = ?2)",
                params![id, role.map(StaffRole::name)],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Why a PIN for `scope` is not tried now, if it is not. A lockout whose staff records
    /// changed since is lifted here (head office re-sent them).
    fn pin_gate(&mut self, scope: &PinScope, now: DateTime<Utc>) -> Result<Option<PinCheck>> {
        let Some(series) = series(&self.conn, scope)? else {
            return Ok(None);
        };
        if series.locked {
            if staff_version(&self.conn, scope)? != series.staff_version {
                self.lift_lockout(scope, "head_office")?;
                return Ok(None);
            }
            return Ok(Some(PinCheck::Locked(scope.clone())));
        }
        if now - series.last_at > PIN_SERIES_QUIET {
            return Ok(None);
        }
        // Never longer than the delay itself, should the clock have been set back.
        let delay = pin_delay(series.failures);
        let wait = (series.last_at + delay - now).min(delay);
        if wait > Duration::zero() {
            // Rounded up: waiting what is said is always enough.
            let seconds = (wait.num_milliseconds() + 999) / 1000;
            return Ok(Some(PinCheck::Wait { seconds }));
        }
        Ok(None)
    }

    /// Counts a wrong PIN for `scope`, journaling its series when it starts and when it locks,
    /// in one transaction.
    fn record_wrong_pin(
        &mut self,
        scope: &PinScope,
        purpose: PinPurpose,
        now: DateTime<Utc>,
    ) -> Result<PinCheck> {
        self.write(SYSTEM_OPERATOR, |tx, author| {
            let current = series(tx, scope)?.filter(|s| now - s.last_at <= PIN_SERIES_QUIET);
            let failures = current.as_ref().map_or(0, |s| s.failures) + 1;
            let now_text = timestamp::format(&now);
            let first_at = current.map_or_else(|| now_text.clone(), |s| s.first_at);
            let locked = failures >= PIN_LOCKOUT_AT;
            let version = if locked {
                staff_version(tx, scope)?
            } else {
                None
            };
            tx.execute(
                "INSERT INTO pin_failures (scope, failures, first_at, last_at, locked_at, staff_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (scope) DO UPDATE SET failures = excluded.failures,
                   first_at = excluded.first_at, last_at = excluded.last_at,
                   locked_at = excluded.locked_at, staff_version = excluded.staff_version",
                params![
                    scope.key(),
                    failures,
                    first_at,
                    now_text,
                    locked.then_some(&now_text),
                    version
                ],
            )?;
            if failures == 1 || locked {
                let detail = json!({
                    "scope": scope.key(),
                    "via": purpose,
                    "attempts": failures,
                    "first_at": first_at,
                    "locked": locked,
                });
                append_event(tx, author, EventKind::LoginFailed, detail)?;
            }
            Ok(PinCheck::Wrong { failures, locked })
        })
    }

    fn lift_lockout(&mut self, scope: &PinScope, by: &str) -> Result<()> {
        self.write(SYSTEM_OPERATOR, |tx, author| {
            tx.execute("DELETE FROM pin_failures WHERE scope = ?1", [scope.key()])?;
            let detail = json!({"scope": scope.key(), "by": by});
            append_event(tx, author, EventKind::LoginUnlocked, detail)?;
            Ok(())
        })
    }

    /// The PIN lockouts standing at this till.
    pub fn pin_lockouts(&self) -> Result<Vec<PinScope>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT scope FROM pin_failures WHERE locked_at IS NOT NULL ORDER BY scope",
        )?;
        let keys = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(keys.iter().map(|k| PinScope::from_key(k)).collect())
    }

    /// Lifts the PIN lockouts of `staff_id` (every lockout of this till when `None`), as the
    /// manager `manager_id` decided; each lifting is journaled. Returns the scopes lifted.
    pub fn unlock_pins(
        &mut self,
        manager_id: &str,
        staff_id: Option<&str>,
    ) -> Result<Vec<PinScope>> {
        let lifted: Vec<PinScope> = self
            .pin_lockouts()?
            .into_iter()
            .filter(|scope| match (staff_id, scope) {
                (None, _) => true,
                (Some(id), PinScope::Staff(locked)) => id == locked,
                (Some(_), PinScope::Till) => false,
            })
            .collect();
        for scope in &lifted {
            self.lift_lockout(scope, manager_id)?;
        }
        Ok(lifted)
    }
}
