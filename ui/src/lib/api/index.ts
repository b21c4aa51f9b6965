/** Chooses the transport: Tauri's when running in its window, else HTTP. */
import type { Backend } from './backend';
import { HttpBackend, launchSecret } from './http';
import { TauriBackend, isTauri } from './tauri';

export * from './backend';
export { HttpBackend, TauriBackend };

/**
 * The HTTP base URL comes from `?api=` in the page address, then `VITE_TILL_API` at build
 * time; empty means the origin that served the page (the engine's own HTTP transport). The
 * launch secret the page carries goes to that same origin only, never to another address.
 */
export function chooseBackend(location: Location = window.location): Backend {
  if (isTauri()) return new TauriBackend();
  const fromQuery = new URLSearchParams(location.search).get('api');
  const fromBuild = import.meta.env.VITE_TILL_API as string | undefined;
  const base = fromQuery ?? fromBuild ?? '';
  const sameOrigin = base === '' || new URL(base, location.href).origin === location.origin;
  return new HttpBackend(base, undefined, sameOrigin ? launchSecret() : '');
}
