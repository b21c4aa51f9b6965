//! The background sync loop the cashier app runs: a [`Till::sync`] pass at a steady pace while
//! head office answers, again at once while records are left waiting, with exponential backoff
//! while it does not answer, and immediately when asked (after a sale, from the status bar).
//!
//! Each pass opens its own connection to the ledger, so selling never waits for the network,
//! and the ledger's sync lease keeps it from overlapping a `till sync` run by hand. The loop's
//! [`SyncLoopStatus`] is what the app's status bar shows. The loop journals each outage once,
//! with `offline_start` and `offline_end` events (see [`crate::offline`]). Waiting uses the monotonic clock of
//! the operating system; the timestamps in the status come from the injected [`Clock`].

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use pos_domain::clock::Clock;
use pos_domain::record::timestamp;
use serde::Serialize;

use crate::engine::Till;

/// How often the loop syncs.
#[derive(Clone, Copy, Debug)]
pub struct SyncLoopOptions {
    /// Between passes while head office answers and nothing is waiting.
    pub every: Duration,
    /// The first retry after a failed pass; each further failure doubles it...
    pub retry_min: Duration,
    /// ...up to this.
    pub retry_max: Duration,
}

impl Default for SyncLoopOptions {
    fn default() -> Self {
        SyncLoopOptions {
            every: Duration::from_secs(30),
            retry_min: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
        }
    }
}

/// What the loop knows of head office, for the status bar.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncLoopStatus {
    /// False until the till is enrolled; the loop then only checks now and then.
    pub enrolled: bool,
    /// Whether the last pass reached head office; `None` before the first pass.
    pub online: Option<bool>,
    /// Records head office does not hold yet, as of the last pass.
    pub waiting: Option<u64>,
    pub last_success_at: Option<String>,
    pub last_attempt_at: Option<String>,
    /// Why the last pass failed, for the status bar's tooltip.
    pub last_error: Option<String>,
    /// Failed passes in a row (0 while online).
    pub failures: u32,
    /// Passes run since the loop started.
    pub passes: u64,
}

