// The head-office app in Chromium against a real `sync-server serve` and real tills: login and
// logout, a wrong password refused, role scoping (a shop manager sees only their shop and gets
// 403 from the API for another), the dashboard's day total equal to the sum of the day's Z of
// every till, a sale appearing on an open dashboard within 5 s of its sync without a reload,
// and the drill-down down to a ticket shown verified, then NOT verified once its stored bytes
// are changed. Screenshots of the main screens go to docs/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, MANAGER, REGIONAL, SHOPS, apiCents, cents, eventually, logIn, screenshot, startChain } from './chain.mjs';

let chain;
const zTotals = new Map();

before(async () => {
  chain = await startChain();
  // A day of sales at every till, with sellers, then its Z, uploaded by each till's sync.
  const baskets = [
    [['ACC-CBL-CC1', 1], ['PRS-01NET', 2]],
    [['ACC-CBL-CC1', 3]],
    [['PRS-01NET', 1]],
  ];
  for (const [i, till] of chain.tills.entries()) {
    for (const basket of baskets.slice(0, 1 + (i % 3))) till.sell(basket, `S10${i}`);
    const z = till.closeDay();
    zTotals.set(till.id, z);
    till.sync();
  }
});

after(async () => {
  const violations = chain?.cspViolations ?? [];
  await chain?.close();
  assert.deepEqual(violations, [], 'the app runs under its strict Content-Security-Policy without a blocked script or style');
});

test('a wrong password is refused without saying which part was wrong; login and logout work', async () => {
  const page = await chain.page();
  await logIn(page, chain.app, ADMIN.id, 'not the password');
  const refused = await page.getByTestId('login-error').textContent();
  await logIn(page, chain.app, 'nobody', 'not the password');
  assert.equal(await page.getByTestId('login-error').textContent(), refused, 'an unknown user and a wrong password read the same');
  assert.match(refused, /Identifiant ou mot de passe incorrect/);

  await logIn(page, chain.app, ADMIN.id);
  await page.getByTestId('who').waitFor();
  assert.match(await page.getByTestId('who').textContent(), /Ada Lovelace/);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'hq_session');
  assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
  assert.equal(session?.sameSite, 'Strict', 'the session cookie is SameSite=Strict');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the page scripts cannot read the session');

  await page.getByTestId('logout').click();
  await page.getByRole('button', { name: 'Se connecter' }).waitFor();
  const status = await page.evaluate(async () => (await fetch('/api/v1/web/session')).status);
  assert.equal(status, 401, 'after logout the session no longer works');
  await page.context().close();
});

test("the dashboard's total for the day equals the sum of that day's Z of every till, and a new sale shows within 5 s", async () => {
  const page = await chain.page();
  await logIn(page, chain.app, ADMIN.id);
  const periods = new Set([...zTotals.values()].map((z) => z.period));
  assert.equal(periods.size, 1, 'every Z closes the same day');
  const expected = [...zTotals.values()].reduce((sum, z) => sum + apiCents(z.totals.total), 0);
  const net = page.getByTestId('kpi-net-value');
  await eventually(async () => cents((await net.textContent()) ?? '') === expected, `the dashboard showing ${expected} cents`, 10_000).catch(async (e) => {
    throw new Error(`${e.message}; it shows ${await net.textContent()}`);
  });
  const tickets = [...zTotals.values()].reduce((sum, z) => sum + z.totals.tickets, 0);
  assert.equal(Number(await page.getByTestId('kpi-tickets-value').textContent()), tickets, 'the tickets are those of the Z');
  await eventually(async () => /Toutes les caisses/.test(await page.getByTestId('completeness').textContent()), 'the completeness indicator saying every till has synced');
  await page.getByTestId('live').and(page.locator('[data-open="true"]')).waitFor();
  await screenshot(page, 'dashboard');

  // A sale at a till, synced: the open page moves by itself.
  const till = chain.tills[0];
  const sale = till.sell([['ACC-CBL-CC1', 2]]);
  till.sync();
  const synced = Date.now();
  await eventually(async () => cents((await net.textContent()) ?? '') === expected + apiCents(sale.total), 'the new sale on the open dashboard', 5_000);
  assert.ok(Date.now() - synced <= 5_000, 'the dashboard moved within 5 s of the upload, without a reload');
  await page.context().close();
});

