/**
 * The app's shared state: the backend, who is logged in, which screen is shown, the status
 * bar, the error banner and the manager approval dialog. Screens read and change it; every
 * engine call goes through `run`, which turns a refusal into a banner that says what to do.
 */
import { BackendError, HttpBackend, chooseBackend, type Backend, type Request, type Response } from './api';
import type { ApprovalAction, CommandName, Session, StatusBar, TillInfo } from './api/generated/api';
import { engineMessage } from './errors';

export type Screen = 'sale' | 'payment' | 'receipt' | 'returns' | 'tickets' | 'cash' | 'collect' | 'closures' | 'settings' | 'giftcard' | 'anywhere' | 'stock';

interface ApprovalPrompt {
  action: ApprovalAction;
  message: string;
  resolve: (approvalId: string | null) => void;
}

export const app = $state<{
  backend: Backend;
  session: Session | null;
  screen: Screen;
  status: StatusBar | null;
  info: TillInfo | null;
  error: { code: string; message: string } | null;
  notice: string | null;
  busy: number;
  approval: ApprovalPrompt | null;
}>({
  // Outside a browser (unit tests) there is no page to choose from: plain HTTP.
  backend: typeof window === 'undefined' ? new HttpBackend() : chooseBackend(),
  session: null,
  screen: 'sale',
  status: null,
  info: null,
  error: null,
  notice: null,
  busy: 0,
  approval: null,
});

export function isManager(): boolean {
  return app.session?.staff.role === 'manager';
}

/** Stock work (deliveries, transfers, counts) is a manager's or the stock role's. */
export function mayDoStock(): boolean {
  const role = app.session?.staff.role;
  return role === 'manager' || role === 'stock';
}

/** Calls the engine; an error is shown in the banner and rethrown for the caller to stop. */
export async function call<C extends CommandName>(command: C, request: Request<C>): Promise<Response<C>> {
  app.busy++;
  try {
    const response = await app.backend.call(command, request);
    return response;
  } catch (e) {
    const error = e instanceof BackendError ? e : new BackendError({ code: 'unexpected', message: String(e) });
    if (error.code !== 'approval_required') app.error = { code: error.code, message: engineMessage(error.code, error.message) };
    if (error.code === 'not_logged_in') app.session = null;
    throw error;
  } finally {
    app.busy--;
  }
}

/** Like `call`, but answers `null` on error (already shown in the banner). */
export async function attempt<C extends CommandName>(command: C, request: Request<C>): Promise<Response<C> | null> {
  try {
    return await call(command, request);
  } catch {
    return null;
  }
}

/** Opens the manager dialog; resolves with the approval id, or null when dismissed. */
export function askApproval(action: ApprovalAction, message: string): Promise<string | null> {
  return new Promise((resolve) => {
    app.approval = { action, message, resolve };
  });
}

/**
 * Runs `send(approvals)`; while the engine answers `approval_required`, asks a manager and
 * sends again with the approval ids collected so far. Null when the manager dialog is dismissed
 * or the engine refused for another reason (shown in the banner).
 */
export async function withApprovals<T>(send: (approvals: string[]) => Promise<T>, approvals: string[] = []): Promise<T | null> {
  for (;;) {
    try {
      return await send(approvals);
    } catch (e) {
      if (!(e instanceof BackendError) || e.code !== 'approval_required' || !e.approval) return null;
      const id = await askApproval(e.approval, e.message);
      if (!id) return null;
      approvals = [...approvals, id];
    }
  }
}

/** The same login, read the same: staff, role and since (a role changed by head office shows). */
function sameSession(a: Session | null, b: Session | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function refreshStatus(): Promise<void> {
  try {
    app.status = await app.backend.call('status', {});
    // The same session polled again keeps its object: what runs once per login (the card
    // payments left unresolved, the closure prompt) must not run again at every poll, over a
    // payment the payment screen is resolving.
    if (!sameSession(app.session, app.status.session)) app.session = app.status.session;
  } catch {
    app.status = null;
  }
}

export function go(screen: Screen): void {
  if (screen === 'settings' && !isManager()) {
    app.error = { code: 'manager_only', message: '' };
    return;
  }
  if (screen === 'stock' && !mayDoStock()) {
    app.error = { code: 'role_forbidden', message: 'stock work is for a manager or the stock role: ask one of them' };
    return;
  }
  app.error = null;
  app.screen = screen;
}
