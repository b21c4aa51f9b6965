// Browser tests of customer money across the chain, against the real engine and the device
// simulators: a credit note's slip printed on a refund to store credit, scanned back at the
// payment screen; a gift card sold (no VAT, not revenue) and spent; an item bought at another
// till returned while head office cannot check it, with a manager's approval; an item bought at
// another shop returned online, checked against the original through head office's lookup.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CASHIER, MANAGER, bin, eventually, launchBrowser, startHeadOffice } from './harness.mjs';
import { cartLines, cashSale, compact, fr, login, printedQr, scan, text, withTill as run } from './ui.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});
const withTill = (options, body, name) => run(browser, options, body, name);

/**
 * A gift card number as card stock carries it: CC, 18 digits, and the ISO 7064 MOD 97-10 check
 * digits over the kind's digit (2 for a gift card) and the digits, as the domain computes them.
 */
function giftCardNumber(digits) {
  let remainder = 2n;
  for (const d of digits) remainder = (remainder * 10n + BigInt(d)) % 97n;
  const check = 98n - ((remainder * 100n) % 97n);
  return `CC${digits}${String(check).padStart(2, '0')}`;
}

/** Chooses tender `altKey`, scans `number` into the reference field and presses Enter there. */
async function payWithInstrument(page, altKey, number) {
  await page.keyboard.press(`Alt+${altKey}`);
  const reference = page.getByTestId('tender-reference');
  await reference.click();
  await scan(page, number);
}

