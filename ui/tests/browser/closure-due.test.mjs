// The app asks for the Z at the first action after the shop's closing hour: head office sets
// the shop's closing hour (`sync-server admin cash-office set`, here 0 h so that any time of the
// test is past it), the till's first sync brings it down, and once the day holds a sale the
// next screen the cashier reaches shows the closure prompt; "Later" quiets it until the next
// time the app opens, and "Go to closures" opens the closures screen.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CASHIER, launchBrowser, startHeadOffice } from './harness.mjs';
import { cashSale, login, text, withTill as run } from './ui.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

describe('the day closure', () => {
  it('is asked for at the first action after the shop closing hour', async (t) => {
    const office = await startHeadOffice();
    office.admin('cash-office', 'set', '--shop', 'PARIS-OPERA', '--payout-limit', '50.00', '--closing-hour', '0');
    try {
      await run(browser, { headOffice: office }, async (stack, page) => {
        await login(page, CASHIER.pin);
        assert.equal((await stack.api('cash_office_rules')).closing_hour, 0, 'head office\'s closing hour reached the till');
        assert.equal(await page.getByTestId('closure-due').count(), 0, 'nothing to close before the day holds a sale');

        await cashSale(page, [stack.product('ACC-CBL-CC1').barcode]);
        await page.getByTestId('closure-due').waitFor();
        assert.match(await text(page, 'closure-due'), /heure de fermeture/, 'the prompt says closing time is past');

        await page.getByRole('button', { name: 'Plus tard' }).click();
        await page.getByTestId('closure-due').waitFor({ state: 'detached' });

        // The app opened again (the engine keeps the session) is a new first action: asked
        // again, and the prompt leads to the Z.
        await page.reload();
        await page.getByTestId('sale-screen').waitFor();
        await page.getByTestId('closure-due-go').click();
        await page.getByTestId('closures-screen').waitFor();
        assert.equal(await page.getByTestId('closure-due').count(), 0, 'no prompt over the closures screen');
      }, t.name);
    } finally {
      await office.close();
    }
  });
});
