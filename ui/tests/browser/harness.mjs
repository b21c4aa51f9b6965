// The real stack for the browser tests: a fresh till ledger (`till init`, the demo catalog,
// `till staff add`), the engine's loopback HTTP transport (`till-app-http`) serving ui/dist with
// the drivers' printer and payment-terminal simulators in its process, and Debian's Chromium
// driven by playwright-core. Nothing is mocked: every click goes through the engine to SQLite
// and the simulated devices.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const uiDir = resolve(here, '../..');
export const repoDir = resolve(uiDir, '..');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(repoDir, process.env.CARGO_TARGET_DIR) : join(repoDir, 'target');
/** An engine binary: `$TILL_APP_HTTP` / `$TILL_BIN` when set, else the cargo target directory. */
export const bin = (name) => {
  const override = { 'till-app-http': process.env.TILL_APP_HTTP, till: process.env.TILL_BIN }[name];
  const path = override ? resolve(override) : join(targetDir, 'debug', name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: build it with \`cargo build -p pos-till -p pos-till-service --bins\` (ui/scripts/test.sh does)`);
  }
  return path;
};

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/lib/chromium/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Staff the tests log in with (created in the ledger before the engine starts). */
export const CASHIER = { id: 'alice', name: 'Alice Martin', role: 'cashier', pin: '1234' };
export const MANAGER = { id: 'bruno', name: 'Bruno Petit', role: 'manager', pin: '9876' };

function addStaff(till, db) {
  for (const s of [CASHIER, MANAGER]) {
    execFileSync(till, ['--db', db, 'staff', 'add', '--id', s.id, '--name', s.name, '--role', s.role, '--pin', s.pin]);
  }
}

/** Starts `command`, resolves with the first line it prints on stdout (where it listens). */
function startPrinting(command, args, label, env = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout });
  return new Promise((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} printed nothing within 30 s: ${stderr}`)), 30_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolveLine({ child, first: line.trim(), stderr: () => stderr });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code}) before it was ready: ${stderr}`));
    });
  });
}

/** The demo catalog as rows: id, barcodes, label, category, price, serial. */
export function demoCatalog(dir) {
  const file = join(dir, 'catalog.csv');
  execFileSync(bin('till'), ['catalog', 'demo', '--out', file]);
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const names = header.split(',');
  return {
    file,
    products: rows.map((row) => {
      // The demo catalog quotes labels holding commas ("iPad 10,9"" ...").
      const cells = [...row.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) => m[1].replace(/^"|"$/g, '').replace(/""/g, '"'));
      return Object.fromEntries(names.map((n, i) => [n, cells[i]]));
    }),
  };
}

/**
 * The whole stack. `terminal` is the terminal simulator's behaviour (default `amount-rule`:
 * approve, except amounts ending in 13 cents); `terminalTimeout` the seconds the engine waits
 * for a card result before the outcome is unknown.
 */
export async function startStack({ terminal = 'amount-rule', terminalTimeout = 30 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'till-ui-'));
  const db = join(dir, 'till.db');
  const receipts = join(dir, 'receipts');
  const children = [];
  try {
    const till = bin('till');
    execFileSync(till, ['--db', db, 'init', '--shop', 'Boutique Test', '--till', 'Caisse 1']);
    const catalog = demoCatalog(dir);
    execFileSync(till, ['--db', db, 'catalog', 'import', catalog.file]);
    addStaff(till, db);

    // The engine's loopback HTTP transport serving ui/dist, with the printer and terminal
    // simulators in its process; its first stdout line says where everything is.
    const engine = await startPrinting(
      bin('till-app-http'),
      [
        '--db', db,
        '--listen', '127.0.0.1:0',
        '--ui', join(uiDir, 'dist'),
        '--printer', `sim:${receipts}`,
        '--terminal', `sim:${terminal}`,
        '--terminal-timeout', String(terminalTimeout),
      ],
      'till-app-http',
      { RUST_LOG: 'warn' },
    );
    children.push(engine.child);
    const ready = JSON.parse(engine.first);
    engine.url = ready.url;

    return {
      dir,
      db,
      receipts,
      url: engine.url,
      catalog: catalog.products,
      product: (id) => {
        const p = catalog.products.find((x) => x.id === id);
        if (!p) throw new Error(`no product ${id} in the demo catalog`);
        return { ...p, barcode: p.barcodes.split(/[| ]/)[0] };
      },
      /** Calls the engine directly (to read state the test checks against). */
      api: async (command, request = {}) => {
        const response = await fetch(`${engine.url}/api/${command}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(request),
        });
        const body = await response.json();
        if (!response.ok) throw new Error(`${command}: ${JSON.stringify(body)}`);
        return body;
      },
      /** The receipts the printer simulator wrote, oldest first, as text. */
      printed: () =>
        existsSync(receipts)
          ? readdirSync(receipts)
              .filter((f) => /^receipt-\d+\.txt$/.test(f))
              .sort()
              .map((f) => readFileSync(join(receipts, f), 'utf8'))
          : [],
      stop: async () => {
        for (const c of children.reverse()) await stopChild(c);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    for (const c of children.reverse()) await stopChild(c);
    throw e;
  }
}

function stopChild(child) {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
    setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, 5000).unref();
  });
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Waits until `predicate()` is truthy (polling), or fails with `what`. */
export async function eventually(predicate, what, timeoutMs = 15_000) {
  const start = Date.now();
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
