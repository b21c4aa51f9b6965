// Head office's administration in Chromium against a real `sync-server serve` and real tills
// (the `till` CLI): a catalog CSV with one bad row is refused naming the row and nothing
// changes at the tills; a good one is applied and a till's next sync prices with it; a product
// made a service in the app is refused by a till's goods receipt after its sync; a
// promotion created in the app prices a sale at a till after its next sync; a till created in
// the app enrolls with the code it shows; the audit screen lists each change with who made it;
// a user's role changed in the app ends their open session at once, and a user disabled in the
// app cannot log in until enabled again; a webhook registered in the app to a real receiver
// gets a till's upload, signed with the secret the screen showed once. Screenshots of the
// administration screens go to docs/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin } from '../../../tests/browser/stack.mjs';
import { ADMIN, MANAGER, REGIONAL, eventually, logIn, screenshot, startChain } from './chain.mjs';

const HEADER = 'id,barcodes,label,category,vat_code,price,sold_by,serial';
const PRODUCT = 'ACC-CBL-CC1';
let chain;
let page;

/** What one unit of `product` costs at `till` now (its quote, with its promotions). */
function unitPrice(till, product) {
  const quote = till.json(['quote'], JSON.stringify({ lines: [{ product_id: product, quantity: 1 }], tenders: [] }));
  return quote.total;
}

