/**
 * The engine's loopback HTTP transport: `POST {base}/api/{command}` with a JSON body and the
 * engine's launch secret, which the page it served carries in `<meta name="till-secret">`
 * (another site's page cannot read it, so it cannot drive the till).
 */
import type { CommandName } from './generated/api';
import { BackendError, ENGINE_TIMEOUT, UNREACHABLE, toBackendError, type Backend, type Request, type Response } from './backend';

/** The header the launch secret travels in. */
export const SECRET_HEADER = 'x-till-secret';

/** The launch secret of the page the engine served (empty elsewhere: the dev server's proxy adds it). */
export function launchSecret(doc: Document | undefined = globalThis.document): string {
  return doc?.querySelector('meta[name="till-secret"]')?.getAttribute('content') ?? '';
}

export class HttpBackend implements Backend {
  readonly transport = 'http' as const;

  /**
   * `baseUrl` is empty for the same origin (the engine serves the built UI), or an origin.
   * `timeoutMs` bounds the wait for one answer, so a stuck engine never freezes the screen.
   * `secret` is the engine's launch secret, sent with every command.
   */
  constructor(
    private readonly baseUrl = '',
    private readonly timeoutMs = 45_000,
    private readonly secret = '',
  ) {}

  async call<C extends CommandName>(command: C, request: Request<C>): Promise<Response<C>> {
    let response: globalThis.Response;
    try {
      response = await fetch(`${this.baseUrl.replace(/\/$/, '')}/api/${command}`, {
        method: 'POST',
        headers: this.secret ? { 'content-type': 'application/json', [SECRET_HEADER]: this.secret } : { 'content-type': 'application/json' },
        body: JSON.stringify(request ?? {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === 'TimeoutError') {
        throw new BackendError({
          code: ENGINE_TIMEOUT,
          message: `Le moteur de caisse n'a pas répondu à « ${command} » en ${Math.round(this.timeoutMs / 1000)} s. Ce qui était demandé a pu être fait : vérifiez (dernier ticket, F3) avant de recommencer.`,
        });
      }
      throw new BackendError({
        code: UNREACHABLE,
        message: `Le moteur de caisse ne répond pas (${String(e)}). Vérifiez qu'il tourne, puis réessayez.`,
      });
    }
    const text = await response.text();
    let body: unknown = null;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        throw new BackendError({ code: 'bad_response', message: `HTTP ${response.status}: ${text.slice(0, 200)}` });
      }
    }
    if (!response.ok) {
      const error = toBackendError(body ?? '');
      if (error.code !== 'unexpected') throw error;
      // No error body: a proxy or gateway answered in the engine's place.
      throw new BackendError({
        code: response.status >= 502 && response.status <= 504 ? UNREACHABLE : 'bad_response',
        message: `Le moteur de caisse a répondu HTTP ${response.status}. Vérifiez qu'il tourne, puis réessayez.`,
      });
    }
    return body as Response<C>;
  }
}
