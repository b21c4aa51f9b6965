// Browser tests of the manager approval, parked sales, cash count, duplicates and the language
// switch, against the real engine and the device simulators.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CASHIER, MANAGER, eventually, launchBrowser } from './harness.mjs';
import { cartLines, cashSale, compact, fr, login, loginWithKeypad, printedQr, scan, tender, text, withTill as run } from './ui.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});
const withTill = (options, body, name) => run(browser, options, body, name);

describe('approvals, parked sales, cash and duplicates', () => {
  it('asks a manager to approve a discount above the limit, on a sale parked and resumed', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      await scan(page, stack.product('ACC-EAR-BT').barcode); // 79.00
      await cartLines(page, 1);
      await page.keyboard.press('Alt+R');
      const discount = page.getByTestId('edit-discount');
      await discount.fill('50');
      await discount.press('Enter');
      await eventually(async () => compact(await text(page, 'line-total')) === fr('39.50'), 'the discounted line');

      await page.keyboard.press('F10');
      await cartLines(page, 0);
      assert.match(await text(page, 'notice-banner'), /attente/, 'the cashier is told where the sale went');
      await page.keyboard.press('Alt+A');
      await page.getByTestId('parked-cart').first().click();
      await cartLines(page, 1);
      await eventually(async () => compact(await text(page, 'line-total')) === fr('39.50'), 'the resumed line keeps its discount');

      await page.keyboard.press('F9');
      const dialog = page.getByTestId('approval-dialog');
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /Remise au-delà de la limite/);
      const pin = page.getByTestId('approval-pin');
      await pin.pressSequentially(CASHIER.pin); // not a manager's PIN
      await pin.press('Enter');
      await eventually(async () => (await dialog.locator('[role=alert]').count()) === 1, 'the refusal in the dialog');
      await pin.pressSequentially(MANAGER.pin);
      await pin.press('Enter');
      await page.getByTestId('payment-screen').waitFor();
      await tender(page, 'E');
      await page.getByTestId('receipt-screen').waitFor();
      const printed = await eventually(() => stack.printed().find((r) => r.includes('TOTAL TTC')), 'the receipt');
      assert.match(printed, /TOTAL TTC EUR\s+39\.50/, 'sold at the approved discount');
    }, t.name);
  });

  it('returns by ticket number with a manager approval, refunded as store credit', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      const sale = await cashSale(page, [stack.product('ACC-SPK-BT').barcode]); // 59.90
      await page.keyboard.press('F2');
      await page.getByTestId('returns-screen').waitFor();
      const find = page.getByTestId('return-find');
      await find.fill(String(sale.number));
      await find.press('Enter');
      await page.getByTestId('return-original').waitFor();
      assert.doesNotMatch(await text(page, 'return-original'), /ticket scanné/, 'typed, not scanned');
      await page.keyboard.press('Alt+1');
      await page.keyboard.press('Alt+A'); // store credit (avoir)
      await eventually(async () => /Avoir/.test(await text(page, 'return-quote')), 'the refund as store credit');
      await page.keyboard.press('F9');
      const dialog = page.getByTestId('approval-dialog');
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /Remboursement sans ticket/);
      await page.getByTestId('approval-pin').pressSequentially(MANAGER.pin);
      await page.getByTestId('approval-pin').press('Enter');
      await page.getByTestId('receipt-screen').waitFor();
      assert.match(await text(page, 'ticket-number'), /Retour enregistré/);
      const refund = await eventually(() => stack.printed().find((r) => /-59\.90/.test(r)), 'the return receipt');
      assert.match(refund, /Avoir AV\.\.\.\d{4}\s+-59\.90/, 'refunded as store credit, to the credit note issued');
    }, t.name);
  });

  it('refunds a card sale on the card through the terminal', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      await scan(page, stack.product('ACC-CHG-65W').barcode); // 49.90
      await cartLines(page, 1);
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      await tender(page, 'B');
      await page.getByTestId('receipt-screen').waitFor();
      const qr = await printedQr(stack, 1);

      await page.keyboard.press('F2');
      await page.getByTestId('returns-screen').waitFor();
      await scan(page, qr);
      await page.getByTestId('return-original').waitFor();
      await page.keyboard.press('Alt+1');
      await page.keyboard.press('Alt+C'); // to the card
      await eventually(async () => /-49,90/.test(await text(page, 'return-total')), 'the refund quote');
      await page.keyboard.press('F9');
      await page.getByTestId('receipt-screen').waitFor({ timeout: 20_000 });
      const refund = await eventually(() => stack.printed().find((r) => /-49\.90/.test(r)), 'the return receipt');
      assert.match(refund, /Carte bancaire[^\n]*-49\.90/, 'refunded on the card');
    }, t.name);
  });

  it('logs in on the keypad; takes a voucher, a gift card and a cheque, each with its number', async (t) => {
    await withTill({}, async (stack, page) => {
      await loginWithKeypad(page, CASHIER.pin);
      assert.match(await text(page, 'status-operator'), /Alice Martin/);
      await scan(page, stack.product('ACC-EAR-PRO2').barcode); // 279.00
      await cartLines(page, 1);
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      for (const [key, amount, reference] of [['O', '20', 'BON-2026-001'], ['G', '50', 'GC-778899']]) {
        await page.keyboard.press(`Alt+${key}`);
        await page.getByTestId('tender-amount').fill(amount);
        await page.getByTestId('tender-reference').fill(reference);
        await page.getByTestId('tender-reference').press('Enter');
      }
      await eventually(async () => (await page.getByTestId('tender').count()) === 2, 'two tenders');
      assert.equal(compact(await text(page, 'pay-due')), fr('209.00'));
      await page.keyboard.press('Alt+H');
      await page.getByTestId('tender-reference').fill('CHQ 0012345');
      await page.getByTestId('tender-reference').press('Enter');
      await page.getByTestId('receipt-screen').waitFor();
      const printed = await eventually(() => stack.printed().find((r) => r.includes('TOTAL TTC')), 'the receipt');
      assert.match(printed, /Bon d.achat[^\n]*20\.00/);
      assert.match(printed, /Carte cadeau[^\n]*50\.00/);
      assert.match(printed, /Ch.que[^\n]*209\.00/);
    }, t.name);
  });

  it('resumes a parked handset line still asking for its IMEI', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      await scan(page, stack.product('PHN-PIX9-128').barcode); // 899.00, IMEI
      await cartLines(page, 1);
      await page.keyboard.press('Escape'); // the IMEI later: the customer is still choosing
      await page.keyboard.press('F10');
      await cartLines(page, 0);
      await page.keyboard.press('Alt+A');
      await page.getByTestId('parked-cart').first().click();
      await cartLines(page, 1);
      assert.equal(await text(page, 'imei-status'), 'IMEI 0/1', 'the resumed line knows it is a handset');
      await page.keyboard.press('F9');
      await page.getByTestId('edit-imei').waitFor();
      assert.equal(await page.getByTestId('payment-screen').count(), 0, 'no payment before the IMEI');
      await page.getByTestId('edit-imei').fill('490154203237518');
      await page.getByTestId('edit-imei').press('Enter');
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      assert.equal(compact(await text(page, 'pay-due')), fr('899.00'));
    }, t.name);
  });

  it('searches without accents, changes quantities from the keyboard and weighs from the category grid', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      await page.getByTestId('sale-search').pressSequentially('ecouteurs blue', { delay: 40 });
      // Wait for the answer to the whole query (the first result is the one Enter adds), not
      // an earlier answer to a prefix still on screen.
      await eventually(async () => /Écouteurs Bluetooth/.test(await page.getByTestId('search-result').first().innerText().catch(() => '')), 'the accent-insensitive search');
      await page.keyboard.press('Enter');
      await cartLines(page, 1);
      await page.keyboard.press('+');
      await eventually(async () => compact(await text(page, 'line-total')) === fr('158.00'), 'two units');

      await page.getByTestId('category').filter({ hasText: 'Épicerie' }).click();
      await page.getByTestId('category-products').getByRole('button', { name: /Café en grains/ }).click();
      await cartLines(page, 2);
      const weight = page.getByTestId('edit-quantity');
      await weight.fill('350');
      await weight.press('Enter');
      // 350 g at 32.00 EUR/kg = 11.20
      await eventually(async () => compact(await text(page, 'sale-total')) === `Total${fr('169.20')}`, 'the weighed line priced by the engine');

      // A line touched on the screen takes the focus off the search field; a scan on an AZERTY
      // layout (the digit 6 typed as `-`) must still add its product and change no quantity.
      await page.getByTestId('cart-line').first().click();
      const azerty = stack.product('ACC-COQ-IP16').barcode.replace(/\d/g, (d) => '&é"\'(-è_çà'['1234567890'.indexOf(d)]);
      assert.match(azerty, /-/);
      await scan(page, azerty);
      await cartLines(page, 3);
      await eventually(async () => compact(await text(page, 'sale-total')) === `Total${fr('199.19')}`, 'the case added, quantities unchanged');
      await page.keyboard.press('Delete'); // the case is the chosen line
      await cartLines(page, 2);

      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      await tender(page, 'E');
      await page.getByTestId('receipt-screen').waitFor();
      const printed = await eventually(() => stack.printed().find((r) => r.includes('TOTAL TTC')), 'the receipt');
      assert.match(printed, /2 x 79\.00/, 'two pairs of earphones');
      assert.match(printed, /0[.,]350 kg/, 'the weight is printed');
      assert.match(printed, /TOTAL TTC EUR\s+169\.20/);
    }, t.name);
  });

  it('counts the drawer blind, reprints a DUPLICATA, tests the devices and speaks English on request', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, MANAGER.pin);
      await page.keyboard.press('F4');
      await page.getByTestId('cash-screen').waitFor();
      await page.keyboard.press('Alt+F');
      await page.getByTestId('cash-amount').fill('100');
      await page.getByTestId('cash-amount').press('Enter');
      await page.getByTestId('cash-result').waitFor();

      await page.keyboard.press('F1');
      const sale = await cashSale(page, [stack.product('ACC-CBL-CC1').barcode], '20'); // 14.90
      assert.equal(compact(await text(page, 'receipt-change')), `Rendu${fr('5.10')}`);

      await page.keyboard.press('F4');
      await page.getByTestId('cash-screen').waitFor();
      await page.keyboard.press('Alt+C');
      assert.equal(await page.getByTestId('cash-expected').count(), 0, 'a blind count shows nothing expected before it is recorded');
      await page.getByTestId('cash-amount').fill('110');
      await page.getByTestId('cash-amount').press('Enter');
      await page.getByTestId('cash-difference').waitFor();
      assert.equal(compact(await text(page, 'cash-expected')), fr('114.90'), 'float + cash sale');
      assert.equal(compact(await text(page, 'cash-difference')), fr('-4.90'), 'counted minus expected');

      await page.keyboard.press('F3');
      await page.getByTestId('tickets-screen').waitFor();
      assert.equal(await page.getByTestId('ticket-number-input').inputValue(), String(sale.number), 'the last ticket is proposed');
      await page.keyboard.press('Alt+D');
      await page.getByTestId('reprint-status').waitFor();
      assert.match(await text(page, 'receipt-text'), /DUPLICATA/);
      const duplicate = await eventually(() => stack.printed().find((r) => r.includes('DUPLICATA')), 'the duplicate printed');
      assert.match(duplicate, new RegExp(`Ticket n° ${sale.number}\\b`));

      // Device tests from the settings screen (managers): a test receipt, a 1.00 EUR payment.
      await page.keyboard.press('F7');
      await page.getByTestId('settings-screen').waitFor();
      const before = stack.printed().length;
      await page.getByTestId('test-print').click();
      await eventually(async () => /imprimé/.test(await text(page, 'settings-outcome')), 'the test print outcome');
      await eventually(() => stack.printed().length > before, 'the test receipt in the printer simulator');
      await page.getByTestId('test-payment').click();
      await eventually(async () => /approved|accept/i.test(await text(page, 'settings-outcome')), 'the test payment approved', 20_000);

      await page.getByTestId('lang-en').click();
      assert.match(await text(page, 'nav-sale'), /^Sale/);
      assert.match(await text(page, 'status-printer'), /Printer/);
      await page.keyboard.press('F1');
      assert.match(await page.getByTestId('sale-search').getAttribute('placeholder'), /Scan, or type/);
    }, t.name);
  });
});