/** A day as YYYY-MM-DD, `offset` days from today. */
function day(offset) {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

async function importFile(name, text) {
  const file = join(chain.dir, name);
  writeFileSync(file, text);
  await page.goto(`${chain.app}#/admin/catalog`);
  await page.getByTestId('catalog-file').setInputFiles(file);
  await page.getByTestId('catalog-import').click();
}

before(async () => {
  chain = await startChain();
  page = await chain.page();
  await logIn(page, chain.app, ADMIN.id);
  await page.getByTestId('nav-admin').waitFor();
});

after(async () => {
  const violations = chain?.cspViolations ?? [];
  await chain?.close();
  assert.deepEqual(violations, [], 'the administration screens run under the strict Content-Security-Policy');
});

test('a catalog with a bad row is refused naming the row, and nothing changes at the tills', async () => {
  const till = chain.tills[0];
  const before = unitPrice(till, PRODUCT);
  await importFile(
    'bad.csv',
    `${HEADER}\n${PRODUCT},3760000011051,Câble USB-C 1 m,Accessoires,standard,9.99,unit,none\nNEW-1,,Nouveau,Accessoires,standard,-5.00,unit,none\n`,
  );
  const refused = page.getByTestId('catalog-refused');
  await refused.waitFor();
  const rows = await page.getByTestId('catalog-bad-rows').locator('tbody tr').allTextContents();
  assert.equal(rows.length, 1, `exactly the one bad row is listed: ${rows}`);
  assert.match(rows[0], /^3/, `the bad row is named by its line in the file (3): ${rows[0]}`);
  await screenshot(page, 'admin-catalog-refused');
  till.sync();
  assert.equal(unitPrice(till, PRODUCT), before, 'a refused file changes no price, not even its good rows');
});

test('a good catalog is applied, and a till prices with it after its next sync', async () => {
  await importFile('good.csv', `${HEADER}\n${PRODUCT},3760000011051,Câble USB-C vers USB-C 1 m,Accessoires,standard,12.34,unit,none\n`);
  const done = await page.getByTestId('catalog-done').textContent();
  assert.match(done, /1/, done);
  await screenshot(page, 'admin-catalog');
  const till = chain.tills[1];
  till.sync();
  assert.equal(unitPrice(till, PRODUCT), '12.34', "the till's next sync brings the imported price");
});

test('a product made a service in the app is no longer received into stock at the tills', async () => {
  await page.goto(`${chain.app}#/admin/catalog`);
  await page.getByTestId('product-id').fill('SRV-SIM');
  await page.getByTestId('product-id').press('Enter');
  const kept = page.getByTestId('product-stock-kept');
  await kept.waitFor();
  assert.equal(await kept.isChecked(), true, 'a SIM card is kept in stock until said otherwise');
  await kept.uncheck();
  await page.getByTestId('product-save').click();
  await page.getByRole('status').filter({ hasText: /enregistr|saved/i }).waitFor();
  const till = chain.tills[0];
  till.sync();
  assert.throws(
    () => till.run(['stock', 'receive', '--line', 'SRV-SIM:1']),
    (e) => /not kept in stock/.test(String(e.stderr)),
    'the till, synced, refuses to receive a product head office keeps no stock of',
  );
  till.run(['stock', 'receive', '--line', `${PRODUCT}:1`]);
});

test('a promotion created in the app prices a sale at a till after its next sync', async () => {
  await page.goto(`${chain.app}#/admin/promotions`);
  await page.getByTestId('promo-id').fill('CABLE-10');
  await page.getByTestId('promo-label').fill('Câbles -10 %');
  await page.getByTestId('promo-from').fill(day(-1));
  await page.getByTestId('promo-to').fill(day(1));
  await page.getByTestId('promo-value').fill('10');
  await page.getByTestId('promo-products').fill(PRODUCT);
  await page.getByTestId('promo-save').click();
  await page.getByTestId('promotions').getByText('CABLE-10').waitFor();
  await screenshot(page, 'admin-promotions');
  const till = chain.tills[2];
  till.sync();
  assert.equal(unitPrice(till, PRODUCT), '11.11', 'the promotion takes 10 % off 12.34 at the till after its sync');
  const sale = till.sell([[PRODUCT, 1]]);
  assert.equal(sale.total ?? sale.ticket?.total, '11.11', 'the sale is recorded at the promoted price');
});

test('a till created in the app enrolls with the code it shows', async () => {
  await page.goto(`${chain.app}#/admin/tills`);
  await page.getByTestId('till-shop').selectOption('PARIS-OPERA');
  await page.getByTestId('till-name').fill('Caisse 9');
  await page.getByTestId('till-id').fill('PARIS-OPERA-9');
  await page.getByTestId('till-create').click();
  const shown = await page.getByTestId('till-code').textContent();
  const code = (await page.getByTestId('enrollment-code').textContent()).trim();
  assert.ok(shown.includes(code), `the code is shown to the admin: ${shown}`);
  await screenshot(page, 'admin-tills');
  const db = join(chain.dir, 'PARIS-OPERA-9.db');
  const till = (...args) => execFileSync(bin('till'), ['--db', db, ...args], { encoding: 'utf8' });
  till('init', '--shop', 'PARIS-OPERA', '--till', 'PARIS-OPERA-9', '--till-id', 'PARIS-OPERA-9');
  till('enroll', '--server', chain.url, '--code', code);
  till('sync');
  await eventually(async () => {
    await page.reload();
    const row = await page.getByTestId('tills').locator('tr', { hasText: 'PARIS-OPERA-9' }).textContent();
    return /enrôlée|enrolled/.test(row) && !/attente|awaiting/.test(row);
  }, 'the till created in the app shows enrolled');
});

test('every change is in the audit screen with who made it; other roles get 403', async () => {
  await page.goto(`${chain.app}#/admin/audit`);
  const table = page.getByTestId('audit');
  await table.waitFor();
  const text = await table.textContent();
  for (const action of ['catalog.import', 'promotion.set', 'till.create']) {
    assert.ok(text.includes(action), `the audit lists ${action}`);
  }
  assert.ok(text.includes(ADMIN.id), 'the audit says who made each change');
  await screenshot(page, 'admin-audit');
  for (const section of ['org', 'staff', 'users', 'rules', 'webhooks']) {
    await page.goto(`${chain.app}#/admin/${section}`);
    await page.getByTestId(`admin-${section}`).waitFor();
    await page.waitForLoadState('networkidle');
    await screenshot(page, `admin-${section}`);
  }

  const manager = await chain.page();
  await logIn(manager, chain.app, MANAGER.id);
  await manager.getByTestId('who').waitFor();
  assert.equal(await manager.getByTestId('nav-admin').count(), 0, 'a shop manager has no administration entry');
  const status = await manager.evaluate(async () => (await fetch('/api/v1/admin/tills')).status);
  assert.equal(status, 403, 'the admin API refuses a shop manager, whatever the app shows');
});

test("a role changed in the app ends the user's open session; a disabled user cannot log in", async () => {
  const manager = await chain.page();
  await logIn(manager, chain.app, MANAGER.id);
  await manager.getByTestId('who').waitFor();
  const fleet = () => manager.evaluate(async () => (await fetch('/api/v1/hq/fleet')).status);
  assert.equal(await fleet(), 200, 'the shop manager reads their fleet before the change');

  await page.goto(`${chain.app}#/admin/users`);
  await page.getByTestId(`user-role-${MANAGER.id}`).selectOption('shop_manager');
  await page.getByTestId(`user-shop-${MANAGER.id}`).selectOption('PARIS-OPERA');
  await page.getByTestId(`user-save-${MANAGER.id}`).click();
  assert.match(await page.getByTestId('users-message').textContent(), new RegExp(`${MANAGER.id}\\D+[1-9]`), 'the screen says their session ended');
  assert.equal(await fleet(), 401, 'a scope changed in the app ends the open session at once, not at its expiry');
  await logIn(manager, chain.app, MANAGER.id);
  await manager.getByTestId('who').waitFor();
  const shops = await manager.evaluate(async () => (await fetch('/api/v1/hq/fleet')).json());
  assert.ok(shops.length > 0 && shops.every((t) => t.shop_id === 'PARIS-OPERA'), `logged in again, they see their new shop only: ${JSON.stringify(shops)}`);

  await page.getByTestId(`user-toggle-${REGIONAL.id}`).click();
  await eventually(async () => /Désactivé|Disabled/.test(await page.getByTestId(`user-state-${REGIONAL.id}`).textContent()), 'the screen shows the user disabled');
  await screenshot(page, 'admin-users');
  const regional = await chain.page();
  await logIn(regional, chain.app, REGIONAL.id);
  await regional.getByTestId('login-error').waitFor();
  assert.equal(await regional.getByTestId('who').count(), 0, 'a disabled user cannot log in with the right password');

  const ownRole = page.getByTestId(`user-role-${ADMIN.id}`);
  await ownRole.selectOption('accountant');
  await page.getByTestId(`user-save-${ADMIN.id}`).click();
  await eventually(async () => /dernier|last/.test(await page.getByTestId('users-message').textContent()), 'the last admin cannot demote themselves');

  await page.goto(`${chain.app}#/admin/users`);
  await page.getByTestId(`user-toggle-${REGIONAL.id}`).click();
  await eventually(async () => /Actif|Active/.test(await page.getByTestId(`user-state-${REGIONAL.id}`).textContent()), 'enabled again');
  await logIn(regional, chain.app, REGIONAL.id);
  await regional.getByTestId('who').waitFor();

  await page.goto(`${chain.app}#/admin/audit`);
  const journal = await page.getByTestId('audit').textContent();
  for (const action of ['user.role', 'user.disable', 'user.enable']) {
    assert.ok(journal.includes(action), `the audit lists ${action}`);
  }
});

/** A webhook receiver on 127.0.0.1: every request it got, with its headers and raw body. */
async function receiver() {
  const requests = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (c) => chunks.push(c));
    request.on('end', () => {
      requests.push({ headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(204).end();
    });
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return { requests, url: `http://127.0.0.1:${server.address().port}/events`, close: () => server.close() };
}

/** Whether `X-Pos-Signature` is HMAC-SHA256(secret, "<X-Pos-Timestamp>.<body>"). */
function signedWith(secret, { headers, body }) {
  const expected = createHmac('sha256', secret).update(`${headers['x-pos-timestamp']}.`).update(body).digest();
  const given = Buffer.from(String(headers['x-pos-signature'] ?? '').replace(/^sha256=/, ''), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

test("a webhook registered in the app gets a till's upload, signed with the secret shown once", async () => {
  const erp = await receiver();
  try {
    await page.goto(`${chain.app}#/admin/webhooks`);
    await page.getByTestId('hook-url').fill('http://erp.example/events');
    await page.getByTestId('hook-register').click();
    await eventually(async () => /https/.test((await page.getByTestId('hooks-message').textContent()) ?? ''), 'plain HTTP to another machine is refused, saying what is allowed');

    await page.getByTestId('hook-url').fill(erp.url);
    await page.getByTestId('hook-id').fill('erp');
    await page.getByTestId('hook-types').fill('pos.record.ticket');
    await page.getByTestId('hook-register').click();
    const secret = (await page.getByTestId('hook-secret').textContent()).trim();
    assert.match(secret, /^[0-9a-f]{64}$/, 'the server made a 32-byte secret and the screen shows it');
    await page.getByTestId('webhooks').getByText('erp', { exact: true }).waitFor();
    await screenshot(page, 'admin-webhooks');
    await page.reload();
    await page.getByTestId('webhooks').getByText('erp', { exact: true }).waitFor();
    assert.equal(await page.getByTestId('hook-secret').count(), 0, 'the secret is shown once, never again');
    assert.ok(!(await page.content()).includes(secret), 'nothing on the screen holds it after');

    const till = chain.tills[3];
    till.sell([['ACC-CBL-CC1', 1]]);
    till.sync();
    await eventually(() => erp.requests.length > 0, "the till's ticket is delivered to the receiver", 15_000);
    const delivery = erp.requests[0];
    const event = JSON.parse(delivery.body.toString('utf8'));
    assert.match(JSON.stringify(event), /pos\.record\.ticket/, `a ticket event: ${delivery.body}`);
    assert.ok(signedWith(secret, delivery), 'the signature verifies with the secret the screen showed');
    assert.ok(!signedWith('0'.repeat(64), delivery), 'and with no other');

    await page.goto(`${chain.app}#/admin/audit`);
    const journal = await page.getByTestId('audit').textContent();
    assert.ok(journal.includes('webhook.add'), 'the registration is journaled');
    assert.ok(!journal.includes(secret), 'never its secret');
  } finally {
    erp.close();
  }
});
