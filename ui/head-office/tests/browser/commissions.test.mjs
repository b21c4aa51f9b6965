// Seller commissions and the downloads, in Chromium against a real `sync-server serve` and a
// real till: a few weeks of trading recorded by the till's own engine (`till demo`, sellers
// S101-S104 on the lines, ending yesterday), then today a return of a line sold last month,
// all uploaded by the till's sync. The commission report of last month and of this month
// must equal an independent computation from the till's own ledger (this file reads its
// tickets with sqlite3 and applies the rules by hand), the return clawing back this month
// what its line earned last month; a seller who is not staff of the shop is reported and not
// counted; the payroll CSV and XLSX (read back with exceljs) and the period screen's
// by-shop CSV and XLSX hold the figures on screen. Screenshots go to docs/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { bin } from '../../../tests/browser/stack.mjs';
import { ADMIN, MANAGER, apiCents, cents, eventually, logIn, screenshot, startChain } from './chain.mjs';

const SHOP = 'PARIS-OPERA';
/** The plan: Accessoires 5 %, one cable 12.5 % (its own rate wins), Smartphones 1.5 %. */
const RATES = {
  category: { Accessoires: '5', Smartphones: '1.5' },
  product: { 'ACC-CBL-CC1': '12.5' },
};
/** Staff of the shop at head office; S104 sells too but is nobody's staff. */
const STAFF = ['S101', 'S102', 'S103'];

let chain;
let till;
let returned; // { ticket, line, seller, original: { number, line } }

/** `YYYY-MM` of an instant in Paris, the shop's time zone. */
const parisMonth = (iso) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit' }).format(new Date(iso));

function previousMonth(month) {
  const [y, m] = month.split('-').map(Number);
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

/** `percent` % of `baseCents`, to the cent, half away from zero (BigInt, no float). */
function commissionCents(baseCents, percent) {
  const [units, fraction = ''] = percent.split('.');
  const scaled = BigInt(units) * 10_000n + BigInt(fraction.padEnd(4, '0'));
  const product = BigInt(baseCents) * scaled;
  const denominator = 1_000_000n;
  const magnitude = product < 0n ? -product : product;
  let quotient = magnitude / denominator;
  if (2n * (magnitude % denominator) >= denominator) quotient += 1n;
  return Number(product < 0n ? -quotient : quotient);
}

/** The till's tickets, read from its own ledger file. */
function ledgerTickets() {
  const rows = JSON.parse(
    execFileSync('sqlite3', ['-json', till.db, "SELECT seq, at, CAST(body AS TEXT) AS body FROM records WHERE chain = 'ticket' ORDER BY seq"], {
      encoding: 'utf8',
    }) || '[]',
  );
  return rows.map((r) => ({ number: r.seq, at: r.at, ticket: JSON.parse(r.body).payload }));
}

/** The commissions of `month` computed here from the ledger: per seller, the staff total. */
function expected(month) {
  const sellers = new Map();
  for (const { at, ticket } of ledgerTickets()) {
    if (parisMonth(at) !== month) continue;
    for (const line of ticket.lines) {
      if (!line.seller) continue;
      const percent = RATES.product[line.product_id] ?? RATES.category[line.category] ?? '0';
      const earned = commissionCents(apiCents(line.total_excluding_vat), percent);
      sellers.set(line.seller, (sellers.get(line.seller) ?? 0) + earned);
    }
  }
  let total = 0;
  for (const [seller, amount] of sellers) if (STAFF.includes(seller)) total += amount;
  return { sellers, total };
}

async function apiJson(page, path) {
  return page.evaluate(async (p) => {
    const response = await fetch(p);
    return { status: response.status, body: await response.json() };
  }, path);
}

async function download(page, testid) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(chain.dir, `${testid}-${file.suggestedFilename()}`);
  await file.saveAs(path);
  return { path, name: file.suggestedFilename() };
}

/** CSV rows as objects (the server quotes only what needs it; none of these fields do). */
function csvRows(path) {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const columns = header.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [columns[i], v])));
}

/** A sheet's rows as objects, read with exceljs. */
async function xlsxRows(path, sheetName) {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(path);
  const sheet = workbook.getWorksheet(sheetName);
  assert.ok(sheet, `the workbook has a sheet ${sheetName}`);
  const columns = sheet.getRow(1).values.slice(1);
  const rows = [];
  sheet.eachRow((row, n) => {
    if (n > 1) rows.push(Object.fromEntries(row.values.slice(1).map((v, i) => [columns[i], v])));
  });
  return rows;
}

/** Cents of an XLSX amount cell (a number of euros). */
const xlsxCents = (value) => Math.round(Number(value) * 100);

