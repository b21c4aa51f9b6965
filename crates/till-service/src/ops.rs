//! The till's back-office side at the counter: cash movements, the X report and closures,
//! device settings and tests, identity and the status bar.

use crate::api::*;
use crate::devices::{self, Devices};
use crate::error::{ApiError, ApiResult};
use crate::service::{Service, lock};
use crate::views::{self, money, number};

impl Service {
    // --- Cash ---------------------------------------------------------------------------------

    pub fn cash_movement(&self, request: CashMovementRequest) -> ApiResult<CashMovementView> {
        let staff = self.require_cash_role()?;
        let amount = money("amount", &request.amount)?;
        if request.kind == CashMovementKind::PayOut {
            self.check_payout(amount, request.approval.as_deref())?;
        }
        let movement = lock(&self.till).cash_movement(
            &staff.id,
            views::cash_kind(request.kind),
            amount,
            request.reason.clone().filter(|r| !r.trim().is_empty()),
        )?;
        // Money goes in or out of the drawer: open it (a count is done with it open already).
        let drawer = (request.kind != CashMovementKind::Count)
            .then(|| devices::open_drawer(lock(&self.devices).printer.as_ref()));
        Ok(CashMovementView {
            kind: request.kind,
            amount: movement.amount.to_string(),
            expected: movement.expected.map(|m| m.to_string()),
            difference: movement.difference.map(|m| m.to_string()),
            reason: movement.reason,
            drawer,
        })
    }

    // --- Reports and closures -----------------------------------------------------------------

    pub(crate) fn print_text(&self, text: &str) -> DeviceResult {
        let printer = lock(&self.devices).printer.clone();
        match devices::receipt_bytes(text, None, false) {
            Ok(bytes) => devices::print(printer.as_ref(), &bytes),
            Err(e) => DeviceResult {
                ok: false,
                message: e.message,
            },
        }
    }

    /// The till's X report. A cashier gets it without the expected cash until their blind
    /// count is recorded (see [`crate::cash_office`]).
    pub fn report_x(&self, request: PrintOption) -> ApiResult<XReportView> {
        let staff = self.require_cash_role()?;
        let show_expected = self.may_see_expected_cash(&staff)?;
        let till = lock(&self.till);
        let report = till.report_x()?;
        let text = pos_till::receipt::render_x_report(till.identity(), &report, show_expected);
        drop(till);
        let printed = request.print.then(|| self.print_text(&text));
        Ok(XReportView {
            at: report.at,
            totals: views::totals(&report.totals),
            expected_cash: show_expected.then(|| report.expected_cash.to_string()),
            text,
            printed,
        })
    }

    pub fn close(&self, request: CloseRequest) -> ApiResult<ClosureView> {
        let staff = self.current()?;
        if staff.role != Role::Manager && request.level != ClosureLevel::Day {
            return Err(ApiError::invalid(
                "manager_only",
                "month and year closures are a manager's: ask a manager to log in",
            ));
        }
        let mut till = lock(&self.till);
        let mut closures = till.close_all(&staff.id, views::closure_level(request.level))?;
        let texts: Vec<String> = closures
            .iter()
            .map(|c| pos_till::receipt::render_closure(till.identity(), c))
            .collect();
        drop(till);
        self.request_sync();
        let closure = closures
            .pop()
            .ok_or_else(|| ApiError::failure("closure_missing", "the closure recorded nothing"))?;
        // Closed late, each open day got its own Z first: print them all, oldest first.
        let text = texts.join("\n");
        let printed = request.print.then(|| self.print_text(&text));
        Ok(ClosureView {
            number: number(closure.number),
            level: views::closure_level_view(closure.closure.level),
            period: closure.closure.period.clone(),
            at: closure.at.clone(),
            totals: views::totals(&closure.closure.totals),
            also_closed: closures.iter().map(|c| c.closure.period.clone()).collect(),
            text,
            printed,
        })
    }

    // --- Devices ------------------------------------------------------------------------------

    pub fn devices(&self, _: Empty) -> ApiResult<DevicesView> {
        let devices = lock(&self.devices).clone();
        Ok(self.devices_view(&devices))
    }

