/** Chooses the transport: Tauri's when running in its window, else HTTP. */
import type { Backend } from './backend';
import { HttpBackend, launchSecret } from './http';
import { TauriBackend, isTauri } from './tauri';

export * from './backend';
export { HttpBackend, TauriBackend };

/** Whether `url` names an engine on this machine (a link must not send PINs elsewhere). */
export function isLoopbackUrl(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    return protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
  } catch {
    return false;
  }
}

/**
 * The HTTP base URL comes from `?api=` in the page address (an engine on this machine only),
 * then `VITE_TILL_API` at build time; empty means the origin that served the page (the
 * engine's own HTTP transport, whose page may talk to nothing else). The launch secret the
 * page carries goes to that same origin only, never to another address.
 */
export function chooseBackend(location: Location = window.location): Backend {
  if (isTauri()) return new TauriBackend();
  const asked = new URLSearchParams(location.search).get('api');
  const fromQuery = asked !== null && isLoopbackUrl(asked) ? asked : null;
  const fromBuild = import.meta.env.VITE_TILL_API as string | undefined;
  const base = fromQuery ?? fromBuild ?? '';
  const sameOrigin = base === '' || new URL(base, location.href).origin === location.origin;
  return new HttpBackend(base, undefined, sameOrigin ? launchSecret() : '');
}
