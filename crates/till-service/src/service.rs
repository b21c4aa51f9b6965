//! [`Service`]: the till as the cashier app sees it. One value holds the engine ([`Till`]), the
//! logged-in staff member, pending manager approvals, card payments in flight and the devices.
//! Each command is a method taking its request type; [`Service::call`] dispatches by name.
//!
//! Locks: the engine first, then the payment book; device I/O never holds the engine.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Duration;
use pos_domain::clock::Clock;
use pos_till::Till;
use pos_till::staff::{
    PIN_LOCKOUT_AT, PinAttempt, PinCheck, PinPurpose, PinScope, Staff, StaffRole,
};
use pos_till::sync_loop::SyncLoop;
use rust_decimal::Decimal;
use serde_json::json;

use crate::api::*;
use crate::devices::Devices;
use crate::error::{ApiError, ApiResult};
use crate::payments::PaymentBook;
use crate::receipt_proof::ReceiptKey;
use crate::sync::LastPass;

/// How long a manager's approval stays usable.
const APPROVAL_LIFETIME: Duration = Duration::minutes(5);

/// How the service is set up.
#[derive(Clone, Debug)]
pub struct ServiceOptions {
    /// Discounts above this percentage of the gross need a manager.
    pub discount_limit_percent: Decimal,
    /// Where card payment intents are journaled (default: next to the ledger).
    pub intents_dir: Option<PathBuf>,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            discount_limit_percent: Decimal::from(20),
            intents_dir: None,
        }
    }
}

struct PendingApproval {
    action: ApprovalAction,
    manager: StaffMember,
    expires: chrono::DateTime<chrono::Utc>,
}

/// The application service behind both transports.
pub struct Service {
    pub(crate) till: Mutex<Till>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) options: ServiceOptions,
    session: Mutex<Option<Session>>,
    approvals: Mutex<HashMap<String, PendingApproval>>,
    pub(crate) payments: Arc<Mutex<PaymentBook>>,
    pub(crate) devices: Mutex<Devices>,
    /// The background sync loop, once started.
    pub(crate) sync_loop: Mutex<Option<Arc<SyncLoop>>>,
    /// The last "sync now" pass, when no loop runs.
    pub(crate) last_pass: Mutex<LastPass>,
    /// Tickets found by scanning their receipt's QR code in this session: their returns need
    /// no "refund without receipt" approval.
    pub(crate) found_by_receipt: Mutex<HashSet<u64>>,
    /// Web orders found by scanning their pickup QR code in this session (a web order's proof
    /// of purchase, as a scanned receipt is a ticket's).
    pub(crate) found_by_pickup_code: Mutex<HashSet<String>>,
    /// Signs the proof of purchase printed on original receipts only.
    pub(crate) receipt_key: ReceiptKey,
    /// The customer display, when one is set up (see [`crate::display`]).
    pub(crate) display: Mutex<Option<crate::display::CustomerDisplay>>,
    /// The serial scanner, when one is set up (see [`crate::scanner`]).
    pub(crate) scanner: Mutex<Option<Arc<crate::scanner::SerialScanner>>>,
    db_path: PathBuf,
}

/// Locks a mutex, carrying on with the data if a panicking thread poisoned it: every write is
/// a committed transaction, so nothing half-done can be behind the lock.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn member(staff: &Staff) -> StaffMember {
    StaffMember {
        id: staff.id.clone(),
        name: staff.name.clone(),
        role: match staff.role {
            StaffRole::Cashier => Role::Cashier,
            StaffRole::Manager => Role::Manager,
            StaffRole::Stock => Role::Stock,
        },
    }
}

impl Service {
    /// Opens the till's ledger at `db` and sets the devices up.
    pub fn open(
        db: &Path,
        clock: Arc<dyn Clock>,
        devices: Devices,
        options: ServiceOptions,
    ) -> ApiResult<Service> {
        let mut till = Till::open(db, clock.clone())?;
        till.start_up()?;
        let intents = options
            .intents_dir
            .clone()
            .unwrap_or_else(|| intents_dir_for(db));
        let payments = PaymentBook::open(&intents, &till)?;
        let receipt_key = ReceiptKey::open(db)?;
        // The display and scanner a manager saved; one that cannot be set up again is left out, never
        // keeping the till from starting.
        let mut saved = till.device_settings()?;
        let display = saved
            .remove("display")
            .filter(|uri| uri != "none")
            .and_then(|uri| crate::display::CustomerDisplay::from_uri(&uri).ok());
        let scanner = saved
            .remove("scanner")
            .filter(|uri| uri != "none")
            .and_then(|uri| crate::scanner::SerialScanner::start(&uri).ok())
            .map(Arc::new);
        Ok(Service {
            till: Mutex::new(till),
            clock,
            options,
            session: Mutex::new(None),
            approvals: Mutex::new(HashMap::new()),
            payments: Arc::new(Mutex::new(payments)),
            devices: Mutex::new(devices),
            sync_loop: Mutex::new(None),
            last_pass: Mutex::new(LastPass::default()),
            found_by_receipt: Mutex::new(HashSet::new()),
            found_by_pickup_code: Mutex::new(HashSet::new()),
            receipt_key,
            display: Mutex::new(display),
            scanner: Mutex::new(scanner),
            db_path: db.to_path_buf(),
        })
    }

