// Benchmark of the real cashier window (run by scripts/bench-window.sh, not a test): cold start
// to the login screen and to an interactive sale screen, then scan-to-cart-updated latency
// against the ledger given in BENCH_LEDGER (a large catalog), and the idle memory.
//
// A scan is a keyboard-wedge burst: keydown events for each character and Enter, dispatched in
// the page, so the time measured is the app's own path (scanner detection, the engine's barcode
// lookup and quote through the Tauri command, rendering) without WebDriver round trips. It ends
// when the cart shows the new line and the new amount due. The cart is cleared (Alt+X) every 20
// scans, as a cashier would start a new sale.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { remote } from 'webdriverio';
import { appProcesses, pssMiB } from './processes.mjs';

const app = process.env.CASHIER_APP;
const ledger = process.env.BENCH_LEDGER;
const codesFile = process.env.BENCH_CODES;
const scans = Number(process.env.BENCH_SCANS ?? 500);
assert.ok(app && ledger && codesFile, 'CASHIER_APP, BENCH_LEDGER and BENCH_CODES are set by scripts/bench-window.sh');

const codes = readFileSync(codesFile, 'utf8').split('\n').filter(Boolean);
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

const started = performance.now();
const browser = await remote({
  hostname: '127.0.0.1',
  port: 4444,
  logLevel: 'warn',
  connectionRetryTimeout: 120_000,
  capabilities: {
    'wdio:enforceWebDriverClassic': true,
    'tauri:options': { application: app, args: ['--db', ledger, '--printer', 'none', '--terminal', 'none'] },
  },
});
try {
  await browser.$('[data-testid="login-pin"]').waitForDisplayed({ timeout: 60_000 });
  const toLogin = performance.now() - started;
  await browser.$('[data-testid="login-pin"]').click();
  await browser.keys(['1', '2', '3', '4', 'Enter']);
  await browser.$('[data-testid="sale-screen"]').waitForDisplayed({ timeout: 10_000 });
  const toSale = performance.now() - started;
  await browser.setTimeout({ script: 120_000 });

  const latencies = [];
  for (let i = 0; i < scans; i += 20) {
    const batch = codes.slice(i % codes.length, (i % codes.length) + Math.min(20, scans - i));
    const times = await browser.execute(async (batchCodes) => {
      // Dispatched on the page itself, as a scanner's keys reach it when no field has the
      // focus (synthetic keys would not type into a field anyway).
      const key = (k, extra = {}) =>
        document.body.dispatchEvent(
          new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...extra }),
        );
      if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
      const state = () => {
        const due = document.querySelector('[data-testid="amount-due"]');
        return `${document.querySelectorAll('[data-testid="cart-line"]').length}|${due ? due.textContent : ''}`;
      };
      const changed = (before) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the cart did not change after a scan (${before})`)), 10_000);
          const observer = new MutationObserver(() => {
            const now = state();
            // Both the new line and the engine's new amount due are on screen.
            if (now.split('|')[0] !== before.split('|')[0] && now.split('|')[1] !== before.split('|')[1]) {
              clearTimeout(timer);
              observer.disconnect();
              resolve();
            }
          });
          observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        });
      const out = [];
      for (const code of batchCodes) {
        const before = state();
        const t0 = performance.now();
        const done = changed(before);
        for (const c of code) key(c);
        key('Enter');
        await done;
        out.push(performance.now() - t0);
      }
      key('x', { altKey: true });
      await new Promise((r) => setTimeout(r, 50));
      return out;
    }, batch);
    latencies.push(...times);
  }
  latencies.sort((a, b) => a - b);
  await new Promise((r) => setTimeout(r, 3000));
  const memory = {};
  for (const p of appProcesses()) memory[p.comm] = (memory[p.comm] ?? 0) + pssMiB(p.pid);
  const total = Object.values(memory).reduce((a, b) => a + b, 0);
  console.log('| measure | result |\n|---|---|');
  console.log(`| cold start to the login screen | ${toLogin.toFixed(0)} ms |`);
  console.log(`| cold start to an interactive sale screen (login by PIN included) | ${toSale.toFixed(0)} ms |`);
  console.log(
    `| scan to cart updated, ${latencies.length} scans, p50 / p99 / max | ${quantile(latencies, 0.5).toFixed(1)} / ${quantile(latencies, 0.99).toFixed(1)} / ${latencies.at(-1).toFixed(1)} ms |`,
  );
  console.log(
    `| idle memory (PSS) after the scans | ${Object.entries(memory)
      .map(([k, v]) => `${k} ${v.toFixed(0)} MiB`)
      .join(', ')}; total ${total.toFixed(0)} MiB |`,
  );
} finally {
  await browser.deleteSession();
}
