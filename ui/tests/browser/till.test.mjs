// Browser tests of the cashier app against the real engine and the device simulators.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CASHIER, MANAGER, eventually, launchBrowser } from './harness.mjs';
import { cartLines, cashSale, compact, euros, fr, login, printedQr, scan, tender, text, withTill as run } from './ui.mjs';

const IMEI = '490154203237518';
const withTill = (options, body, name) => run(browser, options, body, name);
let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

describe('cashier app in a browser, real engine and simulators', () => {
  it('records a cash sale, gives change and prints the receipt', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      // The status bar: head office link, records waiting, devices.
      await eventually(async () => /prêt/.test(await text(page, 'status-printer')), 'the printer ready');
      assert.match(await text(page, 'status-terminal'), /prêt/);
      assert.match(await text(page, 'status-online'), /Non reliée au siège/, 'a till not enrolled says so');
      const waitingBefore = Number((await text(page, 'status-waiting')).match(/\d+/)[0]);
      const coque = stack.product('ACC-COQ-IP16'); // 29.99
      // The scanner on an AZERTY layout types `&é"'(-è_çà` for digits: the cart still gets it.
      const azerty = coque.barcode.replace(/\d/g, (d) => '&é"\'(-è_çà'['1234567890'.indexOf(d)]);
      await scan(page, azerty);
      await cartLines(page, 1);
      await scan(page, stack.product('ACC-CBL-CC1').barcode); // 14.90
      await cartLines(page, 2);
      // The line shows at once; the total is the engine's quote, which follows.
      await eventually(async () => compact(await text(page, 'sale-total')) === `Total${fr('44.89')}`, 'the engine prices the cart');
      assert.equal(compact(await text(page, 'amount-due')), `Àpayer${fr('44.89')}`, 'the amount due is always shown');

      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      await tender(page, 'E', '50');
      await page.getByTestId('receipt-screen').waitFor();
      assert.equal(compact(await text(page, 'receipt-change')), `Rendu${fr('5.11')}`, 'change from 50 EUR');
      assert.match(await text(page, 'printed-status'), /imprimé/, 'the receipt printed');
      const preview = await text(page, 'receipt-text');
      assert.match(preview, /Coque silicone iPhone 16/);

      const printed = await eventually(() => stack.printed().find((r) => r.includes('TOTAL TTC')), 'the receipt in the printer simulator');
      assert.match(printed, /Coque silicone iPhone 16/, 'printed receipt lists the case');
      assert.match(printed, /C.ble USB-C vers USB-C 1 m/, 'printed receipt lists the cable');
      assert.match(printed, /TOTAL TTC EUR\s+44\.89/, 'printed total');
      assert.match(printed, /Esp.ces\s+50\.00/, 'printed cash tender');
      assert.match(printed, /Rendu\s+5\.11/, 'printed change');
      await eventually(
        async () => Number((await text(page, 'status-waiting')).match(/\d+/)[0]) > waitingBefore,
        'the sale among the records waiting to sync',
      );
    }, t.name);
  });

  it('sells a handset with its IMEI and two accessories, half by card and half in cash', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      await scan(page, stack.product('PHN-A55-128').barcode); // 449.00, IMEI
      await cartLines(page, 1);
      // The IMEI field opens by itself; the box's barcode is scanned into it.
      await page.getByTestId('edit-imei').waitFor();
      await scan(page, IMEI);
      await eventually(async () => (await text(page, 'imei-status')) === 'IMEI 1/1', 'the IMEI on the line');
      // The manager who advised the customer is credited with the handset.
      await page.keyboard.press('Alt+V');
      await page.getByTestId('edit-seller').selectOption(MANAGER.id);
      await page.keyboard.press('Escape');
      await scan(page, stack.product('ACC-COQ-S25').barcode); // 19.99
      await cartLines(page, 2);
      await scan(page, stack.product('ACC-CHG-25W').barcode); // 24.90
      await cartLines(page, 3);
      const total = 44900 + 1999 + 2490; // 493.89
      await eventually(async () => compact(await text(page, 'sale-total')) === `Total${fr(euros(total))}`, 'the engine prices the cart');

      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      const half = Math.floor(total / 2);
      await tender(page, 'B', euros(half).replace('.', ','));
      await eventually(async () => (await page.getByTestId('tender').count()) === 1, 'the approved card payment in the tenders');
      assert.equal(compact(await text(page, 'pay-due')), fr(euros(total - half)), 'the rest is due after the card');
      await tender(page, 'E', euros(total - half));
      await page.getByTestId('receipt-screen').waitFor();

      const number = Number((await text(page, 'ticket-number')).match(/\d+/)[0]);
      const recorded = await stack.api('find_ticket', { number });
      assert.equal(recorded.ticket.lines[0].seller, MANAGER.id, 'the seller recorded on the handset line');
      assert.deepEqual(recorded.ticket.lines[0].serials, [IMEI], 'the IMEI recorded on the handset line');
      assert.equal(recorded.ticket.lines[1].seller, null, 'no seller on the other lines');
      const printed = await eventually(() => stack.printed().find((r) => r.includes(IMEI)), 'the receipt with the IMEI');
      assert.match(printed, /Samsung Galaxy A55/);
      assert.match(printed, new RegExp(`IMEI ${IMEI}`), 'the IMEI is printed under the handset');
      assert.match(printed, new RegExp(`Carte bancaire[^\\n]*\\s${euros(half).replace('.', '\\.')}`), 'card half');
      assert.match(printed, new RegExp(`Esp.ces\\s+${euros(total - half).replace('.', '\\.')}`), 'cash half');
      assert.match(printed, new RegExp(`TOTAL TTC EUR\\s+${euros(total).replace('.', '\\.')}`));
    }, t.name);
  });

  it('takes cash after the terminal declines the card', async (t) => {
    await withTill({ terminal: 'decline' }, async (stack, page) => {
      await login(page, CASHIER.pin);
      await scan(page, stack.product('ACC-BAT-10K').barcode); // 34.90
      await cartLines(page, 1);
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      await tender(page, 'B', '34,90');
      const status = page.getByTestId('card-status');
      await eventually(async () => (await status.getAttribute('data-state')) === 'declined', 'the declined card');
      assert.ok((await text(page, 'card-message')).length > 0, 'the terminal refusal is explained');
      assert.equal(await page.getByTestId('tender').count(), 0, 'a declined card is no tender');
      await page.keyboard.press('Escape');
      // Cash on the touch keypad: the first key replaces the proposed amount due.
      await page.getByTestId('tender-cash').click();
      assert.equal(await page.getByTestId('tender-amount').inputValue(), '34,90', 'the amount due is proposed');
      const keypad = page.getByTestId('pay-keypad');
      for (const key of ['4', '0']) await keypad.getByRole('button', { name: key, exact: true }).click();
      assert.equal(await page.getByTestId('tender-amount').inputValue(), '40');
      await keypad.getByRole('button', { name: /Valider/ }).click();
      await page.getByTestId('receipt-screen').waitFor();
      assert.equal(compact(await text(page, 'receipt-change')), `Rendu${fr('5.10')}`);
      const printed = await eventually(() => stack.printed().find((r) => r.includes('TOTAL TTC')), 'the receipt');
      assert.doesNotMatch(printed, /Carte bancaire/, 'no card tender on the ticket');
    }, t.name);
  });

  it('shows the unknown-outcome screen when the terminal never answers, and resolves it', async (t) => {
    await withTill({ terminal: 'never-answer', terminalTimeout: 3 }, async (stack, page) => {
      await login(page, CASHIER.pin);
      await scan(page, stack.product('SRV-DIAG').barcode); // 19.00
      await cartLines(page, 1);
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      await tender(page, 'B', '19');
      const status = page.getByTestId('card-status');
      await eventually(async () => (await status.getAttribute('data-state')) === 'pending', 'the payment under way');
      await eventually(async () => (await status.getAttribute('data-state')) === 'unknown', 'the unknown outcome', 120_000);
      await page.getByTestId('card-unknown').waitFor();
      // The status bar polls the engine every 5 s: a poll must not bring up the login-time
      // dialog of unresolved payments over the payment screen that is resolving this one. Two
      // polls: what the first one set off has answered by the second.
      for (let poll = 0; poll < 2; poll++) await page.waitForResponse((r) => r.url().endsWith('/api/status'));
      assert.equal(await page.getByTestId('unresolved-payment').count(), 0, 'one dialog for the unknown outcome');
      // The terminal's own receipt says it was not approved: nothing was charged.
      await page.getByTestId('card-resolve-declined').click();
      await eventually(async () => !['unknown', 'pending'].includes(await status.getAttribute('data-state')), 'the resolved payment');
      assert.equal(await page.getByTestId('tender').count(), 0, 'a payment resolved as not approved is no tender');
      await page.keyboard.press('Escape');
      await tender(page, 'E', '20');
      await page.getByTestId('receipt-screen').waitFor();
    }, t.name);
  });

  it('returns a line found by scanning the receipt QR code', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      const sale = await cashSale(page, [stack.product('ACC-COQ-IP16').barcode, stack.product('ACC-SD-128').barcode], '50');
      const qr = await printedQr(stack, sale.number);
      const preview = await text(page, 'receipt-text');
      assert.match(preview, /Ref\. POS1:/, 'the preview shows the ticket reference');
      assert.ok(!preview.includes(qr), 'the preview never shows the printed QR code and its proof of purchase');

      await page.keyboard.press('F2');
      await page.getByTestId('returns-screen').waitFor();
      await scan(page, qr);
      await page.getByTestId('return-original').waitFor();
      assert.match(await text(page, 'return-original'), new RegExp(`n° ${sale.number}\\b`));
      assert.match(await text(page, 'return-original'), /ticket scanné/, 'found by its receipt');
      await page.keyboard.press('Alt+2'); // the memory card, 17.90
      await eventually(async () => compact(await text(page, 'return-total')) === `Remboursement${fr('-17.90')}`, 'the refund quote');
      await page.keyboard.press('F9');
      await page.getByTestId('receipt-screen').waitFor();
      assert.match(await text(page, 'ticket-number'), /Retour enregistré/);
      const refund = await eventually(() => stack.printed().find((r) => /-17\.90/.test(r)), 'the return receipt');
      assert.match(refund, /Carte microSD 128 Go/);
      assert.match(refund, new RegExp(`\\b${sale.number}\\b`), 'the return names the original ticket');
    }, t.name);
  });

  it('closes the day with totals that match the tickets, then the month', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, MANAGER.pin);
      const a = await cashSale(page, [stack.product('ACC-CHG-65W').barcode], '50'); // 49.90
      await page.keyboard.press('Enter');
      const b = await cashSale(page, [stack.product('SRV-SIM').barcode, stack.product('ACC-SUP-VOIT').barcode]); // 10.00 + 19.90, exact cash
      assert.equal(b.number, a.number + 1, 'gap-free ticket numbers');

      await page.keyboard.press('F6');
      await page.getByTestId('closures-screen').waitFor();
      await page.keyboard.press('Alt+Z');
      await page.getByTestId('close-confirm').waitFor();
      await page.keyboard.press('Enter');
      await page.getByTestId('closure-title').waitFor();
      const expected = 4990 + 1000 + 1990;
      assert.equal(compact(await text(page, 'totals-total')), fr(euros(expected)), 'Z total = sum of the tickets');
      assert.match(await text(page, 'totals-tickets'), new RegExp(`^2 \\(${a.number}–${b.number}\\)`), 'both tickets, numbered');
      assert.equal(compact(await text(page, 'totals-tender-cash')), fr(euros(expected)), 'all paid in cash');
      const report = await text(page, 'report-text');
      assert.match(report, new RegExp(euros(expected).replace('.', '\\.')), 'the printed-form report carries the total');
      const day = await text(page, 'closure-title');

      // The month closure takes in the day just closed.
      await page.keyboard.press('Alt+M');
      await page.getByTestId('close-confirm').waitFor();
      await page.keyboard.press('Enter');
      await eventually(async () => (await text(page, 'closure-title')) !== day, 'the month closure');
      assert.equal(compact(await text(page, 'totals-total')), fr(euros(expected)), 'month total = the day');
    }, t.name);
  });
});
