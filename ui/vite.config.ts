import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The engine's loopback HTTP transport, for `npm run dev` (see README.md).
const engineUrl = process.env.TILL_API_URL ?? 'http://127.0.0.1:8787';

export default defineConfig({
  plugins: [svelte()],
  // Relative asset paths: the same build is served by the engine's HTTP transport and
  // loaded by the Tauri window from its own protocol.
  base: './',
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
    proxy: { '/api': engineUrl },
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
