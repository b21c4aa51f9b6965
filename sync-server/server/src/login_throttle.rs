//! Head-office login throttling: how many passwords are checked at once, and how often a user
//! name or a client address may fail.
//!
//! - **Bounded hashing.** Argon2id takes 19 MiB per check. Checks run on at most
//!   [`LoginPolicy::hashing_permits`] buffers allocated once and reused, so a burst of logins
//!   costs that much memory and no more; an attempt that finds none free within
//!   [`LoginPolicy::queue_wait`] is answered 503 with `Retry-After`.
//! - **Failure series.** Failures are counted per user name (known or not, so a lockout says
//!   nothing of which names exist) and per client address. Past the free failures
//!   ([`LoginPolicy::free_failures_per_user`], [`LoginPolicy::free_failures_per_address`]),
//!   each failure locks the name or address for [`LoginPolicy::first_lockout`], doubled for
//!   each further failure, up to [`LoginPolicy::longest_lockout`]. While locked, every attempt,
//!   the right password included, is answered 429 with `Retry-After` without checking the
//!   password. A success ends the user name's series (not the address's: one valid account
//!   must not reset the guessing of another). A series is forgotten
//!   [`LoginPolicy::forget_after`] its last failure once its lockout is over.
//! - **Bounded memory.** At most [`LoginPolicy::tracked`] names and as many addresses are
//!   remembered (user names are cut to [`KEY_BYTES`]); when full, forgotten series go first,
//!   then the one whose last failure is oldest.
//!
//! The counts live in the process: with several server processes behind a load balancer each
//! counts on its own, so an attacker gets at most that many times the attempts, still bounded
//! and still growing the lockout. Behind a reverse proxy every attempt comes from the proxy's
//! address, so the per-address series counts everyone's failures together; its free failures
//! are higher than a user's for that reason.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::secrets;

/// Bytes of a user name kept as the key of its failure series.
pub const KEY_BYTES: usize = 128;

/// The limits of [`LoginThrottle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Passwords checked at once (each holds 19 MiB while it runs).
    pub hashing_permits: usize,
    /// How long an attempt waits for a free check before a 503.
    pub queue_wait: Duration,
    /// Failures of one user name before it is locked.
    pub free_failures_per_user: u32,
    /// Failures from one address before it is locked.
    pub free_failures_per_address: u32,
    /// The first lockout; each further failure doubles it.
    pub first_lockout: Duration,
    pub longest_lockout: Duration,
    /// A series with no failure for this long (and no lockout running) is forgotten.
    pub forget_after: Duration,
    /// User names, and addresses, remembered at most.
    pub tracked: usize,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        LoginPolicy {
            hashing_permits: cores.clamp(2, 4),
            queue_wait: Duration::from_secs(5),
            free_failures_per_user: 5,
            free_failures_per_address: 20,
            first_lockout: Duration::from_secs(30),
            longest_lockout: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(60 * 60),
            tracked: 10_000,
        }
    }
}

/// Why an attempt was not checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The user name or the address is locked for this long.
    Locked(Duration),
    /// Every check is busy; retry after this long.
    Busy(Duration),
}

/// Login throttling shared by the handlers of one server process (see the module docs).
pub struct LoginThrottle {
    policy: LoginPolicy,
    hashing: Semaphore,
    /// One Argon2 buffer per permit: a permit holder always finds one.
    buffers: Mutex<Vec<Vec<argon2::Block>>>,
    users: Mutex<Series<String>>,
    addresses: Mutex<Series<IpAddr>>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(LoginPolicy::default())
    }
}

impl LoginThrottle {
    pub fn new(policy: LoginPolicy) -> LoginThrottle {
        let permits = policy.hashing_permits.max(1);
        LoginThrottle {
            hashing: Semaphore::new(permits),
            buffers: Mutex::new((0..permits).map(|_| Vec::new()).collect()),
            users: Mutex::new(Series::new(policy.free_failures_per_user)),
            addresses: Mutex::new(Series::new(policy.free_failures_per_address)),
            policy,
        }
    }

    pub fn policy(&self) -> &LoginPolicy {
        &self.policy
    }

    /// Whether an attempt for `user` from `address` may go on now.
    pub fn admit(&self, user: &str, address: Option<IpAddr>) -> Result<(), Refusal> {
        self.admit_at(user, address, Instant::now())
    }

    fn admit_at(&self, user: &str, address: Option<IpAddr>, now: Instant) -> Result<(), Refusal> {
        let by_user = lock(&self.users).locked_for(&user_key(user), now);
        let by_address = address.and_then(|a| lock(&self.addresses).locked_for(&a, now));
        match by_user.max(by_address) {
            Some(wait) => Err(Refusal::Locked(wait)),
            None => Ok(()),
        }
    }

