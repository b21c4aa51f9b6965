// The parts of the real stack every UI test shares, with nothing but Node: the engine's
// binaries, the staff the tests log in with, the demo catalog, a head office (the sync server
// on SQLite with a shop, its staff, the catalog, a till to enroll and web orders) and polling.
// The browser tests (harness.mjs) and the real-window test (tests/window) both use it.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, connect } from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
export const uiDir = resolve(here, '../..');
export const repoDir = resolve(uiDir, '..');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(repoDir, process.env.CARGO_TARGET_DIR) : join(repoDir, 'target');
/** An engine binary: `$TILL_APP_HTTP` / `$TILL_BIN` when set, else the cargo target directory. */
export const bin = (name) => {
  const override = { 'till-app-http': process.env.TILL_APP_HTTP, till: process.env.TILL_BIN, 'sync-server': process.env.SYNC_SERVER_BIN }[name];
  const path = override ? resolve(override) : join(targetDir, 'debug', name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: build it with \`cargo build -p pos-till -p pos-till-service -p sync-server --bins\` (ui/scripts/test.sh does)`);
  }
  return path;
};

/** Staff the tests log in with (created in the ledger before the engine starts). */
export const CASHIER = { id: 'alice', name: 'Alice Martin', role: 'cashier', pin: '1234' };
export const MANAGER = { id: 'bruno', name: 'Bruno Petit', role: 'manager', pin: '9876' };

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
  const adminWithInput = (input, ...args) =>
    JSON.parse(execFileSync(server, ['--db', db, '--json', 'admin', ...args], { encoding: 'utf8', input }));
  const admin = (...args) => adminWithInput('', ...args);
  const shop = 'PARIS-OPERA';
  admin('entity', 'create', '--name', 'Acme Télécom', '--siren', '123456789');
  admin('shop', 'create', '--entity', 'ACME-TELECOM', '--name', 'Paris Opéra', '--territory', 'metropole',
    '--timezone', 'Europe/Paris', '--address', '12 boulevard des Capucines, 75009 Paris');
  admin('catalog', 'import', demoCatalog(dir).file);
  for (const s of [CASHIER, MANAGER]) {
    // The PIN goes on standard input, never on the command line.
    adminWithInput(`${s.pin}\n`, 'staff', 'add', '--shop', shop, '--id', s.id, '--name', s.name, '--role', s.role);
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

/**
 * Creates the till ledger `db` enrolled with `headOffice` and runs its first sync: the catalog,
 * the staff and the shop's web orders come down.
 */
export function enrolledTill(headOffice, db) {
  const till = bin('till');
  execFileSync(till, ['--db', db, 'init', '--shop', 'Boutique Paris Opéra', '--till', 'Caisse 1', '--till-id', headOffice.tillId]);
  execFileSync(till, ['--db', db, 'enroll', '--server', headOffice.url, '--code', headOffice.enrollmentCode]);
  execFileSync(till, ['--db', db, 'sync'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
