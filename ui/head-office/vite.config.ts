import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The head-office app is served by `sync-server serve` under /hq/ (see sync-server/src/web_app.rs).
// `npm run dev` proxies the API to a running server (HQ_API_URL, default http://127.0.0.1:8080).
const apiUrl = process.env.HQ_API_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [svelte()],
  base: '/hq/',
  clearScreen: false,
  // Money formatting and the language state are imported from the cashier app (../src/lib):
  // one Svelte runtime for both, resolved from here.
  resolve: { dedupe: ['svelte'] },
  server: {
    port: 5174,
    strictPort: true,
    fs: { allow: ['..'] },
    proxy: { '/api': { target: apiUrl } },
  },
  build: {
    outDir: 'dist',
    target: 'es2022',
    emptyOutDir: true,
    // No inline script or style: the server's Content-Security-Policy forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});
