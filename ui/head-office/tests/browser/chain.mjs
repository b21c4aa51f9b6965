// The real stack for the head-office browser tests: a sync server (`sync-server serve` on a
// SQLite file, or with HQ_BACKEND=postgres on a fresh database of DATABASE_URL's PostgreSQL,
// serving the built app from ui/head-office/dist) with two regions, three shops,
// head-office users with passwords, and real tills (`till` CLI ledgers) enrolled with it that
// record, close and upload through their own sync client; Debian's Chromium driven by
// playwright-core. Nothing is mocked.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, connect } from 'node:net';
import { chromium } from 'playwright-core';
import { bin, demoCatalog, eventually, repoDir } from '../../../tests/browser/stack.mjs';

export { eventually, repoDir };

const here = dirname(fileURLToPath(import.meta.url));
export const appDir = resolve(here, '../..');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** Where the screenshots of the main screens go: docs/ from the SQLite run (committed, shown
 * in the README), target/ from the PostgreSQL one. */
const screenshots = () =>
  process.env.HQ_SCREENSHOTS ?? (BACKEND === 'sqlite' ? join(repoDir, 'docs') : join(repoDir, 'target', 'head-office-screenshots'));

export const PASSWORD = 'correct horse battery staple';
export const ADMIN = { id: 'ada', name: 'Ada Lovelace', role: 'admin' };
export const MANAGER = { id: 'sam', name: 'Sam Lyon', role: 'shop_manager', shop: 'LYON-BELLECOUR' };
export const REGIONAL = { id: 'rita', name: 'Rita Nord', role: 'regional_manager', region: 'NORD' };
export const SHOPS = [
  { id: 'PARIS-OPERA', name: 'Paris Opéra', region: 'NORD' },
  { id: 'LILLE-CENTRE', name: 'Lille Centre', region: 'NORD' },
  { id: 'LYON-BELLECOUR', name: 'Lyon Bellecour', region: 'SUD' },
];
export const TILLS = [
  { id: 'PARIS-OPERA-1', shop: 'PARIS-OPERA' },
  { id: 'PARIS-OPERA-2', shop: 'PARIS-OPERA' },
  { id: 'LILLE-CENTRE-1', shop: 'LILLE-CENTRE' },
  { id: 'LYON-BELLECOUR-1', shop: 'LYON-BELLECOUR' },
];