    fn devices_view(&self, devices: &Devices) -> DevicesView {
        let terminal = match &devices.terminal {
            Some(t) => {
                let busy = lock(&self.payments)
                    .unresolved()
                    .first()
                    .map(|p| p.message.clone());
                DeviceView {
                    uri: t.uri.to_string(),
                    ready: busy.is_none(),
                    message: busy.unwrap_or_else(|| "set up".into()),
                }
            }
            None => DeviceView {
                uri: "none".into(),
                ready: false,
                message: "no payment terminal is set up".into(),
            },
        };
        DevicesView {
            printer: devices::printer_view(devices.printer.as_ref()),
            terminal,
            display: self.display_view(),
            scanner: self.scanner_view(),
        }
    }

    pub fn set_devices(&self, request: DevicesSettings) -> ApiResult<DevicesView> {
        let staff = self.current()?;
        if staff.role != Role::Manager {
            return Err(ApiError::invalid(
                "manager_only",
                "device settings are a manager's: ask a manager to log in",
            ));
        }
        let mut current = lock(&self.devices).clone();
        let timeout = current
            .terminal
            .as_ref()
            .map(|t| t.result_timeout)
            .unwrap_or(devices::DEFAULT_RESULT_TIMEOUT);
        let given = Devices::from_uris(
            request.printer.as_deref(),
            request.terminal.as_deref(),
            timeout,
        )?;
        // Saved before use: the till comes back with these devices after a restart.
        {
            let mut till = lock(&self.till);
            for (device, uri) in [
                ("printer", &request.printer),
                ("terminal", &request.terminal),
            ] {
                if let Some(uri) = uri {
                    till.set_device_setting(&staff.id, device, uri)?;
                }
            }
        }
        if request.printer.is_some() {
            current.printer = given.printer;
        }
        if request.terminal.is_some() {
            current.terminal = given.terminal;
        }
        if let Some(display) = &request.display {
            self.set_display(&staff.id, Some(display))?;
        }
        if let Some(scanner) = &request.scanner {
            self.set_scanner(&staff.id, Some(scanner))?;
        }
        *lock(&self.devices) = current.clone();
        Ok(self.devices_view(&current))
    }

    pub fn test_print(&self, _: Empty) -> ApiResult<DeviceResult> {
        self.current()?;
        let shop = lock(&self.till).identity().shop_name.clone();
        let bytes = devices::test_page(&shop)?;
        Ok(devices::print(
            lock(&self.devices).printer.clone().as_ref(),
            &bytes,
        ))
    }

    pub fn open_drawer(&self, request: DrawerRequest) -> ApiResult<DeviceResult> {
        let staff = self.current()?;
        let approvals: Vec<String> = request.approval.iter().cloned().collect();
        let approved_by = self.require_approval(
            &mut lock(&self.till),
            ApprovalAction::DrawerOpenWithoutSale,
            "opening the drawer without a sale",
            &approvals,
        )?;
        let result = devices::open_drawer(lock(&self.devices).printer.clone().as_ref());
        lock(&self.till).log_event(
            &staff.id,
            pos_domain::journal::EventKind::DrawerOpenedWithoutSale,
            serde_json::json!({"opened": result.ok, "approved_by": approved_by}),
        )?;
        Ok(result)
    }

    // --- Identity, status ----------------------------------------------------------------------

    pub fn till_info(&self, _: Empty) -> ApiResult<TillInfo> {
        let till = lock(&self.till);
        let identity = till.identity();
        Ok(TillInfo {
            shop_name: identity.shop_name.clone(),
            till_name: identity.till_name.clone(),
            till_id: identity.till_id.clone(),
            shop_address: identity.shop_address.clone(),
            siret: identity.siret.clone(),
            vat_number: identity.vat_number.clone(),
            software: pos_till::engine::SOFTWARE.into(),
            discount_limit_percent: self.options.discount_limit_percent.to_string(),
        })
    }

    pub fn status(&self, _: Empty) -> ApiResult<StatusBar> {
        let session = self.session(Empty {})?.session;
        let parked = lock(&self.till).parked_carts()?.len() as u64;
        Ok(StatusBar {
            session,
            sync: self.sync_status(Empty {})?,
            devices: self.devices(Empty {})?,
            parked_carts: number(parked),
        })
    }
}
