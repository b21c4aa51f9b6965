//! The real clock and the operating system's randomness: the only place the engine touches
//! either, so everything else can be driven by injected values in tests.

use chrono::{DateTime, Utc};
use pos_domain::clock::Clock;

use crate::error::{Result, TillError};

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// 32 bytes from the operating system's random source, for a new signing key.
pub fn random_secret() -> Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        TillError::invalid("randomness_unavailable", format!("no random source: {e}"))
    })?;
    Ok(bytes)
}

/// 16 bytes from the operating system's random source, for a PIN hash's salt.
pub fn random_salt() -> Result<[u8; 16]> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        TillError::invalid("randomness_unavailable", format!("no random source: {e}"))
    })?;
    Ok(bytes)
}

/// 16 bytes from the operating system's random source, for an id made at the till (a
/// customer's).
pub fn random_id() -> Result<[u8; 16]> {
    random_salt()
}