describe('credit notes, gift cards, returns at any till', () => {
  it('pays with a credit note scanned from the slip a refund to store credit printed', async () => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      const sale = await cashSale(page, [stack.product('ACC-COQ-IP16').barcode]); // 29.99
      const qr = await printedQr(stack, sale.number);
      const found = await stack.api('find_ticket', { qr });
      assert.equal(found.by_receipt, true);
      const refund = await stack.api('return_items', {
        original: sale.number,
        lines: [{ line: 1, quantity: 1 }],
        refund_to: 'store_credit',
        by_receipt: true,
      });
      assert.equal(refund.credit_notes.length, 1, 'a refund to store credit issues one credit note');
      const slip = await eventually(() => stack.printed().find((r) => r.includes('AVOIR')), 'the printed credit note slip');
      assert.match(slip, /Montant EUR\s+29\.99/, 'the slip shows the amount');
      assert.match(slip, /Valable jusqu'au\s+\d\d\/\d\d\/\d{4}/, 'the slip shows the expiry');
      const scanned = slip.match(/\[QR (AV\d{20})\]/)?.[1];
      assert.ok(scanned, `the slip carries the note's number as a QR code:\n${slip}`);
      assert.equal(scanned, refund.credit_notes[0].number);

      // The customer comes back for a cable (14.90) and hands over the slip.
      await page.getByTestId('new-sale').click().catch(() => {});
      await page.keyboard.press('F1');
      await page.getByTestId('sale-screen').waitFor();
      await scan(page, stack.product('ACC-CBL-CC1').barcode);
      await cartLines(page, 1);
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      await page.keyboard.press('Alt+S');
      await page.getByTestId('tender-reference').fill(scanned);
      await page.getByTestId('instrument-check').click();
      const balance = await eventually(async () => {
        const shown = await text(page, 'instrument-balance').catch(() => '');
        return shown.includes('29,99') ? shown : null;
      }, 'the note balance shown');
      assert.match(balance, /connu de cette caisse/, 'offline, the till that issued the note knows its balance');
      assert.equal(await page.getByTestId('tender-amount').inputValue(), '14,90', 'the amount due is proposed');
      await page.getByTestId('tender-amount').press('Enter');
      await page.getByTestId('receipt-screen').waitFor();
      const printed = await eventually(
        () => stack.printed().find((r) => /Ticket n°/.test(r) && /Avoir AV\.\.\.\d{4}\s+14\.90/.test(r)),
        'the sale receipt naming the note (shortened) and what it paid',
      );
      assert.match(printed, /C.ble USB-C/, 'the cable sold');
      const left = await stack.api('instrument_lookup', { number: scanned });
      assert.equal(left.balance, '15.09', 'a partial redemption leaves the rest on the note');
    }, 'credit note slip');
  });

  it('sells a gift card with no VAT, then spends it', async () => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      const number = giftCardNumber('123456789012345678');
      await page.getByTestId('open-giftcard').click();
      await page.getByTestId('giftcard-screen').waitFor();
      await page.getByTestId('giftcard-number').fill(number);
      await page.getByTestId('giftcard-amount').fill('50');
      await page.getByTestId('giftcard-sell').click();
      await page.getByTestId('receipt-screen').waitFor();
      const printed = await eventually(() => stack.printed().find((r) => r.includes('Cartes cadeaux')), 'the gift card receipt');
      assert.match(printed, /TOTAL TTC EUR\s+0\.00/, 'a gift card is no sale: nothing in the ticket total');
      assert.match(printed, /Carte CC\.\.\.\d{4}\s+50\.00/, 'the card loaded');
      assert.match(printed, /A PAYER EUR\s+50\.00/, 'paid on top of the total');
      assert.doesNotMatch(printed, /20 %\s+\S+\s+\S+\s+50\.00/, 'no VAT on the card');
      const card = await stack.api('instrument_lookup', { number });
      assert.equal(card.balance, '50.00');

      await page.keyboard.press('F1');
      await page.getByTestId('sale-screen').waitFor();
      await scan(page, stack.product('ACC-COQ-IP16').barcode);
      await cartLines(page, 1);
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      await payWithInstrument(page, 'G', number);
      await page.getByTestId('receipt-screen').waitFor();
      const after = await stack.api('instrument_lookup', { number });
      assert.equal(after.balance, '20.01', 'the card spent by 29.99');
      const x = await stack.api('report_x', {});
      assert.equal(x.totals.total, '29.99', 'only the case is revenue in the X report');
      assert.match(x.text, /Avoirs et cartes cadeaux \(hors CA\)/, 'the X report shows the liability movements');
      assert.match(x.text, /Carte cadeau vendues\/rechargees\s+50\.00/);
      assert.match(x.text, /Carte cadeau utilises\s+29\.99/);
    }, 'gift card');
  });

  it('returns an item bought at another till while head office cannot check it, with a manager', async () => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      await page.keyboard.press('F2');
      await page.getByTestId('returns-screen').waitFor();
      await page.getByTestId('open-anywhere').click();
      await page.getByTestId('anywhere-screen').waitFor();
      await page.getByTestId('anywhere-receipt').fill('LYON-CAISSE-2:12');
      await page.getByTestId('anywhere-item').fill(stack.product('ACC-CBL-CC1').barcode);
      await page.getByTestId('anywhere-add').click();
      await page.getByTestId('anywhere-items').waitFor();
      await page.getByTestId('anywhere-refund-cash').check();
      await eventually(async () => compact(await text(page, 'anywhere-refund').catch(() => '')).includes(fr('14.90')), 'the refund quote');
      assert.match(await text(page, 'anywhere-needs-manager'), /responsable/, 'head office cannot check: a manager must approve');
      await page.getByTestId('anywhere-record').click();
      const dialog = page.getByTestId('approval-dialog');
      await dialog.waitFor();
      await page.getByTestId('approval-pin').pressSequentially(MANAGER.pin);
      await page.getByTestId('approval-pin').press('Enter');
      await page.getByTestId('receipt-screen').waitFor();
      assert.match(await text(page, 'ticket-number'), /Retour enregistré/);
      const printed = await eventually(() => stack.printed().find((r) => r.includes('caisse LYON-CAISSE-2')), 'the return receipt');
      assert.match(printed, /Sur ticket n° 12 caisse LYON-CAISSE-2/, 'the receipt names the original till and ticket');
      assert.match(printed, new RegExp(`Accord responsable ${MANAGER.id}`), 'and the manager who approved');
      assert.match(printed, /Especes\s+-14\.90/, 'refunded in cash as chosen');
    }, 'return anywhere');
  });

  it('returns an item bought at another shop, checked online through head office', async () => {
    const office = await startHeadOffice();
    const dir = mkdtempSync(join(tmpdir(), 'lyon-'));
    try {
      // A till of another shop of the chain sells a cable (14.90) and syncs it to head office.
      const shop = office.admin('shop', 'create', '--entity', 'ACME-TELECOM', '--name', 'Lyon Part-Dieu',
        '--territory', 'metropole', '--timezone', 'Europe/Paris', '--address', '17 rue du Docteur Bouchut, 69003 Lyon');
      const lyon = office.admin('till', 'create', '--shop', shop.id ?? shop.shop_id, '--name', 'Caisse 1', '--id', 'LYON-CAISSE-1');
      const till = bin('till');
      const db = join(dir, 'lyon.db');
      execFileSync(till, ['--db', db, 'init', '--shop', 'Lyon Part-Dieu', '--till', 'Caisse 1', '--till-id', lyon.till_id]);
      execFileSync(till, ['--db', db, 'enroll', '--server', office.url, '--code', lyon.enrollment_code]);
      execFileSync(till, ['--db', db, 'sync'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const sold = JSON.parse(execFileSync(till, ['--db', db, '--json', 'sell'], {
        encoding: 'utf8',
        input: JSON.stringify({ lines: [{ product_id: 'ACC-CBL-CC1', quantity: 1 }], tenders: [{ kind: 'cash', amount: '14.90' }] }),
      }));
      const number = sold.number ?? sold.ticket?.number;
      execFileSync(till, ['--db', db, 'sync'], { stdio: ['ignore', 'pipe', 'pipe'] });

      await withTill({ headOffice: office, syncEvery: 1 }, async (stack, page) => {
        await login(page, CASHIER.pin);
        await page.keyboard.press('F2');
        await page.getByTestId('returns-screen').waitFor();
        await page.getByTestId('open-anywhere').click();
        await page.getByTestId('anywhere-screen').waitFor();
        await page.getByTestId('anywhere-receipt').fill(`${lyon.till_id}:${number}`);
        await page.getByTestId('anywhere-item').fill(stack.product('ACC-CBL-CC1').barcode);
        await page.getByTestId('anywhere-add').click();
        await page.getByTestId('anywhere-items').waitFor();
        await page.getByTestId('anywhere-refund-cash').check();
        await eventually(async () => compact(await text(page, 'anywhere-refund').catch(() => '')).includes(fr('14.90')), 'the refund quote');
        assert.equal(await page.getByTestId('anywhere-needs-manager').count(), 0,
          'head office found the ticket: the return is checked against it, no manager needed');
        await page.getByTestId('anywhere-record').click();
        await page.getByTestId('receipt-screen').waitFor();
        assert.match(await text(page, 'ticket-number'), /Retour enregistré/);
        const printed = await eventually(() => stack.printed().find((r) => r.includes(`caisse ${lyon.till_id}`)), 'the return receipt');
        assert.match(printed, new RegExp(`Sur ticket n° ${number} caisse ${lyon.till_id}`), 'the receipt names the original till and ticket');
        assert.doesNotMatch(printed, /Accord responsable/, 'checked online: nobody had to approve');
        assert.match(printed, /Especes\s+-14\.90/, 'refunded in cash');

        // The same cable cannot come back a second time anywhere: head office holds the return.
        await page.keyboard.press('F2');
        await page.getByTestId('returns-screen').waitFor();
        await page.getByTestId('open-anywhere').click();
        await page.getByTestId('anywhere-screen').waitFor();
        await page.getByTestId('anywhere-receipt').fill(`${lyon.till_id}:${number}`);
        await page.getByTestId('anywhere-item').fill(stack.product('ACC-CBL-CC1').barcode);
        await page.getByTestId('anywhere-add').click();
        await page.getByTestId('anywhere-items').waitFor();
        await page.getByTestId('anywhere-refund-cash').check();
        await page.getByTestId('anywhere-record').click();
        const refused = await eventually(
          async () => page.getByTestId('error-banner').getAttribute('data-code', { timeout: 1000 }).catch(() => null),
          'the second return refused',
        );
        assert.ok(['return_exceeds_sale', 'return_reserved_elsewhere'].includes(refused),
          `the unit already returned cannot come back again anywhere: ${refused}`);
        assert.equal(await page.getByTestId('receipt-screen').count(), 0, 'nothing recorded');
      }, 'return from another shop');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await office.close();
    }
  });
});
