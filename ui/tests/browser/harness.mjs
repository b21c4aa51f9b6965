// The real stack for the browser tests: a fresh till ledger (`till init`, the demo catalog,
// `till staff add`), the engine's loopback HTTP transport (`till-app-http`) serving ui/dist with
// the drivers' printer and payment-terminal simulators in its process, and Debian's Chromium
// driven by playwright-core. Nothing is mocked: every click goes through the engine to SQLite
// and the simulated devices.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { CASHIER, MANAGER, bin, demoCatalog, enrolledTill, uiDir } from './stack.mjs';

export { CASHIER, MANAGER, bin, demoCatalog, eventually, repoDir, startHeadOffice, uiDir } from './stack.mjs';

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

/**
 * The whole stack. `terminal` is the terminal simulator's behaviour (default `amount-rule`:
 * approve, except amounts ending in 13 cents); `terminalTimeout` the seconds the engine waits
 * for a card result before the outcome is unknown. With `headOffice` (from `startHeadOffice`),
 * the till is enrolled with it and its first sync brings the catalog, the staff and the web
 * orders down; the engine then syncs in the background every `syncEvery` seconds.
 */
export async function startStack({ terminal = 'amount-rule', terminalTimeout = 30, headOffice = null, syncEvery = 30, display = false, scanner = null } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'till-ui-'));
  const db = join(dir, 'till.db');
  const receipts = join(dir, 'receipts');
  const children = [];
  try {
    const till = bin('till');
    const catalog = demoCatalog(dir);
    if (headOffice) {
      enrolledTill(headOffice, db);
    } else {
      execFileSync(till, ['--db', db, 'init', '--shop', 'Boutique Test', '--till', 'Caisse 1']);
      execFileSync(till, ['--db', db, 'catalog', 'import', catalog.file]);
      addStaff(till, db);
    }

    // The engine's loopback HTTP transport serving ui/dist, with the printer and terminal
    // simulators in its process; its first stdout line says where everything is.
    const engineArgs = [
        '--db', db,
        '--listen', '127.0.0.1:0',
        '--ui', join(uiDir, 'dist'),
        '--printer', `sim:${receipts}`,
        '--terminal', `sim:${terminal}`,
        '--terminal-timeout', String(terminalTimeout),
        '--sync-every', String(syncEvery),
        // The customer display simulator writes each screen to display/display.log.
        ...(display ? ['--display', `sim:${join(dir, 'display')}`] : []),
        ...(scanner ? ['--scanner', scanner] : []),
    ];
    let engine = await startEngine(engineArgs);
    children.push(engine.child);

    const stack = {
      dir,
      db,
      receipts,
      /** Where the engine serves the app (a new port after `restart`). */
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
          headers: { 'content-type': 'application/json', 'x-till-secret': engine.secret },
          body: JSON.stringify(request),
        });
        const body = await response.json();
        if (!response.ok) throw new Error(`${command}: ${JSON.stringify(body)}`);
        return body;
      },
      /** The screens the customer display simulator showed, oldest first, as `top|bottom`. */
      displayed: () => {
        const log = join(dir, 'display', 'display.log');
        return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      },
      /** The receipts the printer simulator wrote, oldest first, as text. */
      printed: () =>
        existsSync(receipts)
          ? readdirSync(receipts)
              .filter((f) => /^receipt-\d+\.txt$/.test(f))
              .sort()
              .map((f) => readFileSync(join(receipts, f), 'utf8'))
          : [],
      /** Kills the engine with SIGKILL, as a crash or a power cut would: no shutdown code runs. */
      crash: () => killChild(engine.child),
      /** Starts the engine again on the same ledger, as after a crash (new port, new launch secret). */
      restart: async () => {
        engine = await startEngine(engineArgs);
        children.push(engine.child);
        stack.url = engine.url;
      },
      stop: async () => {
        for (const c of children.reverse()) await stopChild(c);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return stack;
  } catch (e) {
    for (const c of children.reverse()) await stopChild(c);
    throw e;
  }
}

/**
 * Starts `till-app-http` with `args`: where it listens (its first stdout line) and the launch
 * secret every command carries, read from the page it serves, as the UI does.
 */
async function startEngine(args) {
  const engine = await startPrinting(bin('till-app-http'), args, 'till-app-http', { RUST_LOG: 'warn' });
  const url = JSON.parse(engine.first).url;
  const page = await (await fetch(`${url}/`)).text();
  const secret = page.match(/<meta name="till-secret" content="([0-9a-f]+)">/)?.[1];
  if (!secret) throw new Error(`the served page carries no launch secret: ${page.slice(0, 300)}`);
  return { child: engine.child, url, secret };
}

function killChild(child) {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGKILL');
  });
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

