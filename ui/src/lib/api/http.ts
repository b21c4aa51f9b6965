/** The engine's loopback HTTP transport: `POST {base}/api/{command}` with a JSON body. */
import type { CommandName } from './generated/api';
import { BackendError, UNREACHABLE, toBackendError, type Backend, type Request, type Response } from './backend';

export class HttpBackend implements Backend {
  readonly transport = 'http' as const;

  /** `baseUrl` is empty for the same origin (the engine serves the built UI), or an origin. */
  constructor(private readonly baseUrl = '') {}

  async call<C extends CommandName>(command: C, request: Request<C>): Promise<Response<C>> {
    let response: globalThis.Response;
    try {
      response = await fetch(`${this.baseUrl.replace(/\/$/, '')}/api/${command}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request ?? {}),
      });
    } catch (e) {
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