test('a shop manager sees only their shop, and the API refuses them another shop (403)', async () => {
  const page = await chain.page();
  await logIn(page, chain.app, MANAGER.id);
  await page.getByTestId('who').waitFor();
  const own = zTotals.get('LYON-BELLECOUR-1');
  await eventually(async () => cents((await page.getByTestId('kpi-net-value').textContent()) ?? '') === apiCents(own.totals.total), "the manager's dashboard showing their shop only");

  await page.goto(`${chain.app}#/fleet`);
  await page.getByTestId('fleet').waitFor();
  const shops = await page.getByTestId('fleet').locator('td[data-col="shop"]').allTextContents();
  assert.deepEqual([...new Set(shops)], [MANAGER.shop], 'the fleet shows only their shop');

  await page.goto(`${chain.app}#/drill/region/NORD`);
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /NORD|region|région/i, 'another region is refused on screen');

  await page.keyboard.press('Alt+6');
  await page.getByText('Aucune commande web.').waitFor();

  const answers = await page.evaluate(async () => {
    const other = await fetch('/api/v1/hq/sales?by=shop&shop=PARIS-OPERA');
    const mine = await fetch('/api/v1/hq/sales?by=shop');
    return { other: other.status, code: (await other.json()).code, mine: (await mine.json()).rows.map((r) => r.key) };
  });
  assert.equal(answers.other, 403, "the API refuses another shop's figures");
  assert.equal(answers.code, 'forbidden');
  assert.deepEqual(answers.mine, [MANAGER.shop], 'asked for every shop, the API answers theirs only');
  await page.context().close();
});

test('a regional manager sees only the shops of their region', async () => {
  const page = await chain.page();
  await logIn(page, chain.app, REGIONAL.id);
  await page.getByTestId('who').waitFor();
  await page.keyboard.press('Alt+2');
  await page.getByTestId('by-shop').waitFor();
  const shown = await page.getByTestId('by-shop').locator('td[data-col="key"]').allTextContents();
  const north = SHOPS.filter((s) => s.region === REGIONAL.region).map((s) => s.id);
  assert.deepEqual(shown.sort(), north.sort(), 'the period screen lists their region\'s shops only');
  const other = await page.evaluate(async () => (await fetch('/api/v1/hq/sales?by=shop&region=SUD')).status);
  assert.equal(other, 403, "the API refuses another region's figures");
  await page.context().close();
});

test('drill-down reaches a ticket shown verified, and NOT verified once its stored bytes change', async () => {
  const page = await chain.page();
  await logIn(page, chain.app, ADMIN.id);
  await page.getByTestId('who').waitFor();
  await page.keyboard.press('Alt+2');
  await page.getByTestId('by-shop').waitFor();
  await page.getByTestId('dimension').selectOption('seller');
  await eventually(async () => (await page.getByTestId('ranking').locator('td[data-col="key"]').allTextContents()).includes('S101'), 'the ranking by seller');
  await screenshot(page, 'period');

  await page.keyboard.press('Alt+3');
  await page.getByTestId('drill-table').getByRole('link', { name: 'NORD' }).click();
  await page.getByTestId('drill-table').getByRole('link', { name: 'PARIS-OPERA' }).click();
  const day = zTotals.get('PARIS-OPERA-2').period;
  await page.getByTestId('drill-table').getByRole('link', { name: day }).click();
  await page.getByTestId('tickets').waitFor();
  await screenshot(page, 'tickets');
  const row = page.getByTestId('tickets').locator('tr', { hasText: 'PARIS-OPERA-2' }).first();
  await row.getByRole('link').click();
  const signature = page.getByTestId('signature');
  await signature.waitFor();
  assert.equal(await signature.getAttribute('data-verified'), 'true', 'an untouched ticket verifies');
  assert.match(await signature.textContent(), /Signature vérifiée/);
  assert.match(await page.getByTestId('receipt').textContent(), /vendeur S101/, 'the seller is shown per line');
  await screenshot(page, 'ticket');

  chain.tamper('PARIS-OPERA-2', 1);
  await page.reload();
  await signature.waitFor();
  assert.equal(await signature.getAttribute('data-verified'), 'false', 'changed bytes no longer verify');
  assert.match(await signature.textContent(), /Signature NON vérifiée/);
  const colour = await signature.evaluate((el) => getComputedStyle(el).color);
  assert.equal(colour, 'rgb(179, 0, 27)', 'NOT verified is shown in red');
  await screenshot(page, 'ticket-tampered');

  chain.dayWithoutZ('PARIS-OPERA-2', '2026-11-02');
  await page.keyboard.press('Alt+4');
  await page.getByTestId('fleet').waitFor();
  const late = page.getByTestId('fleet').locator('tr', { hasText: 'PARIS-OPERA-2' });
  assert.equal(
    (await late.locator('td[data-col="without-z"]').textContent()).trim(),
    '2026-11-02',
    'the fleet shows the days a till sold on with no Z',
  );
  assert.match(await late.getAttribute('class'), /without-z/, 'and that till stands out');
  await screenshot(page, 'fleet');
  await page.keyboard.press('Alt+5');
  await page.getByRole('heading', { name: 'Alarmes' }).waitFor();
  await screenshot(page, 'alarms');
  await page.keyboard.press('Alt+6');
  await page.getByTestId('web-orders').waitFor();
  assert.match(await page.getByTestId('web-orders').textContent(), /WEB-1001/, 'the web order is listed');
  await screenshot(page, 'web-orders');
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Web orders' }).first().waitFor();
  assert.equal(await page.getByRole('link', { name: 'Today' }).count(), 1, 'English is available');
  await page.context().close();
});