before(async () => {
  chain = await startChain();
  till = chain.tills.find((t) => t.shop === SHOP);
  const server = bin('sync-server');
  for (const id of STAFF) {
    execFileSync(server, ['--db', chain.db, 'admin', 'staff', 'add', '--shop', SHOP, '--name', `Vendeur ${id}`, '--role', 'cashier', '--id', id], {
      input: '4321\n',
    });
  }
  chain.admin('commission', 'set', '--target', 'category', '--key', 'Smartphones', '--percent', RATES.category.Smartphones);
  chain.admin('commission', 'set', '--target', 'product', '--key', 'ACC-CBL-CC1', '--percent', RATES.product['ACC-CBL-CC1']);
  // Accessoires is set from the app (below), like an admin would.

  // Six weeks of trading ending yesterday, then a return today of a line sold last month.
  till.json(['demo', '--tickets', '90', '--days', '42', '--seed', '14']);
  const thisMonth = parisMonth(new Date().toISOString());
  const lastMonth = previousMonth(thisMonth);
  const candidates = ledgerTickets().filter(
    ({ at, ticket }) => parisMonth(at) === lastMonth && ticket.kind === 'sale' && ticket.tenders.every((t) => t.kind === 'card' || t.kind === 'cash'),
  );
  for (const { number, ticket } of candidates.reverse()) {
    const line = ticket.lines.find((l) => l.seller && STAFF.includes(l.seller) && (l.category === 'Accessoires' || RATES.product[l.product_id]));
    if (!line) continue;
    try {
      const recorded = till.json(['return'], JSON.stringify({ original: number, lines: [{ line: line.line, quantity: line.quantity.units ?? 1 }] }));
      returned = { number: recorded.number, seller: line.seller, original: { number, line: line.line } };
      break;
    } catch {
      // already given back by the demo's own returns: try another ticket
    }
  }
  assert.ok(returned, 'a line of last month was returned today');
  till.sync();
});

after(async () => {
  await chain?.close();
});

test('the commission report of last month and of this month equals an independent computation from the tickets, the return clawing back this month', async () => {
  const page = await chain.page();
  await logIn(page, chain.app, ADMIN.id);
  await page.getByTestId('who').waitFor();
  await page.goto(`${chain.app}#/commissions`);

  // The admin sets the Accessoires rate in the app.
  await page.getByTestId('rate-target').selectOption('category');
  await page.getByTestId('rate-key').fill('Accessoires');
  await page.getByTestId('rate-percent').fill('5');
  await page.getByTestId('rate-form').getByRole('button').click();
  await page.getByTestId('plan').getByText('Accessoires').waitFor();

  const thisMonth = parisMonth(new Date().toISOString());
  const lastMonth = previousMonth(thisMonth);
  for (const month of [lastMonth, thisMonth]) {
    const mine = expected(month);
    const { status, body: report } = await apiJson(page, `/api/v1/hq/commissions?month=${month}`);
    assert.equal(status, 200);
    const got = new Map([...report.sellers, ...report.unknown_sellers].map((s) => [s.seller, apiCents(s.commission)]));
    assert.deepEqual(got, mine.sellers, `${month}: each seller's commission equals the one computed from the till's ledger`);
    assert.equal(apiCents(report.total), mine.total, `${month}: the total counts the staff only`);
    if (mine.sellers.has('S104')) {
      assert.deepEqual(report.unknown_sellers.map((s) => s.seller), ['S104'], `${month}: S104, who is not staff of the shop, is reported apart`);
    }

    await page.getByTestId('month').fill(month);
    await page.getByRole('button', { name: 'Afficher' }).click();
    await page.getByTestId('commission-total').filter({ hasText: new RegExp(
      new Intl.NumberFormat('fr-FR', { minimumFractionDigits: 2 }).format(mine.total / 100).replace(/\s/g, '\\s'),
    ) }).waitFor();
    assert.equal(cents(await page.getByTestId('commission-total').textContent()), mine.total, `${month}: the screen shows the computed total`);
  }

  // This month's report holds the return's line, clawing back what the sold line earned.
  const { body: now } = await apiJson(page, `/api/v1/hq/commissions?month=${thisMonth}`);
  const { body: before } = await apiJson(page, `/api/v1/hq/commissions?month=${lastMonth}`);
  const back = now.sellers.find((s) => s.seller === returned.seller).lines.find((l) => l.ticket === returned.number);
  const sold = before.sellers
    .find((s) => s.seller === returned.seller)
    .lines.find((l) => l.ticket === returned.original.number && l.line === returned.original.line);
  assert.ok(back.returned && apiCents(back.commission) < 0, 'the return line claws back');
  assert.equal(apiCents(back.commission), -apiCents(sold.commission), 'the claw-back is exactly what the line earned last month');
  assert.ok(apiCents(now.sellers.find((s) => s.seller === returned.seller).clawed_back) < 0, "this month's row shows the claw-back");
  await screenshot(page, 'commissions');

  // A shop manager may not read another shop's commissions (the API enforces it).
  const manager = await chain.page();
  await logIn(manager, chain.app, MANAGER.id);
  await manager.getByTestId('who').waitFor();
  const forbidden = await apiJson(manager, `/api/v1/hq/commissions?month=${thisMonth}&shop=${SHOP}`);
  assert.equal(forbidden.status, 403, "another shop's commissions are refused to a shop manager");
  const own = await apiJson(manager, `/api/v1/hq/commissions?month=${thisMonth}`);
  assert.ok(own.body.sellers.every((s) => s.shop === MANAGER.shop), 'a shop manager sees their shop only');
  const plan = await manager.evaluate(async () => (await fetch('/api/v1/hq/commissions/plan', {
    method: 'PUT', headers: { 'content-type': 'application/json', 'x-pos-hq': '1' }, body: JSON.stringify({ target: 'category', key: 'Audio', percent: '50' }),
  })).status);
  assert.equal(plan, 403, 'only admins set the plan');
  await manager.context().close();
  await page.context().close();
});