    /// Checks `password` against the `stored` PHC hash within the limits, and counts the
    /// outcome: true only for the right password of a hash that exists.
    pub async fn verify(
        &self,
        user: &str,
        address: Option<IpAddr>,
        password: String,
        stored: String,
    ) -> Result<bool, Refusal> {
        let permit = tokio::time::timeout(self.policy.queue_wait, self.hashing.acquire())
            .await
            .map_err(|_| Refusal::Busy(Duration::from_secs(1)))?
            .map_err(|_| Refusal::Busy(Duration::from_secs(1)))?;
        // Failures recorded while this attempt waited may have locked it out.
        self.admit(user, address)?;
        let mut memory = lock(&self.buffers).pop().unwrap_or_default();
        let (matches, memory) = tokio::task::spawn_blocking(move || {
            let matches = secrets::verify_password_in(&password, &stored, &mut memory);
            (matches, memory)
        })
        .await
        .unwrap_or_else(|_| (false, Vec::new()));
        lock(&self.buffers).push(memory);
        drop(permit);
        if matches {
            lock(&self.users).forget(&user_key(user));
        } else {
            self.failed_at(user, address, Instant::now());
        }
        Ok(matches)
    }

    /// Counts a failure of `user` from `address`, and logs it (never the password).
    fn failed_at(&self, user: &str, address: Option<IpAddr>, now: Instant) {
        let policy = &self.policy;
        let user_series = lock(&self.users).fail(user_key(user), now, policy);
        let address_series = address.map(|a| lock(&self.addresses).fail(a, now, policy));
        let locked_for = user_series
            .locked_until
            .max(address_series.and_then(|s| s.locked_until))
            .map(|until| until.saturating_duration_since(now).as_secs());
        tracing::warn!(
            user = ?user_key(user),
            address = ?address,
            user_failures = user_series.failures,
            address_failures = address_series.map(|s| s.failures),
            locked_seconds = locked_for,
            "head-office login failed"
        );
    }
}

