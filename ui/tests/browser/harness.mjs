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
import { createServer, connect } from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const uiDir = resolve(here, '../..');
export const repoDir = resolve(uiDir, '..');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(repoDir, process.env.CARGO_TARGET_DIR) : join(repoDir, 'target');
/** An engine binary: `$TILL_APP_HTTP` / `$TILL_BIN` when set, else the cargo target directory. */
const bin = (name) => {
  const override = { 'till-app-http': process.env.TILL_APP_HTTP, till: process.env.TILL_BIN, 'sync-server': process.env.SYNC_SERVER_BIN }[name];
  const path = override ? resolve(override) : join(targetDir, 'debug', name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: build it with \`cargo build -p pos-till -p pos-till-service -p pos-sync-server --bins\` (ui/scripts/test.sh does)`);
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
 * for a card result before the outcome is unknown. With `headOffice` (from `startHeadOffice`),
 * the till is enrolled with it and its first sync brings the catalog, the staff and the web
 * orders down; the engine then syncs in the background every `syncEvery` seconds.
 */
export async function startStack({ terminal = 'amount-rule', terminalTimeout = 30, headOffice = null, syncEvery = 30 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'till-ui-'));
  const db = join(dir, 'till.db');
  const receipts = join(dir, 'receipts');
  const children = [];
  try {
    const till = bin('till');
    const catalog = demoCatalog(dir);
    if (headOffice) {
      execFileSync(till, ['--db', db, 'init', '--shop', 'Boutique Paris Opéra', '--till', 'Caisse 1', '--till-id', headOffice.tillId]);
      execFileSync(till, ['--db', db, 'enroll', '--server', headOffice.url, '--code', headOffice.enrollmentCode]);
      execFileSync(till, ['--db', db, 'sync'], { stdio: ['ignore', 'pipe', 'pipe'] });
    } else {
      execFileSync(till, ['--db', db, 'init', '--shop', 'Boutique Test', '--till', 'Caisse 1']);
      execFileSync(till, ['--db', db, 'catalog', 'import', catalog.file]);
      addStaff(till, db);
    }

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
        '--sync-every', String(syncEvery),
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

/** A free TCP port on the loopback interface (head office restarts on the same one). */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Resolves once something accepts connections on 127.0.0.1:`port`. */
async function listening(port, what) {
  await eventually(
    () =>
      new Promise((done) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.end();
          done(true);
        });
        socket.once('error', () => done(false));
      }),
    what,
    30_000,
  );
}

/**
 * Head office: the sync server on a SQLite file with a legal entity, the shop PARIS-OPERA, its
 * staff (the test cashier and manager), the demo catalog, a till to enroll and the web orders
 * given (`[{ reference, customer, payment, lines: ['PRODUCT|label|quantity|price'] }]`).
 * `stop()` kills it at once (SIGKILL, like a network cut or a crash); `start()` brings it back
 * on the same address and database.
 */
export async function startHeadOffice({ webOrders = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'head-office-'));
  const db = `sqlite:${join(dir, 'head-office.sqlite')}`;
  const server = bin('sync-server');
  const admin = (...args) => JSON.parse(execFileSync(server, ['--db', db, '--json', 'admin', ...args], { encoding: 'utf8' }));
  const shop = 'PARIS-OPERA';
  admin('entity', 'create', '--name', 'Acme Télécom', '--siren', '123456789');
  admin('shop', 'create', '--entity', 'ACME-TELECOM', '--name', 'Paris Opéra', '--territory', 'metropole',
    '--timezone', 'Europe/Paris', '--address', '12 boulevard des Capucines, 75009 Paris');
  admin('catalog', 'import', demoCatalog(dir).file);
  for (const s of [CASHIER, MANAGER]) {
    admin('staff', 'add', '--shop', shop, '--id', s.id, '--name', s.name, '--role', s.role, '--pin', s.pin);
  }
  const till = admin('till', 'create', '--shop', shop, '--name', 'Caisse 1', '--id', `${shop}-CAISSE-1`);
  const orders = webOrders.map((o) =>
    admin('web-order', 'create', '--shop', shop, '--customer', o.customer, '--reference', o.reference,
      '--payment', o.payment ?? 'paid-online', ...o.lines.flatMap((l) => ['--line', l])),
  );
  const port = await freePort();
  let child = null;
  const office = {
    url: `http://127.0.0.1:${port}`,
    tillId: till.till_id,
    enrollmentCode: till.enrollment_code,
    orders,
    admin,
    start: async () => {
      child = spawn(server, ['--db', db, 'serve', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      await listening(port, 'head office listening');
    },
    stop: async () => {
      if (!child) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await exited;
      child = null;
    },
    close: async () => {
      await office.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await office.start();
  return office;
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
