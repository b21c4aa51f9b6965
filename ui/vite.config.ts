import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The engine's loopback HTTP transport, for `npm run dev` (see README.md). Its commands need
// the launch secret, which the page the engine serves carries; the dev server's page does not,
// so the proxy adds it, read from the file `till-app-http --secret-file` wrote.
const engineUrl = process.env.TILL_API_URL ?? 'http://127.0.0.1:8787';
const secretFile = process.env.TILL_API_SECRET_FILE ?? '../out/app/http.secret';
function engineSecret(): Record<string, string> {
  try {
    return { 'x-till-secret': readFileSync(secretFile, 'utf8').trim() };
  } catch {
    return {};
  }
}

export default defineConfig({
  plugins: [svelte()],
  // Relative asset paths: the same build is served by the engine's HTTP transport and
  // loaded by the Tauri window from its own protocol.
  base: './',
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
    proxy: { '/api': { target: engineUrl, headers: engineSecret() } },
  },
  build: {
    outDir: 'dist',
    target: 'es2022',
    emptyOutDir: true,
  },
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});