test('the payroll CSV and XLSX hold the figures of the screen', async () => {
  const page = await chain.page();
  await logIn(page, chain.app, ADMIN.id);
  await page.getByTestId('who').waitFor();
  const lastMonth = previousMonth(parisMonth(new Date().toISOString()));
  await page.goto(`${chain.app}#/commissions`);
  await page.getByTestId('month').fill(lastMonth);
  await page.getByRole('button', { name: 'Afficher' }).click();
  const { body: report } = await apiJson(page, `/api/v1/hq/commissions?month=${lastMonth}`);
  await eventually(
    async () => cents((await page.getByTestId('commission-total').textContent()) ?? '') === apiCents(report.total),
    `the screen showing ${lastMonth}`,
  );
  const screenTotal = cents(await page.getByTestId('commission-total').textContent());
  const shownSellers = await page.getByTestId('commissions').locator('td[data-col="seller"]').allTextContents();
  const shownAmounts = (await page.getByTestId('commissions').locator('td[data-col="commission"]').allTextContents()).map(cents);
  const screen = new Map(shownSellers.map((s, i) => [s, shownAmounts[i]]));

  const csv = await download(page, 'commissions-export-csv');
  assert.match(csv.name, new RegExp(`commissions-${lastMonth}\\.csv`));
  const staffRows = csvRows(csv.path).filter((r) => r.status === 'staff');
  assert.deepEqual(new Map(staffRows.map((r) => [r.seller, apiCents(r.commission)])), screen, 'the CSV holds each seller of the screen with the same commission');
  assert.equal(staffRows.reduce((s, r) => s + apiCents(r.commission), 0), screenTotal, 'the CSV adds up to the screen total');

  const xlsx = await download(page, 'commissions-export-xlsx');
  const sheet = await xlsxRows(xlsx.path, 'Commissions');
  const xlsxStaff = sheet.filter((r) => r.status === 'staff');
  assert.deepEqual(new Map(xlsxStaff.map((r) => [r.seller, xlsxCents(r.commission)])), screen, 'the XLSX holds each seller of the screen with the same commission');
  const lines = await xlsxRows(xlsx.path, 'Lignes');
  const fromLines = lines.filter((l) => STAFF.includes(l.seller)).reduce((s, l) => s + xlsxCents(l.commission), 0);
  assert.equal(fromLines, screenTotal, "the XLSX's lines add up to the screen total");
  await page.context().close();
});

test("the period screen's by-shop table exports to CSV and XLSX with the same figures", async () => {
  const page = await chain.page();
  await logIn(page, chain.app, ADMIN.id);
  await page.getByTestId('who').waitFor();
  await page.goto(`${chain.app}#/period`);
  await page.getByTestId('by-shop').locator('td[data-col="key"]').first().waitFor();
  const keys = await page.getByTestId('by-shop').locator('td[data-col="key"]').allTextContents();
  const amounts = (await page.getByTestId('by-shop').locator('td[data-col="amount"]').allTextContents()).map(cents);
  const screen = new Map(keys.map((k, i) => [k, amounts[i]]));
  assert.ok(screen.get(SHOP) > 0, 'the period holds the demo sales');

  const csv = await download(page, 'export-by-shop-csv');
  assert.deepEqual(new Map(csvRows(csv.path).map((r) => [r.shop, apiCents(r.amount)])), screen, 'the CSV holds the screen figures');
  const xlsx = await download(page, 'export-by-shop-xlsx');
  assert.deepEqual(new Map((await xlsxRows(xlsx.path, 'shop')).map((r) => [r.shop, xlsxCents(r.amount)])), screen, 'the XLSX holds the screen figures');
  await screenshot(page, 'period-exports');

  // The accountants' files of the entity: FEC and hledger download from the exports screen.
  await page.goto(`${chain.app}#/exports`);
  await page.getByTestId('fec-ACME').waitFor();
  const fec = await download(page, 'fec-ACME');
  assert.match(fec.name, /^123456789FEC\d{8}\.txt$/, 'the FEC is named SIREN FEC closing date');
  assert.match(readFileSync(fec.path, 'latin1'), /^JournalCode\|/, 'the FEC starts with its header');
  const ledger = await download(page, 'hledger-ACME');
  assert.match(readFileSync(ledger.path, 'utf8'), /\d{4}-\d{2}-\d{2} /, 'the hledger journal holds dated entries');
  await screenshot(page, 'exports');
  await page.context().close();
});
