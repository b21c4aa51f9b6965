// The head-office dashboard's first screen, measured in a real browser (playwright-core with
// Debian's Chromium) against a real sync server: from the navigation to the dashboard until its
// KPI cards show today's figures with last week's and last year's, the completeness banner has
// the fleet's answer, and the page answers a click (interactive). The database is one the
// dashboard benchmark seeded and kept (600 shops in 12 regions, 1,200 tills, a year of
// rollups):
//
//   BENCH_KEEP_DB=1 BENCH_ROUNDS=1 cargo bench -p sync-server --bench dashboard   # prints the kept databases
//   node ui/head-office/scripts/first-screen.mjs --db postgres://.../bench_xxx [--rounds 20]
//
// It gives the benchmark's admin `ada` a password, serves the database with the built app
// (`npm run build` in ui/head-office first), logs in once, then loads the dashboard `rounds`
// times (each a full page load with the session cookie) and prints p50, p99 and max in ms.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const db = arg('db');
const rounds = Number(arg('rounds', '20'));
if (!db) {
  console.error('give --db URL: a database the dashboard benchmark kept (BENCH_KEEP_DB=1)');
  process.exit(2);
}
const server = process.env.SYNC_SERVER_BIN ?? join(repo, 'target', 'debug', 'sync-server');
const chromiumPath = process.env.CHROMIUM ?? '/usr/lib/chromium/chromium';
for (const file of [server, chromiumPath, join(repo, 'ui/head-office/dist/index.html')]) {
  if (!existsSync(file)) {
    console.error(`${file} is missing: build the server and the app (npm run build in ui/head-office)`);
    process.exit(2);
  }
}

const PASSWORD = 'first-screen-bench-1';
execFileSync(server, ['--db', db, 'admin', 'user', 'password', '--id', 'ada'], { input: `${PASSWORD}\n` });

const port = await new Promise((done) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => done(free));
  });
});
const child = spawn(server, ['--db', db, 'serve', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
const url = `http://127.0.0.1:${port}/`;
for (let i = 0; ; i++) {
  try {
    await fetch(url);
    break;
  } catch {
    if (i > 300) throw new Error('the sync server did not listen within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 }, locale: 'fr-FR' });
  await page.goto(url);
  await page.getByLabel(/Identifiant|User name/).fill('ada');
  await page.getByLabel(/Mot de passe|Password/).fill(PASSWORD);
  await page.getByRole('button', { name: /Se connecter|Log in/ }).click();
  await page.getByTestId('kpi-net-value').waitFor({ timeout: 30_000 });

  const took = [];
  for (let round = 0; round <= rounds; round++) {
    const started = performance.now();
    await page.goto(`${url}#/dashboard`, { waitUntil: 'commit' });
    await page.getByTestId('kpi-net-value').waitFor();
    await page.getByTestId('completeness').waitFor();
    await page.getByTestId('tenders').waitFor();
    // Interactive: the page runs a task queued now (a click's handler would run as soon).
    await page.evaluate(() => new Promise((done) => setTimeout(done, 0)));
    if (round > 0) took.push(performance.now() - started); // round 0 warms the caches
  }
  took.sort((a, b) => a - b);
  const at = (q) => took[Math.min(took.length - 1, Math.ceil(q * took.length) - 1)];
  console.log(
    `dashboard first screen rendered and interactive (${took.length} loads, ${db.split(':')[0]}): ` +
      `p50 ${at(0.5).toFixed(0)} ms, p99 ${at(0.99).toFixed(0)} ms, max ${took.at(-1).toFixed(0)} ms`,
  );
} finally {
  await browser.close();
  child.kill('SIGTERM');
}