function freePort() {
  return new Promise((done, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function listening(port) {
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
    'head office listening',
    30_000,
  );
}

/** A till ledger driven through the `till` CLI. */
class Till {
  constructor(dir, id, shop) {
    this.id = id;
    this.shop = shop;
    this.db = join(dir, `${id}.db`);
  }
  run(args, input = '') {
    return execFileSync(bin('till'), ['--db', this.db, ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  }
  json(args, input = '') {
    return JSON.parse(this.run(['--json', ...args], input));
  }
  /** Records a sale of `lines` ([product, quantity]) paid by card; the recorded ticket. */
  sell(lines, seller = 'S101') {
    const sale = {
      lines: lines.map(([product_id, quantity]) => ({ product_id, quantity, seller })),
      tenders: [{ kind: 'card', amount: '0.00' }],
    };
    const quote = this.json(['quote'], JSON.stringify({ ...sale, tenders: [] }));
    sale.tenders = [{ kind: 'card', amount: quote.total, reference: 'T1' }];
    return this.json(['sell'], JSON.stringify(sale));
  }
  /** The day closure (Z): `{ period, totals: { total } }`. */
  closeDay() {
    return this.json(['close', 'day']);
  }
  sync() {
    this.run(['sync']);
  }
}

export const BACKEND = process.env.HQ_BACKEND ?? 'sqlite';

/** A fresh database for head office: a SQLite file in `dir`, or a new PostgreSQL database. */
function freshDatabase(dir) {
  if (BACKEND === 'sqlite') return `sqlite:${join(dir, 'hq.sqlite')}`;
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('HQ_BACKEND=postgres needs DATABASE_URL (sync-server/scripts/start-postgres.sh)');
  const name = `hq_web_${randomBytes(6).toString('hex')}`;
  execFileSync('psql', [url, '-q', '-c', `CREATE DATABASE ${name}`]);
  const base = url.split('?')[0];
  return `${base.slice(0, base.lastIndexOf('/'))}/${name}`;
}

/** Runs `sql` on head office's database, with its append-only trigger put aside. */
function tamperSql(db, tillId, number) {
  const where = `WHERE till_id = '${tillId}' AND chain = 'ticket' AND seq = ${number}`;
  if (db.startsWith('sqlite:')) {
    execFileSync('sqlite3', [
      db.slice('sqlite:'.length),
      `DROP TRIGGER records_no_update; UPDATE records SET body = CAST(replace(CAST(body AS TEXT), '"operator":"', '"operator":"X') AS BLOB) ${where};`,
    ]);
  } else {
    execFileSync('psql', [
      db,
      '-q',
      '-c',
      `ALTER TABLE records DISABLE TRIGGER records_append_only; UPDATE records SET body = convert_to(replace(convert_from(body, 'UTF8'), '"operator":"', '"operator":"X'), 'UTF8') ${where};`,
    ]);
  }
}

/** The whole chain: head office serving the app, its data, and enrolled tills. */
export async function startChain() {
  const dir = mkdtempSync(join(tmpdir(), 'hq-web-'));
  const db = freshDatabase(dir);
  const server = bin('sync-server');
  const adminWithInput = (input, ...args) =>
    JSON.parse(execFileSync(server, ['--db', db, '--json', 'admin', ...args], { encoding: 'utf8', input }));
  const admin = (...args) => adminWithInput('', ...args);
  admin('entity', 'create', '--id', 'ACME', '--name', 'Acme Télécom', '--siren', '123456789');
  admin('region', 'create', '--id', 'NORD', '--name', 'Nord');
  admin('region', 'create', '--id', 'SUD', '--name', 'Sud');
  for (const shop of SHOPS) {
    admin('shop', 'create', '--id', shop.id, '--entity', 'ACME', '--name', shop.name, '--timezone', 'Europe/Paris', '--region', shop.region);
  }
  admin('catalog', 'import', demoCatalog(dir).file);
  admin('web-order', 'create', '--shop', 'PARIS-OPERA', '--customer', 'Chloé Bernard', '--reference', 'WEB-1001',
    '--line', 'ACC-CBL-CC1|Câble USB-C vers USB-C 1 m|2|14.90');
  admin('user', 'create', '--id', ADMIN.id, '--name', ADMIN.name, '--role', ADMIN.role);
  admin('user', 'create', '--id', MANAGER.id, '--name', MANAGER.name, '--role', MANAGER.role, '--shop', MANAGER.shop);
  admin('user', 'create', '--id', REGIONAL.id, '--name', REGIONAL.name, '--role', REGIONAL.role, '--region', REGIONAL.region);
  for (const user of [ADMIN, MANAGER, REGIONAL]) adminWithInput(`${PASSWORD}\n`, 'user', 'password', '--id', user.id);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let stderr = '';
  // The server key (webhook secrets are sealed under it) lives in the test's folder, whatever
  // the backend (PostgreSQL without a config file would put it in the working directory).
  const child = spawn(server, ['--db', db, 'serve', '--listen', `127.0.0.1:${port}`, '--web-dir', join(appDir, 'dist')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SYNC_SECRET_KEY_FILE: join(dir, 'sync-server.key') },
  });
  child.stderr.on('data', (d) => (stderr += d));
  await listening(port);

  const tills = TILLS.map((t) => {
    const created = admin('till', 'create', '--shop', t.shop, '--name', `Caisse ${t.id.slice(-1)}`, '--id', t.id);
    const till = new Till(dir, t.id, t.shop);
    till.run(['init', '--shop', t.shop, '--till', t.id, '--till-id', t.id]);
    till.run(['enroll', '--server', url, '--code', created.enrollment_code]);
    till.sync();
    return till;
  });

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const cspViolations = [];
  return {
    cspViolations,
    dir,
    db,
    url,
    app: `${url}/hq/`,
    tills,
    admin,
    browser,
    stderr: () => stderr,
    /** A page in a fresh browser context (its own cookies), on Paris time like the shops. */
    async page() {
      const context = await browser.newContext({ timezoneId: 'Europe/Paris', locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('page error:', e));
      // Anything the Content-Security-Policy blocked (an inline style or script) is a bug.
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
      });
      return page;
    },
    /** Changes a stored ticket's bytes in the database, the append-only trigger put aside. */
    tamper(tillId, number) {
      tamperSql(db, tillId, number);
    },
    /**
     * Records `day` as a day `tillId` sold on with no Z, as head office's triggers do when a
     * till's ticket of a day arrives without its closure (the tills here close every day they
     * trade, and their clock cannot be set back).
     */
    dayWithoutZ(tillId, day) {
      const sql = `INSERT INTO till_days_without_z (till_id, day) VALUES ('${tillId}', '${day}');`;
      if (db.startsWith('sqlite:')) execFileSync('sqlite3', [db.slice('sqlite:'.length), sql]);
      else execFileSync('psql', [db, '-q', '-c', sql]);
    },
    async close() {
      await browser.close();
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      if (!db.startsWith('sqlite:')) {
        const name = db.slice(db.lastIndexOf('/') + 1);
        execFileSync('psql', [process.env.DATABASE_URL, '-q', '-c', `DROP DATABASE IF EXISTS ${name}`]);
      }
    },
  };
}

/** Logs in through the app's form. */
export async function logIn(page, app, user, password = PASSWORD) {
  await page.goto(app);
  await page.getByLabel(/Identifiant|User name/).fill(user);
  await page.getByLabel(/Mot de passe|Password/).fill(password);
  await page.getByRole('button', { name: /Se connecter|Log in/ }).click();
}

/** Cents of a French amount as the app shows it ("1 234,50 €"). */
export function cents(text) {
  const digits = text.replace(/[^\d,-]/g, '').replace(',', '');
  return Number(digits);
}

/** Cents of an API amount ("1234.50"). */
export function apiCents(amount) {
  const [units, fraction = '00'] = amount.split('.');
  const sign = units.startsWith('-') ? -1 : 1;
  return sign * (Math.abs(Number(units)) * 100 + Number(fraction.padEnd(2, '0')));
}

export async function screenshot(page, name) {
  mkdirSync(screenshots(), { recursive: true });
  await page.screenshot({ path: join(screenshots(), `head-office-${name}.png`), fullPage: true });
}
