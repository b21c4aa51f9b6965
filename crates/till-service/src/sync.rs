//! Head office as the cashier app sees it: the background sync loop
//! ([`pos_till::sync_loop::SyncLoop`]) the app starts, its status for the status bar, "sync now"
//! from the status bar, and enrollment. A recorded ticket or web order action asks the loop for a
//! pass at once, so head office hears of it within seconds while the till is online; selling
//! never waits for it, since each pass runs on its own connection and thread.

use std::sync::Arc;
use std::time::Duration;

use pos_till::Till;
use pos_till::sync_loop::{SyncLoop, SyncLoopOptions};

use crate::api::*;
use crate::error::{ApiError, ApiResult};
use crate::service::{Service, lock};
use crate::views::number;

/// How long "sync now" waits for its pass before answering with what is known.
const SYNC_NOW_TIMEOUT: Duration = Duration::from_secs(60);

/// How the last pass went, when there is no background loop to ask.
#[derive(Clone, Debug, Default)]
pub(crate) struct LastPass {
    online: Option<bool>,
    at: Option<String>,
    error: Option<String>,
}

impl Service {
    /// Starts the background sync loop (the app and `till-app-http` do; tests may not). It
    /// runs until the service is dropped.
    pub fn start_sync_loop(&self, options: SyncLoopOptions) {
        let sync = SyncLoop::start(self.db_path().to_path_buf(), self.clock.clone(), options);
        // A loop replaced stops once nobody waits on it any more.
        lock(&self.sync_loop).replace(Arc::new(sync));
    }

    /// Asks the background loop for a pass now (something was just recorded).
    pub(crate) fn request_sync(&self) {
        if let Some(sync) = lock(&self.sync_loop).as_ref() {
            sync.sync_now();
        }
    }

    pub fn sync_status(&self, _: Empty) -> ApiResult<SyncStatus> {
        let (server, waiting) = {
            let till = lock(&self.till);
            (
                till.enrolled_server()?,
                till.waiting()? + till.customers_waiting()?,
            )
        };
        let loop_status = lock(&self.sync_loop).as_ref().map(|s| s.status());
        let last = match loop_status {
            Some(status) => LastPass {
                online: status.online,
                at: status.last_success_at,
                error: status.last_error,
            },
            None => lock(&self.last_pass).clone(),
        };
        Ok(SyncStatus {
            enrolled: server.is_some(),
            server,
            waiting: number(waiting),
            last_sync_at: last.at,
            online: last.online,
            last_error: last.error,
        })
    }

    /// One sync pass with head office, now; answers once it is over.
    pub fn sync_now(&self, _: Empty) -> ApiResult<SyncStatus> {
        self.current()?;
        if lock(&self.till).enrolled_server()?.is_none() {
            return Err(ApiError::invalid(
                "not_enrolled",
                "this till is not enrolled with head office: a manager enrolls it in the settings",
            ));
        }
        // Waiting on the loop must not hold its lock: `request_sync` and the status bar use it.
        let running = lock(&self.sync_loop).clone();
        match running {
            Some(sync) => {
                sync.pass_now(SYNC_NOW_TIMEOUT);
            }
            None => self.pass_here(),
        }
        self.sync_status(Empty {})
    }

    /// A pass on this thread, when no background loop runs.
    fn pass_here(&self) {
        let result = Till::open(self.db_path(), self.clock.clone())
            .and_then(|mut till| till.sync(|_, _, _| {}));
        let now = pos_domain::record::timestamp::format(&self.clock.now());
        let mut last = lock(&self.last_pass);
        match result {
            Ok(_) => {
                *last = LastPass {
                    online: Some(true),
                    at: Some(now),
                    error: None,
                }
            }
            Err(error) => {
                last.online = Some(false);
                last.error = Some(error.to_string());
            }
        }
    }

    /// Enrolls the till with head office (manager only), on a connection of its own, then
    /// syncs: the catalog, staff and web orders come down.
    pub fn enroll(&self, request: EnrollRequest) -> ApiResult<SyncStatus> {
        let staff = self.current()?;
        if staff.role != Role::Manager {
            return Err(ApiError::invalid(
                "manager_only",
                "enrolling the till is a manager's: ask a manager to log in",
            ));
        }
        let authority = request
            .ca_pem
            .as_deref()
            .filter(|pem| !pem.trim().is_empty());
        Till::open(self.db_path(), self.clock.clone())?.enroll_trusting(
            &request.server,
            &request.code,
            authority,
        )?;
        self.request_sync();
        self.sync_status(Empty {})
    }
}
