// The sale's customer in a browser, real engine and printer simulator: created at the till from
// what was typed, kept on a parked cart, named on the ticket and its receipt, found again by phone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { CASHIER, bin, eventually, launchBrowser } from './harness.mjs';
import { cartLines, compact, fr, login, scan, tender, text, withTill as run } from './ui.mjs';

const withTill = (options, body, name) => run(browser, options, body, name);
let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Types into the customer search and waits for the engine's answer to be shown. */
async function searchCustomer(page, typed) {
  const field = page.getByTestId('customer-search');
  await field.fill('');
  await field.pressSequentially(typed);
}

describe('customers at the till', () => {
  it('creates a customer from the search, sells to them, and finds them again by phone', async (t) => {
    await withTill({}, async (stack, page) => {
      // A customer already known at the till (added with the CLI), with a look-alike name.
      execFileSync(bin('till'), ['--db', stack.db, 'customers', 'add', '--name', 'Amélie Poulet', '--email', 'amelie@example.fr']);
      await login(page, CASHIER.pin);
      await scan(page, stack.product('ACC-COQ-IP16').barcode); // 29.99
      await cartLines(page, 1);

      // Alt+C opens the panel with the focus in its search; an unknown name finds nobody.
      await page.keyboard.press('Alt+C');
      await page.getByTestId('customer-panel').waitFor();
      await searchCustomer(page, 'amélie poulain');
      await page.getByTestId('customer-none').waitFor();
      // Enter without a result opens the form with the name typed.
      await page.keyboard.press('Enter');
      await page.getByTestId('customer-form').waitFor();
      assert.equal(await page.getByTestId('customer-name').inputValue(), 'amélie poulain');
      await page.getByTestId('customer-name').fill('Amélie Poulain');
      await page.keyboard.press('Tab');
      await page.keyboard.type('06 12');
      await page.keyboard.press('Enter');
      // A number that cannot be dialled is refused, saying what to type; nothing is lost.
      await page.getByTestId('customer-error').waitFor();
      assert.match(await text(page, 'customer-error'), /06 12 34 56 78/);
      await page.getByTestId('customer-phone').fill('06 12 98 76 54');
      await page.getByTestId('customer-email').fill('Amelie.Poulain@Example.FR');
      await page.getByTestId('customer-phone').press('Enter');
      await page.getByTestId('customer-panel').waitFor({ state: 'detached' });
      assert.equal(await text(page, 'cart-customer'), 'Client: Amélie Poulain · 06 12 98 76 54', 'the customer on the cart');

      // Parked and resumed, the cart keeps its customer.
      await page.keyboard.press('F10');
      await page.getByTestId('cart-customer').waitFor({ state: 'detached' });
      await page.keyboard.press('Alt+A');
      await page.getByTestId('parked-cart').first().waitFor();
      assert.match(await text(page, 'parked-list'), /Amélie Poulain/, 'the parked cart is labelled with the customer');
      await page.getByTestId('parked-cart').first().click();
      await cartLines(page, 1);
      await eventually(async () => (await page.getByTestId('cart-customer').count()) === 1, 'the customer back on the cart');
      assert.match(await text(page, 'cart-customer'), /Amélie Poulain/);

      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      await tender(page, 'E', '30');
      await page.getByTestId('receipt-screen').waitFor();
      const number = Number((await text(page, 'ticket-number')).match(/\d+/)[0]);
      const [created] = await stack.api('customer_search', { text: 'poulain' });
      assert.equal(created.email, 'Amelie.Poulain@example.fr', 'the e-mail domain in lower case');
      assert.equal(created.phone, '+33612987654', 'the phone number in E.164');
      const recorded = await stack.api('find_ticket', { number });
      assert.equal(recorded.ticket.customer, created.id, 'the ticket names the customer by id');
      const printed = await eventually(() => stack.printed().find((r) => r.includes('TOTAL TTC')), 'the receipt');
      assert.match(printed, /Client Am.lie Poulain/, 'the receipt names the customer');
      assert.match(await text(page, 'receipt-text'), /Client Amélie Poulain/, 'so does the preview');

      // The next sale: found by the start of the phone number, typed the international way.
      await page.keyboard.press('Enter');
      await page.getByTestId('sale-screen').waitFor();
      await scan(page, stack.product('ACC-CBL-CC1').barcode); // 14.90
      await cartLines(page, 1);
      await page.keyboard.press('Alt+C');
      await searchCustomer(page, '+33 6 12 98');
      await eventually(async () => (await page.getByTestId('customer-result').count()) === 1, 'one customer with this number');
      assert.match(await text(page, 'customer-results'), /Amélie Poulain/);
      // Accents and case do not matter; the arrows choose among several, Enter takes one.
      await searchCustomer(page, 'AMELIE');
      await eventually(async () => (await page.getByTestId('customer-result').count()) === 2, 'both Amélies');
      const names = await page.getByTestId('customer-result').allInnerTexts();
      assert.match(names[0], /Amélie Poulain/, 'by name: Poulain before Poulet');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await page.getByTestId('customer-panel').waitFor({ state: 'detached' });
      assert.match(await text(page, 'cart-customer'), /Amélie Poulain/, 'the arrows wrap around the list');
      await eventually(async () => compact(await text(page, 'sale-total')) === `Total${fr('14.90')}`, 'the engine prices the cart');
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      await tender(page, 'E', '20');
      await page.getByTestId('receipt-screen').waitFor();
      const second = Number((await text(page, 'ticket-number')).match(/\d+/)[0]);
      assert.equal((await stack.api('find_ticket', { number: second })).ticket.customer, created.id);

      // The CLI finds the same customer by their national number.
      const found = execFileSync(bin('till'), ['--db', stack.db, 'customers', 'search', '0612 98'], { encoding: 'utf8' });
      assert.match(found, new RegExp(`${created.id}\\s+Amélie Poulain`));
    }, t.name);
  });
});
