// Click & collect in the browser against a real head office (the sync server on SQLite) and a
// till enrolled with it: an order prepared by scanning its products, then handed over while
// head office is down (one paid online, one paid in cash at pickup), and both handovers and
// the payment's ticket reaching head office once it is back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CASHIER, eventually, launchBrowser, startHeadOffice } from './harness.mjs';
import { compact, fr, login, scan, tender, text, withTill as run } from './ui.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const detailState = (page) => page.getByTestId('collect-detail').getAttribute('data-state');

describe('click & collect', () => {
  it('hands orders over offline, and head office learns of it after reconnecting', async (t) => {
    const office = await startHeadOffice({
      webOrders: [
        {
          reference: 'WEB-1001',
          customer: 'Chloé Bernard',
          lines: ['ACC-COQ-IP16|Coque silicone iPhone 16|1|29.99', 'ACC-CBL-CC1|Câble USB-C vers USB-C 1 m|2|14.90'],
        },
        { reference: 'WEB-1002', customer: 'Karim Haddad', payment: 'pay-in-shop', lines: ['ACC-CHG-25W|Chargeur secteur USB-C 25 W|1|24.90'] },
      ],
    });
    const hq = office.admin('user', 'create', '--name', 'Head office', '--role', 'admin').token;
    const states = () => Object.fromEntries(office.admin('web-order', 'list').map((o) => [o.reference, o.state]));
    try {
      await run(browser, { headOffice: office, syncEvery: 1 }, async (stack, page) => {
        const [paidOnline, payInShop] = office.orders;
        await login(page, CASHIER.pin);
        await eventually(async () => (await text(page, 'status-online')).includes('En ligne'), 'the till online at first');

        // Head office goes away: from here on the shop works offline.
        await office.stop();
        await page.keyboard.press('F5');
        await page.getByTestId('collect-screen').waitFor();
        await eventually(async () => (await page.getByTestId('collect-order').count()) === 2, 'the two orders received at the first sync');

        // WEB-1001 is prepared by scanning its products (into the code field, which takes a
        // scan whole however slowly it comes), a wrong one refused on the way.
        await page.locator(`[data-order="${paidOnline.id}"]`).click();
        const picked = () => page.getByTestId('collect-picked').allInnerTexts();
        const scanToPick = async (id, after) => {
          await page.getByTestId('collect-find').focus();
          await scan(page, stack.product(id).barcode);
          await eventually(async () => JSON.stringify(await picked()) === JSON.stringify(after), `${id} picked: ${after}`);
        };
        await scanToPick('ACC-COQ-IP16', ['1/1', '0/2']);
        await page.getByTestId('collect-find').focus();
        await scan(page, stack.product('ACC-SPK-BT').barcode);
        await eventually(async () => /pas dans cette commande/.test(await text(page, 'error-banner')), 'a product not in the order is refused');
        await scanToPick('ACC-CBL-CC1', ['1/1', '1/2']);
        await scanToPick('ACC-CBL-CC1', ['1/1', '2/2']);
        await eventually(async () => /Tous les articles sont préparés/.test(await text(page, 'collect-detail')), 'the order picked in full');
        await page.keyboard.press('Alt+R');
        await eventually(async () => (await detailState(page)) === 'ready', 'the order ready');

        // The customer shows the QR code of their pickup code; it was paid online.
        await page.getByTestId('collect-find').focus();
        await scan(page, paidOnline.pickup_code);
        await page.getByTestId('collect-code-checked').waitFor();
        await page.keyboard.press('Alt+H');
        await eventually(async () => (await detailState(page)) === 'collected', 'WEB-1001 handed over');

        // WEB-1002 is paid at pickup: its code typed loosely by hand, then paid in cash.
        const find = page.getByTestId('collect-find');
        await find.fill('NOPE-2345');
        await find.press('Enter');
        await eventually(async () => /Aucune commande à retirer n’a ce code/.test(await text(page, 'error-banner')), 'an unknown code refused, in French');
        await find.fill(`${payInShop.pickup_code.slice(0, 4).toLowerCase()}-${payInShop.pickup_code.slice(4)}`);
        await find.press('Enter');
        await eventually(
          async () => /WEB-1002/.test(await text(page, 'collect-detail')) && (await page.getByTestId('collect-code-checked').count()) === 1,
          'WEB-1002 found by its code',
        );
        await page.keyboard.press('Alt+H');
        await page.getByTestId('payment-screen').waitFor();
        assert.match(await text(page, 'pay-web-order'), /WEB-1002|WO-/);
        assert.equal(compact(await text(page, 'pay-due')), fr('24.90'));
        assert.equal(compact(await text(page, 'amount-due')).replace(/^\D+/, ''), fr('24.90'), 'the amount due is always shown');
        await tender(page, 'E', '30');
        await page.getByTestId('receipt-screen').waitFor();
        const printed = await eventually(() => stack.printed().find((r) => r.includes('Retrait commande web')), 'the receipt of the payment');
        assert.match(printed, new RegExp(`Retrait commande web ${payInShop.id}`));
        assert.match(printed, /TOTAL TTC EUR\s+24\.90/);
        assert.match(printed, /Rendu\s+5\.10/);

        // Still offline: the status bar says so, the records wait, head office knows nothing.
        await page.getByTestId('status-sync-now').click();
        await eventually(async () => (await text(page, 'status-online')).includes('Hors ligne'), 'offline shown');
        const waiting = Number((await text(page, 'status-waiting')).match(/\d+/)[0]);
        assert.ok(waiting >= 4, `the ready mark, two handovers and the ticket wait (${waiting} records)`);
        assert.deepEqual(states(), { 'WEB-1001': 'placed', 'WEB-1002': 'placed' });

        // Head office is back: one sync brings everything up.
        await office.start();
        await page.getByTestId('status-sync-now').click();
        await eventually(async () => (await text(page, 'status-online')).includes('En ligne'), 'online again', 30_000);
        await eventually(async () => /^0\b/.test(await text(page, 'status-waiting')), 'nothing left to sync', 30_000);
        assert.deepEqual(states(), { 'WEB-1001': 'collected', 'WEB-1002': 'collected' });
        const response = await fetch(`${office.url}/api/v1/hq/sales?by=tender`, { headers: { authorization: `Bearer ${hq}` } });
        assert.equal(response.status, 200);
        const sales = await response.json();
        assert.equal(sales.total, '24.90', 'the payment taken at pickup is in head office sales, once');
      }, t.name);
    } finally {
      await office.close();
    }
  });
});
