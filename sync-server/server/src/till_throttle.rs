//! How often a till may ask head office about customer money (instrument lookups and holds):
//! at most [`TillLookupPolicy::per_minute`] per till in each minute, counted in the process.
//! Instrument numbers are unguessable already; the bound keeps a stolen till token from
//! turning lookups into an oracle, while a busy till (a few lookups a sale) never meets it.
//! Memory is one counter per till that asked this minute: tills are enrolled, so the count is
//! bounded by the fleet.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::api::Failure;

/// The code of a refused lookup.
pub const RATE_LIMITED: &str = "rate_limited";

/// The bound of [`TillLookups`].
#[derive(Clone, Debug)]
pub struct TillLookupPolicy {
    pub per_minute: u32,
}

impl Default for TillLookupPolicy {
    fn default() -> Self {
        TillLookupPolicy { per_minute: 60 }
    }
}

/// The counts of the current minute, per till.
#[derive(Debug, Default)]
pub struct TillLookups {
    policy: TillLookupPolicy,
    window: Mutex<(Option<Instant>, HashMap<String, u32>)>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl TillLookups {
    pub fn new(policy: TillLookupPolicy) -> TillLookups {
        TillLookups {
            policy,
            window: Mutex::default(),
        }
    }

    /// Counts one question of `till_id`; refused (429 `rate_limited`) past the bound.
    pub fn admit(&self, till_id: &str) -> Result<(), Failure> {
        let now = Instant::now();
        let mut guard = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let (started, counts) = &mut *guard;
        let start = match started {
            Some(at) if now.duration_since(*at) < WINDOW => *at,
            _ => {
                counts.clear();
                *started = Some(now);
                now
            }
        };
        let count = counts.entry(till_id.to_string()).or_default();
        if *count >= self.policy.per_minute {
            let wait = WINDOW.saturating_sub(now.duration_since(start)).as_secs() + 1;
            return Err(Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                RATE_LIMITED,
                format!(
                    "this till asked about credit notes and gift cards {} times this minute: \
                     wait {wait} s, or take the payment offline within the caps",
                    self.policy.per_minute
                ),
            ));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_till_past_its_bound_is_refused_and_others_are_not() {
        let lookups = TillLookups::new(TillLookupPolicy { per_minute: 3 });
        for _ in 0..3 {
            lookups.admit("T-1").unwrap();
        }
        let refused = lookups.admit("T-1").unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.code, RATE_LIMITED);
        assert!(lookups.admit("T-2").is_ok(), "the bound is per till");
    }
}