/// The address a client's failures count against: an IPv4 address (IPv4-mapped IPv6
/// included) as is, an IPv6 address by its /64, which one subscriber usually holds whole.
pub fn counted_address(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The data is counters and spare buffers: still sound after a panic elsewhere.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A user name cut to [`KEY_BYTES`] (on a character boundary), so a huge name costs no more.
fn user_key(user: &str) -> String {
    let mut end = user.len().min(KEY_BYTES);
    while !user.is_char_boundary(end) {
        end -= 1;
    }
    user[..end].to_string()
}

/// The failures of one user name or address.
#[derive(Clone, Copy, Debug)]
struct Failures {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

impl Failures {
    /// When this series may be forgotten.
    fn forgotten_at(&self, policy: &LoginPolicy) -> Instant {
        let quiet = self.last_failure + policy.forget_after;
        self.locked_until.map_or(quiet, |until| until.max(quiet))
    }
}

/// Failure series by key, at most [`LoginPolicy::tracked`] of them.
struct Series<K> {
    free_failures: u32,
    by_key: HashMap<K, Failures>,
}

impl<K: Hash + Eq + Clone> Series<K> {
    fn new(free_failures: u32) -> Self {
        Series {
            free_failures,
            by_key: HashMap::new(),
        }
    }

    fn locked_for(&self, key: &K, now: Instant) -> Option<Duration> {
        let until = self.by_key.get(key)?.locked_until?;
        (until > now).then(|| until - now)
    }

    fn forget(&mut self, key: &K) {
        self.by_key.remove(key);
    }

    fn fail(&mut self, key: K, now: Instant, policy: &LoginPolicy) -> Failures {
        if !self.by_key.contains_key(&key) {
            self.make_room(now, policy);
        }
        let series = self.by_key.entry(key).or_insert(Failures {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        if series.forgotten_at(policy) <= now {
            series.failures = 0;
            series.locked_until = None;
        }
        series.failures = series.failures.saturating_add(1);
        series.last_failure = now;
        if let Some(beyond) = series.failures.checked_sub(self.free_failures) {
            let lockout = policy
                .first_lockout
                .saturating_mul(1 << beyond.min(16))
                .min(policy.longest_lockout);
            series.locked_until = Some(now + lockout);
        }
        *series
    }

    /// Keeps the map under its bound before a new key goes in.
    fn make_room(&mut self, now: Instant, policy: &LoginPolicy) {
        if self.by_key.len() < policy.tracked.max(1) {
            return;
        }
        self.by_key.retain(|_, s| s.forgotten_at(policy) > now);
        while self.by_key.len() >= policy.tracked.max(1) {
            let oldest = self
                .by_key
                .iter()
                .min_by_key(|(_, s)| s.last_failure)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(key) => self.by_key.remove(&key),
                None => break,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            free_failures_per_user: 3,
            free_failures_per_address: 5,
            first_lockout: Duration::from_secs(10),
            longest_lockout: Duration::from_secs(60),
            forget_after: Duration::from_secs(100),
            tracked: 4,
            ..LoginPolicy::default()
        }
    }

    #[test]
    fn lockouts_start_after_the_free_failures_and_double_up_to_the_longest() {
        let throttle = LoginThrottle::new(policy());
        let start = Instant::now();
        for i in 0..3 {
            assert_eq!(
                throttle.admit_at("ada", None, start),
                Ok(()),
                "free failure {i}"
            );
            throttle.failed_at("ada", None, start);
        }
        assert_eq!(
            throttle.admit_at("ada", None, start),
            Err(Refusal::Locked(Duration::from_secs(10))),
            "the third failure locks the name for the first lockout"
        );
        assert_eq!(
            throttle.admit_at("bob", None, start),
            Ok(()),
            "another name is free"
        );
        let later = start + Duration::from_secs(11);
        assert_eq!(
            throttle.admit_at("ada", None, later),
            Ok(()),
            "the lockout ends"
        );
        throttle.failed_at("ada", None, later);
        assert_eq!(
            throttle.admit_at("ada", None, later),
            Err(Refusal::Locked(Duration::from_secs(20))),
            "each further failure doubles it"
        );
        for _ in 0..5 {
            throttle.failed_at("ada", None, later);
        }
        assert_eq!(
            throttle.admit_at("ada", None, later),
            Err(Refusal::Locked(Duration::from_secs(60))),
            "up to the longest lockout"
        );
        let quiet = later + Duration::from_secs(200);
        throttle.failed_at("ada", None, quiet);
        assert_eq!(
            throttle.admit_at("ada", None, quiet),
            Ok(()),
            "a series quiet for `forget_after` starts again"
        );
    }

    #[test]
    fn an_address_is_locked_across_names() {
        let throttle = LoginThrottle::new(policy());
        let now = Instant::now();
        let address: IpAddr = "192.0.2.7".parse().unwrap();
        for name in ["a", "b", "c", "d", "e"] {
            throttle.failed_at(name, Some(address), now);
        }
        assert!(
            matches!(
                throttle.admit_at("f", Some(address), now),
                Err(Refusal::Locked(_))
            ),
            "five failures from one address lock it whatever the name"
        );
        assert_eq!(
            throttle.admit_at("f", Some("192.0.2.8".parse().unwrap()), now),
            Ok(()),
            "another address is free"
        );
    }

    #[tokio::test]
    async fn an_attempt_finding_every_check_busy_is_told_to_retry() {
        let throttle = LoginThrottle::new(LoginPolicy {
            hashing_permits: 1,
            queue_wait: Duration::from_millis(50),
            ..policy()
        });
        let stored = secrets::hash_password("correct horse").unwrap();
        let busy = throttle.hashing.acquire().await.unwrap();
        assert_eq!(
            throttle
                .verify("ada", None, "correct horse".into(), stored.clone())
                .await,
            Err(Refusal::Busy(Duration::from_secs(1))),
            "no password is checked beyond the permits"
        );
        drop(busy);
        assert_eq!(
            throttle
                .verify("ada", None, "correct horse".into(), stored)
                .await,
            Ok(true),
            "a free permit checks the password"
        );
        assert_eq!(lock(&throttle.buffers).len(), 1, "the buffer went back");
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64() {
        let counted = |a: &str| counted_address(a.parse().unwrap()).to_string();
        assert_eq!(counted("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(
            counted("2001:db8:1:2:bbbb::9"),
            counted("2001:db8:1:2:aaaa::1"),
            "addresses of one /64 share a series"
        );
        assert_eq!(
            counted("::ffff:192.0.2.7"),
            "192.0.2.7",
            "IPv4-mapped is IPv4"
        );
        assert_eq!(counted("192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn the_limiter_remembers_a_bounded_number_of_names() {
        let throttle = LoginThrottle::new(policy());
        let now = Instant::now();
        for i in 0..1000 {
            throttle.failed_at(&format!("name-{i}"), None, now + Duration::from_millis(i));
        }
        assert!(
            lock(&throttle.users).by_key.len() <= 4,
            "a flood of distinct names cannot grow the limiter past `tracked`"
        );
        let long = "é".repeat(10_000);
        throttle.failed_at(&long, None, now);
        assert!(
            lock(&throttle.users)
                .by_key
                .keys()
                .all(|k| k.len() <= KEY_BYTES),
            "names are cut to KEY_BYTES"
        );
    }
}
