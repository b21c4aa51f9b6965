// Browser tests of exchanges: lines of a receipt brought back and other goods taken on one
// ticket, the difference paid or refunded, against the real engine and the device simulators.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CASHIER, eventually, launchBrowser } from './harness.mjs';
import { cartLines, cashSale, compact, fr, login, printedQr, scan, tender, text, withTill as run } from './ui.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});
const withTill = (options, body, name) => run(browser, options, body, name);

/**
 * Scans the QR code of `sale`'s printed receipt (the screen does not show it: only the paper
 * proves the purchase), finds the ticket and ticks line `line`.
 */
async function returnLineOfReceipt(stack, page, sale, line) {
  const qr = await printedQr(stack, sale.number);
  await page.keyboard.press('F2');
  await page.getByTestId('returns-screen').waitFor();
  await scan(page, qr);
  await page.getByTestId('return-original').waitFor();
  assert.match(await text(page, 'return-original'), new RegExp(`n° ${sale.number}\\b`));
  await page.keyboard.press(`Alt+${line}`);
}

describe('exchanges', () => {
  it('exchanges a line of a receipt for a dearer item, the difference paid by card, then closes the day', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      // 29.99 + 17.90 = 47.89, paid 50 in cash.
      const sale = await cashSale(page, [stack.product('ACC-COQ-IP16').barcode, stack.product('ACC-SD-128').barcode], '50');
      await returnLineOfReceipt(stack, page, sale, 2); // the memory card, 17.90
      await eventually(async () => compact(await text(page, 'return-total')) === `Remboursement${fr('-17.90')}`, 'the refund quote');

      await page.keyboard.press('Alt+X');
      await page.getByTestId('sale-screen').waitFor();
      assert.match(await text(page, 'exchange-banner'), new RegExp(`ticket n° ${sale.number}`), 'the exchange names the original');
      assert.match(await text(page, 'exchange-returned'), /Carte microSD 128 Go/, 'the line coming back is shown');
      await scan(page, stack.product('ACC-BAT-10K').barcode); // 34.90
      await cartLines(page, 1);
      await eventually(async () => compact(await text(page, 'sale-total')) === `Netàpayer${fr('17.00')}`, 'the difference to pay');

      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      assert.equal(compact(await text(page, 'pay-due')), fr('17.00'), 'only the difference is due');
      await tender(page, 'B', '17,00');
      await page.getByTestId('receipt-screen').waitFor();
      assert.match(await text(page, 'ticket-number'), /Échange enregistré/);
      const number = Number((await text(page, 'ticket-number')).match(/\d+/)[0]);
      assert.equal(number, sale.number + 1, 'one ticket for the whole exchange');

      const printed = await eventually(() => stack.printed().find((r) => r.includes('Echange n°')), 'the exchange receipt');
      assert.match(printed, new RegExp(`Echange n° ${number}\\b`));
      assert.match(printed, new RegExp(`Sur ticket n° ${sale.number}\\b`), 'the original ticket is named');
      assert.match(printed, /ARTICLES REPRIS[\s\S]*Carte microSD 128 Go[\s\S]*ARTICLES VENDUS[\s\S]*Batterie externe 10 000 mAh/, 'what comes back, then what goes out');
      assert.match(printed, new RegExp(`Ligne 2 du ticket ${sale.number}\\s+-17\\.90`), 'the returned line refunded as paid');
      assert.match(printed, /Total repris TTC\s+-17\.90/);
      assert.match(printed, /Total vendu TTC\s+34\.90/);
      assert.match(printed, /A payer\s+17\.00/);
      assert.match(printed, /TOTAL TTC EUR\s+17\.00/);
      // VAT at 20 %: 5.82 on the battery less 2.98 refunded on the card.
      assert.match(printed, /20 %\s+14\.16\s+2\.84\s+17\.00/, 'the per-rate VAT over both parts');
      assert.match(printed, /Carte bancaire[^\n]*\s17\.00/, 'the difference paid by card');

      const recorded = await stack.api('find_ticket', { number: sale.number });
      assert.equal(recorded.returnable[1].remaining, 0, 'the memory card cannot come back twice');

      await page.keyboard.press('F6');
      await page.getByTestId('closures-screen').waitFor();
      await page.keyboard.press('Alt+Z');
      await page.getByTestId('close-confirm').waitFor();
      await page.keyboard.press('Enter');
      await page.getByTestId('closure-title').waitFor();
      assert.equal(compact(await text(page, 'totals-total')), fr('64.89'), 'Z total = 47.89 + 17.00, the sum of the tickets');
      assert.match(await text(page, 'totals-tickets'), new RegExp(`^2 \\(${sale.number}–${number}\\)`));
      assert.equal(compact(await text(page, 'totals-tender-cash')), fr('47.89'), 'cash kept: 50 less 2.11 change');
      assert.equal(compact(await text(page, 'totals-tender-card')), fr('17.00'));
      assert.equal(await text(page, 'totals-exchanges'), '1');
      assert.equal(compact(await text(page, 'totals-sales-amount')), fr('82.79'), 'sales: 47.89 + the 34.90 battery');
      assert.equal(compact(await text(page, 'totals-returns-amount')), fr('-17.90'), 'returns: the memory card');
      const report = await text(page, 'report-text');
      assert.match(report, /Echanges\s+1/);
      assert.match(report, /Total periode TTC\s+64\.89/);
      assert.match(report, /Total periode absolu\s+100\.69/, 'absolute: 82.79 sold + 17.90 refunded');
    }, t.name);
  });

  it('exchanges for a cheaper item and refunds the difference as store credit', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      const sale = await cashSale(page, [stack.product('ACC-CHG-65W').barcode], '50'); // 49.90
      await returnLineOfReceipt(stack, page, sale, 1);
      await page.getByTestId('exchange-start').click();
      await page.getByTestId('sale-screen').waitFor();
      await scan(page, stack.product('SRV-POSE').barcode); // 9.90
      await cartLines(page, 1);
      await eventually(async () => compact(await text(page, 'sale-total')) === `Netàrembourser${fr('40.00')}`, 'the difference to refund');
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      assert.equal(compact(await text(page, 'pay-refund')), fr('40.00'));
      await page.keyboard.press('Alt+A'); // store credit (avoir)
      await page.keyboard.press('Enter');
      await page.getByTestId('receipt-screen').waitFor();
      assert.match(await text(page, 'ticket-number'), /Échange enregistré/);
      const printed = await eventually(() => stack.printed().find((r) => r.includes('Echange n°')), 'the exchange receipt');
      assert.match(printed, /A rembourser\s+40\.00/);
      assert.match(printed, /Avoir AV\.\.\.\d{4}\s+-40\.00/, 'refunded as store credit, to the credit note issued');
    }, t.name);
  });
});
