// A web order paid online returned at the till, in the browser, against a real head office
// (the sync server on SQLite) and a till enrolled with it: the order handed over at the
// counter, then brought back with its pickup QR code on the returns screen, one unit of its
// collected lines refunded in cash (the till cannot refund the web payment: the screen says
// so), and head office showing the return beside the order after the sync.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CASHIER, eventually, launchBrowser, startHeadOffice } from './harness.mjs';
import { compact, fr, login, scan, text, withTill as run } from './ui.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

describe('web order returns', () => {
  it('returns a collected web order by its pickup code, and head office records it beside the order', async (t) => {
    const office = await startHeadOffice({
      webOrders: [
        {
          reference: 'WEB-1001',
          customer: 'Chloé Bernard',
          lines: ['ACC-COQ-IP16|Coque silicone iPhone 16|2|25.00', 'ACC-CBL-CC1|Câble USB-C vers USB-C 1 m|1|14.90'],
        },
      ],
    });
    const hq = office.admin('user', 'create', '--name', 'Head office', '--role', 'admin').token;
    const [order] = office.orders;
    try {
      await run(browser, { headOffice: office, syncEvery: 1 }, async (stack, page) => {
        await login(page, CASHIER.pin);

        // Handed over in full at the counter, from the customer's QR code.
        await page.keyboard.press('F5');
        await page.getByTestId('collect-screen').waitFor();
        await eventually(async () => (await page.getByTestId('collect-order').count()) === 1, 'the order received');
        await page.getByTestId('collect-find').focus();
        await scan(page, order.pickup_code);
        await page.getByTestId('collect-code-checked').waitFor();
        await page.keyboard.press('Alt+H');
        await eventually(async () => (await page.getByTestId('collect-detail').getAttribute('data-state')) === 'collected', 'handed over');

        // Days later the customer brings a case back with the same QR code.
        await page.keyboard.press('F2');
        await page.getByTestId('returns-screen').waitFor();
        await page.getByTestId('return-find').focus();
        await scan(page, order.pickup_code);
        await page.getByTestId('web-return-order').waitFor();
        assert.match(await text(page, 'web-return-order'), /WEB-1001/);
        assert.match(await text(page, 'web-return-order'), /code de retrait du client/, 'found by the customer’s own code');
        assert.match(await text(page, 'web-return-note'), /ne peut pas rembourser le paiement en ligne/);
        assert.equal(await page.getByTestId('web-return-line').count(), 2);
        assert.equal(await page.getByTestId('web-refund-original').count(), 0, 'no refund “as paid”: the web payment is out of reach');

        // A typed reference the till does not know is refused in French.
        await page.getByTestId('return-find').fill('WEB-9999');
        await page.getByTestId('return-find').press('Enter');
        await eventually(async () => /Commande web inconnue/.test(await text(page, 'error-banner')), 'an unknown reference refused');
        await page.getByTestId('return-find').fill(order.pickup_code.toLowerCase());
        await page.getByTestId('return-find').press('Enter');
        await page.getByTestId('web-return-order').waitFor();

        // One of the two cases back, in cash.
        await page.keyboard.press('Alt+1');
        await page.getByTestId('web-return-qty').first().fill('1');
        await page.getByTestId('web-return-qty').first().dispatchEvent('change');
        await eventually(async () => compact(await text(page, 'web-return-total')).endsWith(fr('-25.00')), 'one case quoted at the online price');
        await page.keyboard.press('F9');
        await page.getByTestId('receipt-screen').waitFor();
        const printed = await eventually(() => stack.printed().find((r) => r.includes('Retour commande web')), 'the return receipt');
        assert.match(printed, new RegExp(`Retour commande web ${order.id}`));
        assert.match(printed, /TOTAL TTC EUR\s+-25\.00/);

        // Back on the returns screen, one case is left to return.
        await page.keyboard.press('F2');
        await page.getByTestId('return-find').fill('WEB-1001');
        await page.getByTestId('return-find').press('Enter');
        await page.getByTestId('web-return-order').waitFor();
        assert.deepEqual(await page.getByTestId('web-return-left').allInnerTexts(), ['1', '1']);

        // Head office: the order stays collected, the return recorded beside it, the refund in
        // the shop's sales.
        const auth = { headers: { authorization: `Bearer ${hq}` } };
        const held = await eventually(async () => {
          const answer = await (await fetch(`${office.url}/api/v1/web-orders/${order.id}`, auth)).json();
          return JSON.stringify(answer.returned) === JSON.stringify([{ line: 1, quantity: 1 }]) && answer;
        }, 'head office recording the return beside the order', 30_000);
        assert.equal(held.state, 'collected', 'the handover stands: the return is recorded beside it');
        assert.deepEqual(held.collected, [{ line: 1, quantity: 2 }, { line: 2, quantity: 1 }]);
        const response = await fetch(`${office.url}/api/v1/hq/sales?by=tender`, auth);
        assert.equal(response.status, 200);
        assert.equal((await response.json()).total, '-25.00', 'the cash refund in head office sales');
        const feed = await fetch(`${office.url}/api/v1/feed?after=0&limit=5000`, auth);
        const events = (await feed.json()).events ?? [];
        assert.ok(
          events.some((e) => e.type === 'pos.web_order.returned' && e.data?.order?.id === order.id),
          'the web shop is told of the return',
        );
      }, t.name);
    } finally {
      await office.close();
    }
  });
});
