//! The cash office at the till: who may do what with the cash, the blind count enforced by
//! the API, pay-outs above the shop's limit, cashier shifts and their X reports, and the day
//! closure the app asks for.
//!
//! The rules, written once here and called by every command that touches them:
//! - the stock role never handles cash ([`Service::require_cash_role`]);
//! - a cashier never reads the expected cash before their blind count of the day is recorded
//!   ([`Service::may_see_expected_cash`]): not in the X report, not in a shift report, not in
//!   the printed text;
//! - a pay-out above the limit head office set (50.00 by default) needs a manager
//!   ([`Service::check_payout`]);
//! - a cashier reads their own shifts and reports only; a manager reads anyone's.

use pos_domain::Money;

use crate::api::*;
use crate::error::{ApiError, ApiResult};
use crate::service::{Service, lock};
use crate::views::{self, money, number};

impl Service {
    /// Refuses the stock role: counting, moving or reporting cash is a cashier's or a
    /// manager's job.
    pub(crate) fn require_cash_role(&self) -> ApiResult<StaffMember> {
        let staff = self.current()?;
        if staff.role == Role::Stock {
            return Err(ApiError::invalid(
                "role_forbidden",
                "the stock role does not handle cash or sales: ask a cashier or a manager",
            ));
        }
        Ok(staff)
    }

    /// Whether `staff` may read the expected cash now: a manager always; a cashier once their
    /// blind count closing a shift is recorded since the last Z.
    pub(crate) fn may_see_expected_cash(&self, staff: &StaffMember) -> ApiResult<bool> {
        Ok(staff.role == Role::Manager || lock(&self.till).counted_since_last_z(&staff.id)?)
    }

    /// A pay-out above the shop's limit needs a manager (the approval is used up and
    /// journaled as a manager override).
    pub(crate) fn check_payout(&self, amount: Money, approval: Option<&str>) -> ApiResult<()> {
        let mut till = lock(&self.till);
        let limit = till.cash_office_rules()?.payout_limit;
        if amount <= limit {
            return Ok(());
        }
        let approvals: Vec<String> = approval.iter().map(|a| a.to_string()).collect();
        self.require_approval(
            &mut till,
            ApprovalAction::PayOutAboveLimit,
            &format!("a pay-out above {limit} EUR"),
            &approvals,
        )?;
        Ok(())
    }

    /// The staff member whose reports are asked for: `asked`, or the logged-in one. A cashier
    /// may only ask for their own.
    fn report_subject(&self, staff: &StaffMember, asked: Option<&str>) -> ApiResult<String> {
        let asked = asked.map(str::trim).filter(|id| !id.is_empty());
        match asked {
            Some(id) if id != staff.id && staff.role != Role::Manager => Err(ApiError::invalid(
                "manager_only",
                "another cashier's report is a manager's: ask a manager to log in",
            )),
            Some(id) => Ok(id.to_string()),
            None => Ok(staff.id.clone()),
        }
    }

    pub fn closure_due(&self, _: Empty) -> ApiResult<ClosureDueView> {
        self.current()?;
        let due = lock(&self.till).closure_due()?;
        Ok(ClosureDueView {
            open_days: due.open_days,
            reason: due.reason.map(|r| match r {
                pos_till::requests::ClosureDueReason::DayChanged => ClosureDueReason::DayChanged,
                pos_till::requests::ClosureDueReason::PastClosingHour => {
                    ClosureDueReason::PastClosingHour
                }
            }),
        })
    }

    pub fn cash_office_rules(&self, _: Empty) -> ApiResult<CashOfficeRulesView> {
        self.current()?;
        let rules = lock(&self.till).cash_office_rules()?;
        Ok(CashOfficeRulesView {
            payout_limit: rules.payout_limit.to_string(),
            closing_hour: rules.closing_hour,
        })
    }

    pub fn open_shift(&self, request: OpenShiftRequest) -> ApiResult<ShiftView> {
        let staff = self.require_cash_role()?;
        let float = money("float", &request.float)?;
        let shift = lock(&self.till).open_shift(&staff.id, float)?;
        self.shift_view(&staff, shift, false)
    }

    pub fn close_shift(&self, request: CloseShiftRequest) -> ApiResult<ShiftView> {
        let staff = self.require_cash_role()?;
        let counted = money("counted", &request.counted)?;
        let report = lock(&self.till).close_shift(&staff.id, counted)?;
        self.request_sync();
        // The count is recorded: its expected cash and difference may be read now.
        self.shift_view(&staff, report.shift, request.print)
    }

    pub fn shift_report(&self, request: ShiftReportRequest) -> ApiResult<ShiftView> {
        let staff = self.require_cash_role()?;
        let shift = match request.shift {
            Some(shift) => u64::from(shift),
            None => {
                let cashier = self.report_subject(&staff, request.cashier.as_deref())?;
                lock(&self.till)
                    .last_shift_report(&cashier)?
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "no_shift",
                            format!("{cashier} has no shift yet: open one with its float"),
                        )
                    })?
                    .shift
            }
        };
        self.shift_view(&staff, shift, request.print)
    }

    pub fn cashier_report(&self, request: CashierReportRequest) -> ApiResult<CashierReportView> {
        let staff = self.require_cash_role()?;
        let cashier = self.report_subject(&staff, request.cashier.as_deref())?;
        let totals = lock(&self.till).cashier_totals(&cashier)?;
        Ok(CashierReportView {
            cashier,
            totals: views::totals(&totals),
        })
    }

    /// Shift `shift` as `staff` may read it: their own (or any, for a manager), the expected
    /// cash only once they may see it.
    fn shift_view(&self, staff: &StaffMember, shift: u64, print: bool) -> ApiResult<ShiftView> {
        let till = lock(&self.till);
        let report = till.shift_report(shift)?;
        if report.cashier != staff.id && staff.role != Role::Manager {
            return Err(ApiError::invalid(
                "manager_only",
                "another cashier's shift is a manager's: ask a manager to log in",
            ));
        }
        let identity = till.identity().clone();
        drop(till);
        let show_expected = self.may_see_expected_cash(staff)?;
        let text = pos_till::receipt::render_shift(&identity, &report, show_expected);
        let printed = print.then(|| self.print_text(&text));
        Ok(ShiftView {
            shift: number(report.shift),
            cashier: report.cashier,
            opened_at: report.opened_at,
            closed_at: report.closed_at,
            float: report.float.to_string(),
            totals: views::totals(&report.totals),
            expected_cash: show_expected.then(|| report.expected_cash.to_string()),
            counted: report.counted.map(|m| m.to_string()),
            difference: report.difference.map(|m| m.to_string()),
            text,
            printed,
        })
    }
}