struct State {
    status: SyncLoopStatus,
    /// Whether the event journal holds an outage not yet ended (read from it at the first
    /// pass), so each outage gets one `offline_start` and one `offline_end`.
    offline_recorded: Option<bool>,
    stop: bool,
    requested: bool,
    /// A pass is in progress.
    running: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the loop (a request, or stop).
    wake: Condvar,
    /// Signalled after each pass, for [`SyncLoop::pass_now`].
    passed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in a pass must not silence the status bar: the state stays usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running loop; stopping it (or dropping it) waits for a pass in progress to end.
pub struct SyncLoop {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl SyncLoop {
    /// Starts syncing the ledger at `path` on a thread of its own; the first pass runs at once.
    pub fn start(path: PathBuf, clock: Arc<dyn Clock>, options: SyncLoopOptions) -> SyncLoop {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                status: SyncLoopStatus::default(),
                offline_recorded: None,
                stop: false,
                requested: false,
                running: false,
            }),
            wake: Condvar::new(),
            passed: Condvar::new(),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("till-sync".into())
                .spawn(move || run(&shared, &path, clock, options))
                .expect("the sync thread starts")
        };
        SyncLoop {
            shared,
            thread: Some(thread),
        }
    }

    pub fn status(&self) -> SyncLoopStatus {
        self.shared.lock().status.clone()
    }

    /// Asks for a pass now (a sale was just recorded, or the cashier asked).
    pub fn sync_now(&self) {
        self.shared.lock().requested = true;
        self.shared.wake.notify_all();
    }

    /// Asks for a pass now and waits for it to end (at most `timeout`): the status after it.
    /// Used when the cashier presses "sync now" and wants to see the outcome.
    pub fn pass_now(&self, timeout: Duration) -> SyncLoopStatus {
        let mut state = self.shared.lock();
        let target = state.status.passes + 1;
        // A pass running now may have started before the request: wait for the one after.
        let target = if state.running { target + 1 } else { target };
        state.requested = true;
        self.shared.wake.notify_all();
        let (state, _) = self
            .shared
            .passed
            .wait_timeout_while(state, timeout, |s| s.status.passes < target && !s.stop)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.status.clone()
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SyncLoop {
    fn drop(&mut self) {
        self.halt();
    }
}

fn run(shared: &Shared, path: &Path, clock: Arc<dyn Clock>, options: SyncLoopOptions) {
    let spread = spread_of(path);
    loop {
        shared.lock().running = true;
        let delay = pass(shared, path, &clock, &options, spread);
        let mut state = shared.lock();
        state.running = false;
        shared.passed.notify_all();
        if !state.requested && !state.stop {
            state = shared
                .wake
                .wait_timeout_while(state, delay, |s| !s.requested && !s.stop)
                .map(|(state, _)| state)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        if state.stop {
            return;
        }
        state.requested = false;
    }
}

/// One pass; the delay before the next.
fn pass(
    shared: &Shared,
    path: &Path,
    clock: &Arc<dyn Clock>,
    options: &SyncLoopOptions,
    spread: f64,
) -> Duration {
    let mut till = match Till::open(path, clock.clone()) {
        Ok(till) => Some(till),
        Err(error) => {
            tracing::warn!(%error, "the sync loop cannot open the ledger");
            None
        }
    };
    let result = match till.as_mut() {
        Some(till) => till.sync(|_, _, _| {}),
        None => Err(crate::TillError::Corrupt(
            "the ledger cannot be opened".into(),
        )),
    };
    if let Some(till) = till.as_mut() {
        journal_outage(shared, till, &result);
    }
    let now = timestamp::format(&clock.now());
    let mut state = shared.lock();
    let status = &mut state.status;
    status.passes += 1;
    status.last_attempt_at = Some(now.clone());
    match result {
        Ok(summary) => {
            status.enrolled = true;
            status.online = Some(true);
            status.waiting = Some(summary.waiting);
            status.last_success_at = Some(now);
            status.last_error = None;
            status.failures = 0;
            if summary.waiting > 0 {
                options.retry_min
            } else {
                options.every
            }
        }
        Err(error) if error.code() == "not_enrolled" => {
            status.enrolled = false;
            status.online = None;
            options.every
        }
        // Another process (a `till sync` by hand) is syncing: not a failure of head office.
        Err(error) if error.code() == "sync_running" => options.retry_min,
        Err(error) => {
            status.online = Some(false);
            status.last_error = Some(error.to_string());
            status.failures = status.failures.saturating_add(1);
            backoff(options, status.failures, spread)
        }
    }
}

/// Records the start or the end of an outage in the event journal when this pass changed it:
/// a pass that reached head office ends an open outage; a pass that could not reach it (not
/// "not enrolled", not "another sync is running") starts one if none is open.
fn journal_outage(
    shared: &Shared,
    till: &mut Till,
    result: &crate::Result<crate::sync::SyncSummary>,
) {
    let known = shared.lock().offline_recorded;
    let recorded = match known {
        Some(recorded) => recorded,
        None => match till.offline_recorded() {
            Ok(recorded) => recorded,
            Err(error) => {
                tracing::warn!(%error, "cannot read the journal's offline state");
                return;
            }
        },
    };
    let failures = shared.lock().status.failures;
    let written = match result {
        Ok(_) if recorded => till.record_offline_end(failures).map(|()| false),
        Err(error) if !recorded && !matches!(error.code(), "not_enrolled" | "sync_running") => till
            .record_offline_start(error.code(), &error.to_string())
            .map(|()| true),
        _ => Ok(recorded),
    };
    match written {
        Ok(now) => shared.lock().offline_recorded = Some(now),
        // Not recorded: the next pass tries again.
        Err(error) => tracing::warn!(%error, "cannot journal the offline state"),
    }
}

/// `retry_min` doubled per failure in a row, up to `retry_max`, stretched by up to a quarter
/// by the till's own `spread`, so a fleet cut off at the same moment does not come back all at
/// once.
fn backoff(options: &SyncLoopOptions, failures: u32, spread: f64) -> Duration {
    let doubled = options
        .retry_min
        .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    doubled.min(options.retry_max).mul_f64(1.0 + spread / 4.0)
}

/// A fraction in `[0, 1)` that differs from till to till and stays the same for one till.
fn spread_of(path: &Path) -> f64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut hasher);
    (hasher.finish() % 1000) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_spreads_tills() {
        let options = SyncLoopOptions {
            every: Duration::from_secs(30),
            retry_min: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
        };
        assert_eq!(backoff(&options, 1, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(&options, 2, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(&options, 5, 0.0), Duration::from_secs(32));
        assert_eq!(backoff(&options, 6, 0.0), Duration::from_secs(60));
        assert_eq!(backoff(&options, 400, 0.0), Duration::from_secs(60));
        assert_eq!(backoff(&options, 6, 0.5), Duration::from_secs_f64(67.5));
        let (a, b) = (
            spread_of(Path::new("/a/till.db")),
            spread_of(Path::new("/b/till.db")),
        );
        assert!((0.0..1.0).contains(&a) && (0.0..1.0).contains(&b));
        assert_ne!(a, b, "two tills back off differently");
        assert_eq!(a, spread_of(Path::new("/a/till.db")));
    }

    #[test]
    fn pass_now_waits_for_a_pass_that_started_after_the_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.db");
        let clock: Arc<dyn Clock> = Arc::new(pos_domain::clock::ManualClock::new(
            "2026-03-02T09:00:00Z".parse().unwrap(),
        ));
        let options = crate::identity::InitOptions::new("Boutique", "Caisse 1");
        Till::init(&path, options, clock.clone(), [7; 32]).unwrap();
        let options = SyncLoopOptions {
            every: Duration::from_secs(3600),
            ..SyncLoopOptions::default()
        };
        let sync = SyncLoop::start(path, clock, options);
        let first = sync.pass_now(Duration::from_secs(30));
        assert!(first.passes >= 1, "{first:?}");
        assert!(!first.enrolled, "a till never enrolled says so: {first:?}");
        // With an hour between passes, only the request makes the second one happen.
        let second = sync.pass_now(Duration::from_secs(30));
        assert!(second.passes > first.passes, "{first:?} then {second:?}");
        sync.stop();
    }
}
