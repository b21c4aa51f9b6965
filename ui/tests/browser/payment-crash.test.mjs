// Browser test of a card payment across a crash of the engine: the terminal simulator approves a
// card payment on the payment screen, `till-app-http` is killed with SIGKILL before the sale is
// recorded and started again on the same ledger. The app then shows the payment as charged and
// not yet on a ticket; the sale is completed with it; a second use on another ticket is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CASHIER, eventually, launchBrowser } from './harness.mjs';
import { cartLines, compact, fr, login, openTill, scan, tender, text, withTill as run } from './ui.mjs';

const withTill = (options, body, name) => run(browser, options, body, name);
let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Scans the coque (29.99) and the cable (14.90): a cart of 44.89. */
async function fillCart(page, stack) {
  await scan(page, stack.product('ACC-COQ-IP16').barcode);
  await cartLines(page, 1);
  await scan(page, stack.product('ACC-CBL-CC1').barcode);
  await cartLines(page, 2);
  await eventually(async () => compact(await text(page, 'sale-total')) === `Total${fr('44.89')}`, 'the engine prices the cart');
}

/**
 * After a restart: the app at its new address, logged in (a second screen of the till joins the
 * session the first one opened), showing the unused charge.
 */
async function reopened(page, stack) {
  await page.goto(stack.url);
  await page.getByTestId('login-pin').or(page.getByTestId('sale-screen')).first().waitFor();
  if (await page.getByTestId('login-pin').isVisible()) await login(page, CASHIER.pin);
  await page.getByTestId('unresolved-payment').waitFor();
}

describe('a card payment across a crash of the till', () => {
  it('shows an approval the crash left off a ticket as charged, completes the sale with it, and refuses it on a second ticket', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      await fillCart(page, stack);
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      // Part of the sale by card: approved by the terminal, the rest still due, nothing recorded.
      await tender(page, 'B', '20,00');
      await eventually(async () => (await page.getByTestId('tender').count()) === 1, 'the approved card payment in the tenders');
      assert.equal(compact(await text(page, 'pay-due')), fr('24.89'), 'the rest is due after the card');
      const [charged] = await stack.api('card_payments_charged');
      assert.equal(charged?.charged, '20.00', 'the terminal charged the card');

      // The till dies before the sale is recorded, and comes back on the same ledger.
      await stack.crash();
      await stack.restart();
      const second = await openTill(browser, stack.url);
      try {
        await reopened(page, stack);
        // A second screen of the same till, opened before the sale is completed, sees the same charge.
        await reopened(second, stack);
        for (const screen of [page, second]) {
          assert.match(await text(screen, 'charged-unused'), /Débité, pas encore sur un ticket/, 'the restarted app shows the charge as not yet on a ticket');
          assert.match(compact(await text(screen, 'charged-help')), new RegExp(fr('20.00')), 'with the amount charged');
        }

        // The sale is completed with the charge, the rest in cash.
        await page.getByTestId('charged-use').click();
        await fillCart(page, stack);
        await page.keyboard.press('F9');
        await page.getByTestId('payment-screen').waitFor();
        assert.equal(await page.getByTestId('tender').count(), 1, 'the charge is among the tenders');
        assert.equal(compact(await text(page, 'pay-due')), fr('24.89'), 'the engine counts the charge as paid');
        await tender(page, 'E', '24,89');
        await page.getByTestId('receipt-screen').waitFor();
        const number = Number((await text(page, 'ticket-number')).match(/\d+/)[0]);
        const recorded = await stack.api('find_ticket', { number });
        const card = recorded.ticket.tenders.find((x) => x.kind === 'card');
        assert.equal(card?.amount, '20.00', 'the ticket holds the charge found after the restart');
        assert.deepEqual(await stack.api('card_payments_charged'), [], 'a charge on a ticket is no longer listed as unused');

        // The other screen tries to use the same charge on another ticket: the engine refuses it.
        const paid = (await stack.api('find_ticket', { number })).ticket.number;
        await second.getByTestId('charged-use').click();
        await scan(second, stack.product('ACC-COQ-IP16').barcode);
        await cartLines(second, 1);
        await eventually(async () => compact(await text(second, 'sale-total')) === `Total${fr('29.99')}`, 'the engine prices the other cart');
        await second.keyboard.press('F9');
        await second.getByTestId('payment-screen').waitFor();
        await tender(second, 'E', '9,99');
        await second.getByTestId('error-banner').waitFor();
        assert.equal(await second.getByTestId('error-banner').getAttribute('data-code'), 'payment_not_approved', 'one approval never pays a second ticket');
        assert.equal(await second.getByTestId('receipt-screen').count(), 0, 'no second ticket was recorded');
        const next = await stack.api('find_ticket', { number: paid + 1 }).catch(() => null);
        assert.equal(next, null, 'the ledger holds no ticket after the one the charge paid');
      } finally {
        await second.close();
      }
    }, t.name);
  });
});
