/**
 * The head-office API, as the browser calls it: same origin, the session in its HttpOnly
 * cookie (the page never sees the token), and the `x-pos-hq` header on every request so a
 * state-changing one passes the server's cross-site check (see sync-server/src/web_session.rs).
 * An error answer is `{code, message}`: it becomes an `ApiError` carrying both, so screens
 * branch on the code, never on the text.
 */
import type {
  Alarm,
  SalesAnswer,
  SalesDimension,
  TicketDetail,
  TicketPage,
  TillStatus,
  WebOrder,
  WebSession,
} from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const API = '/api/v1';

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'x-pos-hq': '1' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${API}${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below
  }
  if (!response.ok) {
    const error = (json ?? {}) as { code?: string; message?: string };
    throw new ApiError(response.status, error.code ?? 'http', error.message ?? `HTTP ${response.status}`);
  }
  return json as T;
}

export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const login = (user: string, password: string) =>
  call<WebSession>('POST', '/web/session', { user, password });
export const currentSession = () => call<WebSession>('GET', '/web/session');
export const logout = () => call<void>('DELETE', '/web/session');

export interface SalesParams {
  by: SalesDimension;
  from?: string;
  to?: string;
  shop?: string;
  region?: string;
  compare?: 'previous';
}
export const sales = (params: SalesParams) => call<SalesAnswer>('GET', `/hq/sales${query({ ...params })}`);

export const dayTickets = (shop: string, day: string, after?: string) =>
  call<TicketPage>('GET', `/hq/tickets${query({ shop, day, after, limit: 500 })}`);
export const ticket = (tillId: string, number: number) =>
  call<TicketDetail>('GET', `/hq/tickets/${encodeURIComponent(tillId)}/${number}`);

/** Every till of the user's scope, page after page. */
export async function fleet(): Promise<TillStatus[]> {
  const all: TillStatus[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await call<TillStatus[]>('GET', `/hq/fleet${query({ after, limit: 5000 })}`);
    all.push(...page);
    if (page.length < 5000) return all;
    after = page[page.length - 1]?.till_id;
  }
}

/** Every alarm of the user's scope, oldest first. */
export async function alarms(): Promise<Alarm[]> {
  const all: Alarm[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await call<Alarm[]>('GET', `/hq/alarms${query({ after, limit: 5000 })}`);
    all.push(...page);
    if (page.length < 5000) return all;
    after = page[page.length - 1]?.id;
  }
}

/** Every web order of the user's scope, newest first. */
export async function webOrders(): Promise<WebOrder[]> {
  const all: WebOrder[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await call<WebOrder[]>('GET', `/hq/web-orders${query({ after, limit: 5000 })}`);
    all.push(...page);
    if (page.length < 5000) return all;
    after = page[page.length - 1]?.id;
  }
}

/** The live stream: `onChange(shop)` each time a till of the user's scope uploads new records. */
export function live(onChange: (shop: string) => void, onState: (open: boolean) => void): () => void {
  const source = new EventSource(`${API}/hq/live`);
  source.addEventListener('ready', () => onState(true));
  source.addEventListener('error', () => onState(false));
  source.addEventListener('sales', (event) => {
    try {
      onChange((JSON.parse((event as MessageEvent<string>).data) as { shop: string }).shop);
    } catch {
      onChange('*');
    }
  });
  return () => source.close();
}
