// Head office's rules at the till, in the browser against a real head office (the sync server on
// SQLite): a promotion set with the admin binary prices the scanned line by itself and prints on
// the receipt; the payment screen offers only the means of payment the shop takes, under the
// label head office gave, with its limit.
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

/** `YYYY-MM-DD`, `days` from today. */
const day = (days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe('shop rules from head office', () => {
  it('applies a promotion by itself and offers only the tenders the shop takes', async (t) => {
    const office = await startHeadOffice();
    const shop = 'PARIS-OPERA';
    office.admin('promotion', 'set', '--id', 'CABLES-30', '--label', 'Câbles -30 %', '--from', day(-1), '--to', day(30),
      '--percent', '30', '--product', 'ACC-CBL-CC1');
    office.admin('tender', 'set', '--shop', shop, '--kind', 'cheque', '--refuse');
    office.admin('tender', 'set', '--shop', shop, '--kind', 'voucher', '--label', 'Titre-restaurant', '--max', '5.00');
    try {
      await run(browser, { headOffice: office, syncEvery: 1 }, async (stack, page) => {
        await login(page, CASHIER.pin);
        const cable = stack.product('ACC-CBL-CC1');
        assert.equal(cable.price, '14.90');

        await scan(page, cable.barcode);
        await page.getByTestId('promotion-tag').waitFor();
        assert.match(await text(page, 'promotion-tag'), /Câbles -30 %/);
        await eventually(async () => compact(await text(page, 'line-total')) === fr('10.43'), 'the line at 14.90 less 30 %');

        // 30 % is above the cashier's 20 % discount limit, but a promotion is head office's
        // decision: the sale goes to payment without a manager.
        await page.keyboard.press('F9');
        await page.getByTestId('payment-screen').waitFor();
        await page.getByTestId('tender-voucher').waitFor();
        // The shop's tender rules come with the feed the background sync applies: once the
        // voucher shows head office's label, the rules are those the screen offers.
        await eventually(async () => /Titre-restaurant/.test(await text(page, 'tender-voucher')), 'the voucher under head office\'s label');
        assert.equal(await page.getByTestId('tender-cheque').count(), 0, 'cheques are not offered');
        assert.match(compact(await text(page, 'tender-limit-voucher')), /5,00/);
        // Choosing the voucher proposes its limit, not the whole amount due.
        await page.keyboard.press('Alt+O');
        assert.equal(await page.getByTestId('tender-amount').inputValue(), '5,00');
        await page.getByTestId('tender-reference').fill('TR-1');
        await page.getByTestId('tender-amount').press('Enter');
        await page.keyboard.press('Alt+E');
        await page.getByTestId('tender-amount').press('Enter');
        await page.getByTestId('receipt-screen').waitFor();

        const printed = await eventually(() => stack.printed().find((r) => /Promo C.bles -30 %/.test(r)), 'the receipt naming the promotion');
        assert.match(printed, /-4\.47/, 'the promotion takes 4.47 off');
        assert.match(printed, /10\.43/);
      }, t.name);
    } finally {
      await office.close();
    }
  });
});
