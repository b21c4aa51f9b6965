/**
 * Routing in the URL fragment (`/hq/#/sales?from=...`): the server serves one page, and every
 * screen has an address that can be bookmarked, shared and reloaded.
 */
export interface Route {
  /** The path's parts: `#/drill/shop/PARIS` -> ['drill', 'shop', 'PARIS']. */
  parts: string[];
  params: URLSearchParams;
}

function parse(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = text.split('?');
  return {
    parts: path.split('/').filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(search),
  };
}

export const router = $state<{ route: Route }>({ route: parse(globalThis.location?.hash ?? '') });

globalThis.addEventListener?.('hashchange', () => {
  router.route = parse(location.hash);
});

/** The fragment of a screen: `href('drill', 'shop', id)` -> `#/drill/shop/ID`. */
export function href(...parts: (string | number)[]): string {
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;
}

export function go(hash: string): void {
  location.hash = hash;
}