    /// The printer and terminal URIs a manager saved in the settings of the ledger at `db`
    /// (`None` for a device never set, or a ledger not created yet): what the app uses when it
    /// is started without device arguments.
    pub fn saved_device_uris(
        db: &Path,
        clock: Arc<dyn Clock>,
    ) -> ApiResult<(Option<String>, Option<String>)> {
        if !db.exists() {
            return Ok((None, None));
        }
        let mut saved = Till::open(db, clock)?.device_settings()?;
        Ok((saved.remove("printer"), saved.remove("terminal")))
    }

    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// The logged-in staff member, or `not_logged_in`.
    pub(crate) fn current(&self) -> ApiResult<StaffMember> {
        lock(&self.session)
            .as_ref()
            .map(|s| s.staff.clone())
            .ok_or_else(ApiError::not_logged_in)
    }

    /// Checks that the logged-in staff member may do `action`: a manager may; a cashier needs
    /// one of `approvals` granted for it (which is used up). Answers the deciding manager's id.
    /// The approval is recorded in `till`'s event journal (the caller holds the engine).
    pub(crate) fn require_approval(
        &self,
        till: &mut Till,
        action: ApprovalAction,
        what: &str,
        approvals: &[String],
    ) -> ApiResult<String> {
        let staff = self.current()?;
        if staff.role == Role::Manager {
            // A manager doing it themselves is an override too: journaled alike.
            log_override(till, &staff.id, action, &staff.id)?;
            return Ok(staff.id);
        }
        let now = self.clock.now();
        let mut pending = lock(&self.approvals);
        pending.retain(|_, a| a.expires > now);
        let granted = approvals
            .iter()
            .find(|id| pending.get(*id).is_some_and(|a| a.action == action));
        match granted {
            Some(id) => {
                let approval = pending.remove(id);
                drop(pending);
                let Some(approval) = approval else {
                    return Err(ApiError::approval_required(action, what));
                };
                log_override(till, &approval.manager.id, action, &staff.id)?;
                Ok(approval.manager.id)
            }
            None => Err(ApiError::approval_required(action, what)),
        }
    }

    /// Whether the logged-in staff member could do `action` with these approvals (nothing is
    /// used up).
    pub(crate) fn has_approval(&self, action: ApprovalAction, approvals: &[String]) -> bool {
        let Ok(staff) = self.current() else {
            return false;
        };
        if staff.role == Role::Manager {
            return true;
        }
        let now = self.clock.now();
        let pending = lock(&self.approvals);
        approvals.iter().any(|id| {
            pending
                .get(id)
                .is_some_and(|a| a.action == action && a.expires > now)
        })
    }

    // --- Session and approvals ----------------------------------------------------------------

    pub fn staff_list(&self, _: Empty) -> ApiResult<Vec<StaffMember>> {
        Ok(lock(&self.till).staff()?.iter().map(member).collect())
    }

    /// The staff member whose PIN this is, within the limits on guessing; every refusal says
    /// what to do.
    fn staff_by_typed_pin(
        &self,
        till: &mut Till,
        pin: &str,
        staff_id: Option<&str>,
        purpose: PinPurpose,
    ) -> ApiResult<(Staff, u32)> {
        let staff_id = staff_id.map(str::trim).filter(|id| !id.is_empty());
        let check = till.check_pin(&PinAttempt {
            pin: pin.trim(),
            staff_id,
            purpose,
        })?;
        match check {
            PinCheck::Accepted {
                staff,
                wrong_before,
            } => Ok((staff, wrong_before)),
            PinCheck::Wrong { locked: true, .. } => Err(pin_locked(till, staff_id)),
            PinCheck::Wrong { failures, .. } => {
                let (code, mut message) = match purpose {
                    PinPurpose::Login => (
                        "pin_wrong",
                        "this PIN is not known here: type it again".to_string(),
                    ),
                    PinPurpose::Approval => (
                        "approval_refused",
                        "this is not a manager's PIN: ask a manager to type theirs".to_string(),
                    ),
                };
                if failures >= 3 {
                    message.push_str(&format!(
                        " ({failures} wrong PINs: the {PIN_LOCKOUT_AT}th locks PIN entry until a manager unlocks it)"
                    ));
                }
                Err(ApiError::invalid(code, message))
            }
            PinCheck::Wait { seconds } => Err(ApiError::invalid(
                "pin_wait",
                format!("too many wrong PINs: wait {seconds} s, then type the PIN again"),
            )),
            PinCheck::Locked(PinScope::Till) => Err(pin_locked(till, None)),
            PinCheck::Locked(PinScope::Staff(id)) => Err(pin_locked(till, Some(&id))),
        }
    }

