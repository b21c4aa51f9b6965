// Browser test of the stock screen against the real engine and a REAL head office: a shipping
// notice posted to head office's logistics API reaches the till by sync; a manager receives the
// delivery by scanning, one cable missing; the confirmation shows the difference before it is
// recorded; the till's recorded receipt and head office's stock both show that line short by
// one. Then the stock of the cable at the till: head office's figure, and with head office
// down, the same figure marked as old. Without head office: a blind count by scanning (the
// counter never sees an expected quantity), goods sent to another shop and a transfer received
// one short of what was sent; a cashier has no stock tab.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CASHIER, MANAGER, eventually, launchBrowser, startHeadOffice } from './harness.mjs';
import { login, scan, text, withTill as run } from './ui.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});
const withTill = (options, body, name) => run(browser, options, body, name);

const SHOP = 'PARIS-OPERA';
const CASE = 'ACC-COQ-IP16';
const CABLE = 'ACC-CBL-CC1';

describe('the stock screen', () => {
  it('receives a delivery against its notice by scanning, one item missing', async () => {
    const office = await startHeadOffice();
    try {
      // Logistics posts the notice through head office's API (the least-privilege role).
      const { token } = office.admin('user', 'create', '--id', 'lea', '--name', 'Léa Logistique', '--role', 'logistics');
      const posted = await fetch(`${office.url}/api/v1/logistics/shipping-notices`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          id: 'ASN-9001',
          shop_id: SHOP,
          lines: [
            { product_id: CASE, quantity: 3 },
            { product_id: CABLE, quantity: 2 },
          ],
        }),
      });
      assert.equal(posted.status, 201, await posted.text());
      const headOfficeStock = async (product) => {
        const response = await fetch(`${office.url}/api/v1/stock/available?products=${product}&shops=${SHOP}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const levels = await response.json();
        return levels.find((l) => l.product_id === product)?.on_hand ?? null;
      };

      await withTill({ headOffice: office, syncEvery: 1 }, async (stack, page) => {
        await login(page, MANAGER.pin);
        await page.getByTestId('nav-stock').click();
        await page.getByTestId('stock-screen').waitFor();
        // The notice came down with the till's sync.
        await page.getByTestId('stock-notice-ASN-9001').click();
        await page.getByTestId('stock-receiving').waitFor();
        for (const id of [CASE, CASE, CASE, CABLE]) {
          await scan(page, stack.product(id).barcode);
        }
        const scanned = (id) => page.locator(`[data-testid="stock-line"][data-product="${id}"] [data-testid="stock-line-scanned"]`);
        await eventually(async () => (await scanned(CASE).innerText()) === '3' && (await scanned(CABLE).innerText()) === '1',
          'each scan adds one unit to its line');
        const expected = (id) => page.locator(`[data-testid="stock-line"][data-product="${id}"] [data-testid="stock-line-expected"]`);
        assert.equal(await expected(CABLE).innerText(), '2', 'the notice\'s expected quantity is shown beside what was scanned');

        await page.getByTestId('stock-confirm-receipt').click();
        await page.getByTestId('stock-confirm').waitFor();
        const differences = await page.getByTestId('stock-difference').allInnerTexts();
        assert.equal(differences.length, 1, `only the cable differs: ${differences}`);
        assert.match(differences[0], /1 manquant/, 'the confirmation shows the missing cable before recording');
        await page.getByTestId('stock-record').click();
        await page.getByTestId('stock-recorded').waitFor();

        const [receipt] = await stack.api('stock_operations', { limit: 1 });
        assert.equal(receipt.kind, 'goods_receipt');
        assert.equal(receipt.asn, 'ASN-9001');
        const cable = receipt.lines.find((l) => l.product_id === CABLE);
        assert.deepEqual([cable.expected, cable.quantity, cable.missing], [2, 1, 1],
          'the till recorded the cable line short by one against the notice');
        assert.equal(await page.getByTestId('stock-notice-ASN-9001').count(), 0, 'the received notice is no longer waiting');

        // The background sync takes the receipt to head office.
        await eventually(async () => (await headOfficeStock(CABLE)) === 1, 'head office\'s stock of the cable: 1 (one missing)', 30_000);
        assert.equal(await headOfficeStock(CASE), 3, 'the cases all arrived');

        // The stock of the cable at the till: head office's answer, then the kept one, marked old.
        await page.getByTestId('stock-mode-onhand').click();
        await page.getByTestId('stock-onhand-product').fill(CABLE);
        await page.getByTestId('stock-onhand-product').press('Enter');
        await page.getByTestId('stock-onhand-here').waitFor();
        assert.match(await text(page, 'stock-onhand-here'), /1 en stock/, 'head office\'s figure for this shop');
        assert.equal(await page.getByTestId('stock-onhand-stale').count(), 0, 'a live answer is not marked old');
        await office.stop();
        await page.getByTestId('stock-onhand-product').press('Enter');
        await page.getByTestId('stock-onhand-stale').waitFor();
        assert.match(await text(page, 'stock-onhand-here'), /1 en stock/, 'the kept figure is shown');
        assert.match(await text(page, 'stock-onhand-age'), /il y a \d+ min/, 'marked with its age');
      }, 'stock delivery');
    } finally {
      await office.close();
    }
  });

  it('counts blind, sends a transfer and receives one short by scanning; a cashier has no stock tab', async () => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      assert.equal(await page.getByTestId('nav-stock').count(), 0, 'stock work is not a cashier\'s');
      await page.getByTestId('logout').click();
      await login(page, MANAGER.pin);
      await page.getByTestId('nav-stock').click();
      await page.getByTestId('stock-mode-count').click();
      await page.getByTestId('stock-count-start').click();
      await page.getByTestId('stock-count-open').waitFor();
      for (const id of [CASE, CASE, CABLE]) await scan(page, stack.product(id).barcode);
      const scanned = (id) => page.locator(`[data-testid="stock-line"][data-product="${id}"] [data-testid="stock-line-scanned"]`);
      await eventually(async () => (await scanned(CASE).innerText().catch(() => '')) === '2', 'the count of cases');
      assert.equal(await page.getByTestId('stock-line-expected').count(), 0, 'a blind count shows no expected quantity');
      await page.getByTestId('stock-count-finish').click();
      await page.getByTestId('stock-recorded').waitFor();
      const [counted] = await stack.api('stock_operations', { limit: 1 });
      assert.equal(counted.kind, 'count_finished');
      assert.deepEqual(counted.lines.map((l) => [l.product_id, l.quantity]), [[CASE, 2], [CABLE, 1]], 'what was scanned is what was counted');

      await page.getByTestId('stock-mode-send').click();
      await page.getByTestId('stock-to-shop').fill('LYON-BELLECOUR');
      // Back to the scan field, as the stock keeper does after typing the shop.
      await page.getByTestId('stock-code').focus();
      await scan(page, stack.product(CABLE).barcode);
      await eventually(async () => (await scanned(CABLE).innerText().catch(() => '')) === '1', 'the cable to send');
      await page.getByTestId('stock-send').click();
      await page.getByTestId('stock-recorded').waitFor();
      const [sent] = await stack.api('stock_operations', { limit: 1 });
      assert.deepEqual([sent.kind, sent.other_shop, sent.lines[0].quantity], ['transfer_out', 'LYON-BELLECOUR', 1]);

      // A transfer from another shop arrives one case short of what it sent.
      await page.getByTestId('stock-mode-arrival').click();
      await page.getByTestId('stock-transfer-id').fill('T-LYON-1-7');
      await page.getByTestId('stock-from-shop').fill('LYON-BELLECOUR');
      await page.getByTestId('stock-code').focus();
      await scan(page, stack.product(CASE).barcode);
      await eventually(async () => (await scanned(CASE).innerText().catch(() => '')) === '1', 'the case arrived');
      await page.getByTestId('stock-line-sent').fill('2');
      await page.getByTestId('stock-arrive').click();
      await page.getByTestId('stock-recorded').waitFor();
      const [arrived] = await stack.api('stock_operations', { limit: 1 });
      assert.deepEqual([arrived.kind, arrived.other_shop, arrived.lines[0].expected, arrived.lines[0].missing], ['transfer_in', 'LYON-BELLECOUR', 2, 1],
        'the difference on arrival is recorded against what was sent');
    }, 'stock count and transfer');
  });
});
