/**
 * The one door from the screens to the till engine. Two transports implement it with the
 * same semantics: the Tauri shell's commands (`TauriBackend`) and the engine's loopback HTTP
 * transport (`HttpBackend`, for the browser, development and the browser tests).
 */

import type { ApprovalAction, CommandName, Commands } from './generated/api';

/** An error as the engine reports it: a stable code to act on, a message that says what to do. */
export interface ApiErrorBody {
  code: string;
  message: string;
  /** With `approval_required`: what a manager must approve before the command is retried. */
  approval?: ApprovalAction | null;
  /** True when the input was refused, false when the till or a device failed. */
  input_error?: boolean;
}

export class BackendError extends Error {
  readonly code: string;
  readonly approval: ApprovalAction | null;
  readonly inputError: boolean;

  constructor(body: ApiErrorBody) {
    super(body.message);
    this.name = 'BackendError';
    this.code = body.code;
    this.approval = body.approval ?? null;
    this.inputError = body.input_error ?? false;
  }
}

export type Request<C extends CommandName> = Commands[C]['request'];
export type Response<C extends CommandName> = Commands[C]['response'];

/** The code the UI uses when the engine cannot be reached at all. */
export const UNREACHABLE = 'engine_unreachable';
/** The code the UI uses when the engine took the request but gave no answer in time. */
export const ENGINE_TIMEOUT = 'engine_timeout';

export interface Backend {
  /** Which transport this is, shown in the settings screen. */
  readonly transport: 'http' | 'tauri';
  /** Runs one engine command; rejects with a `BackendError`. */
  call<C extends CommandName>(command: C, request: Request<C>): Promise<Response<C>>;
}

/** Reads `{error: {code, message}}` (or a bare `{code, message}`) out of any thrown value. */
export function toBackendError(value: unknown): BackendError {
  if (value instanceof BackendError) return value;
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    const inner = (typeof v.error === 'object' && v.error !== null ? v.error : v) as Record<string, unknown>;
    if (typeof inner.code === 'string' && typeof inner.message === 'string') {
      return new BackendError({
        code: inner.code,
        message: inner.message,
        approval: (inner.approval as ApprovalAction | null | undefined) ?? null,
        input_error: inner.input_error === true,
      });
    }
  }
  if (typeof value === 'string') {
    try {
      return toBackendError(JSON.parse(value));
    } catch {
      return new BackendError({ code: 'unexpected', message: value });
    }
  }
  return new BackendError({ code: 'unexpected', message: String(value) });
}