    pub fn login(&self, request: LoginRequest) -> ApiResult<Session> {
        let mut till = lock(&self.till);
        let (staff, wrong_before) = self.staff_by_typed_pin(
            &mut till,
            &request.pin,
            request.staff_id.as_deref(),
            PinPurpose::Login,
        )?;
        let mut detail = json!({"name": staff.name});
        if wrong_before > 0 {
            detail["after_wrong_pins"] = json!(wrong_before);
        }
        till.log_event(&staff.id, pos_domain::journal::EventKind::Login, detail)?;
        let session = Session {
            staff: member(&staff),
            since: pos_domain::record::timestamp::format(&self.clock.now()),
        };
        drop(till);
        let previous = lock(&self.session).replace(session.clone());
        if previous.is_some() {
            lock(&self.approvals).clear();
        }
        Ok(session)
    }

    pub fn unlock_pins(&self, request: UnlockPinsRequest) -> ApiResult<UnlockedPins> {
        let mut till = lock(&self.till);
        let approvals: Vec<String> = request.approval.iter().cloned().collect();
        let manager = self.require_approval(
            &mut till,
            ApprovalAction::UnlockPins,
            "lifting a PIN lockout",
            &approvals,
        )?;
        let staff_id = request.staff_id.as_deref().map(str::trim);
        let lifted = till.unlock_pins(&manager, staff_id.filter(|id| !id.is_empty()))?;
        Ok(UnlockedPins {
            lifted: lifted.iter().map(PinScope::key).collect(),
        })
    }

    pub fn logout(&self, _: Empty) -> ApiResult<Empty> {
        self.show_idle();
        let previous = lock(&self.session).take();
        lock(&self.approvals).clear();
        lock(&self.found_by_receipt).clear();
        lock(&self.found_by_pickup_code).clear();
        if let Some(session) = previous {
            lock(&self.till).log_event(
                &session.staff.id,
                pos_domain::journal::EventKind::Logout,
                json!({}),
            )?;
        }
        Ok(Empty {})
    }

    pub fn session(&self, _: Empty) -> ApiResult<CurrentSession> {
        Ok(CurrentSession {
            session: lock(&self.session).clone(),
        })
    }

    pub fn approve(&self, request: ApprovalRequest) -> ApiResult<Approval> {
        self.current()?;
        let (manager, _) = self.staff_by_typed_pin(
            &mut lock(&self.till),
            &request.pin,
            request.staff_id.as_deref(),
            PinPurpose::Approval,
        )?;
        let mut bytes = [0u8; 12];
        getrandom::fill(&mut bytes)
            .map_err(|e| ApiError::failure("randomness_unavailable", e.to_string()))?;
        let approval_id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let manager = member(&manager);
        lock(&self.approvals).insert(
            approval_id.clone(),
            PendingApproval {
                action: request.action,
                manager: manager.clone(),
                expires: self.clock.now() + APPROVAL_LIFETIME,
            },
        );
        Ok(Approval {
            approval_id,
            action: request.action,
            manager,
        })
    }
}

/// Journals a manager override: `manager` allowed `action` for `for_staff`.
fn log_override(
    till: &mut Till,
    manager: &str,
    action: ApprovalAction,
    for_staff: &str,
) -> ApiResult<()> {
    till.log_event(
        manager,
        pos_domain::journal::EventKind::ManagerOverride,
        json!({"action": action, "manager": manager, "for": for_staff}),
    )?;
    Ok(())
}

/// The refusal of a PIN while its entry is locked out, saying who can lift it.
fn pin_locked(till: &Till, staff_id: Option<&str>) -> ApiError {
    let message = match staff_id {
        Some(id) => {
            let name = till
                .staff_member(id)
                .ok()
                .flatten()
                .map_or_else(|| id.to_string(), |s| s.name);
            format!(
                "too many wrong PINs for {name}: PIN entry is locked until a manager unlocks it (Unlock PINs) or head office re-sends the staff"
            )
        }
        None => "too many wrong PINs at this till: choose your name before typing your PIN; a manager unlocks the till (Unlock PINs), or head office by re-sending the staff".to_string(),
    };
    ApiError::invalid("pin_locked", message)
}

/// The intent journal's directory for a ledger file: `till.db` -> `till.db.intents/`.
pub fn intents_dir_for(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".intents");
    db.with_file_name(name)
}
