import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProductView, Quote, QuoteRequest } from '../../src/lib/api/generated/api';
import { HttpBackend } from '../../src/lib/api';
import { app } from '../../src/lib/app.svelte';
import { addProduct, clearSale, figures, requote, sale, toApiCart, toApiLine, toApiTenders, addTender } from '../../src/lib/sale.svelte';
import { t, i18n } from '../../src/lib/i18n/index.svelte';

const coque: ProductView = {
  id: 'ACC-COQ-IP16',
  label: 'Coque silicone iPhone 16',
  category: 'Accessoires',
  barcodes: ['3760000010634'],
  price: '29.99',
  vat_rate: '20',
  sold_by: 'unit',
  serial: 'none',
};
const phone: ProductView = { ...coque, id: 'PHN-A55-128', label: 'Galaxy A55', price: '449.00', serial: 'imei' };
const cafe: ProductView = { ...coque, id: 'BON-CAFE', label: 'Café', price: '32.00', sold_by: 'weight' };

beforeEach(() => clearSale());

describe('the cart sent to the engine', () => {
  it('adds a unit to the last line of the same product, a new line otherwise', () => {
    addProduct(coque);
    addProduct(coque);
    addProduct(phone);
    addProduct(coque);
    expect(sale.lines.map((l) => [l.productId, l.quantity])).toEqual([
      ['ACC-COQ-IP16', 2],
      ['PHN-A55-128', 1],
      ['ACC-COQ-IP16', 1],
    ]);
    expect(sale.lines[1]?.needsSerial).toBe(true);
  });

  it('writes amounts with a dot and two decimals, whatever the cashier typed', () => {
    addProduct(coque);
    const line = sale.lines[0]!;
    line.discount = { amount: '2,5' };
    line.priceOverride = '25';
    expect(toApiLine(line)).toEqual({
      product_id: 'ACC-COQ-IP16',
      quantity: 1,
      serials: [],
      unit_price: '25.00',
      discount: { amount: '2.50' },
    });
    line.discount = { percent: '12,5' };
    expect(toApiLine(line).discount).toEqual({ percent: '12.5' });
  });

  it('sends weighed goods in grams', () => {
    addProduct(cafe);
    sale.lines[0]!.quantity = 350;
    expect(toApiLine(sale.lines[0]!)).toEqual({ product_id: 'BON-CAFE', grams: 350, serials: [] });
  });

  it('carries the customer, the ticket discount and the approvals', () => {
    addProduct(coque);
    sale.customer = { id: '6f1c2a4e-8d0b-4c3e-9a55-0d2f4b6e8a10', name: 'Zoé Lefèvre', phone: '+33612345678', phone_display: '06 12 34 56 78', email: null };
    sale.ticketDiscount = { percent: '5' };
    sale.approvals = ['a1'];
    expect(toApiCart()).toMatchObject({ customer: '6f1c2a4e-8d0b-4c3e-9a55-0d2f4b6e8a10', discount: { percent: '5' }, approvals: ['a1'] });
    clearSale();
    addProduct(coque);
    expect(toApiCart().customer).toBeUndefined();
  });

  it('sends tenders as API amounts with their card payment', () => {
    addTender('card', 24694n, { paymentId: 'p1', reference: 'A1B2C3' });
    addTender('cash', 24695n);
    expect(toApiTenders()).toEqual([
      { kind: 'card', amount: '246.94', reference: 'A1B2C3', payment_id: 'p1' },
      { kind: 'cash', amount: '246.95' },
    ]);
  });

});

// A real HTTP server on 127.0.0.1:0 standing for the engine's `quote` command: each request is
// held until the test answers it, so the order in which answers arrive is the test's to choose.
let server: Server;
const held: { request: QuoteRequest; respond: (quote: Partial<Quote>) => void }[] = [];

beforeAll(async () => {
  server = createServer((req, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      held.push({
        request: JSON.parse(body) as QuoteRequest,
        respond: (quote) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ lines: [], vat: [], ticket_discount: '0.00', approvals_needed: [], ...quote }));
        },
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.backend = new HttpBackend(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

/** Waits for the engine stand-in to hold `n` requests in all. */
async function requests(n: number) {
  while (held.length < n) await new Promise((r) => setTimeout(r, 5));
  return held[n - 1]!;
}

describe('the payment figures are the engine\'s', () => {
  it('shows the engine\'s due, tendered and change for the tenders sent, and none before it answered', async () => {
    held.length = 0;
    addProduct(coque);
    addProduct(coque);
    addTender('cash', 5000n);
    const asked = requote();
    const first = await requests(1);
    expect(first.request.tenders, 'the quote carries the tenders taken so far').toEqual([{ kind: 'cash', amount: '50.00' }]);
    expect(figures(), 'nothing is shown (nor recorded) before the engine answered').toBeNull();
    first.respond({ total: '59.98', tendered: '50.00', amount_due: '9.98', change: '0.00' });
    await asked;
    expect(figures(), 'the figures shown are the engine\'s answer').toEqual({ tendered: 5000n, due: 998n, change: 0n });

    addTender('cash', 2000n);
    expect(figures(), 'a new tender makes the previous answer stale').toBeNull();
    const again = requote();
    const second = await requests(2);
    second.respond({ total: '59.98', tendered: '70.00', amount_due: '0.00', change: '10.02' });
    await again;
    expect(figures()).toEqual({ tendered: 7000n, due: 0n, change: 1002n });
  });

  it('drops an answer for tenders that changed while it was on its way', async () => {
    held.length = 0;
    addProduct(coque);
    const stale = requote();
    const first = await requests(1);
    addTender('card', 2999n, { paymentId: 'p1' });
    const current = requote();
    const second = await requests(2);
    second.respond({ total: '29.99', tendered: '29.99', amount_due: '0.00', change: '0.00' });
    await current;
    first.respond({ total: '29.99', tendered: '0.00', amount_due: '29.99', change: '0.00' });
    await stale;
    expect(figures(), 'the answer for the tenders as they stand wins, whatever the order of arrival').toEqual({
      tendered: 2999n,
      due: 0n,
      change: 0n,
    });
    sale.tenders.pop();
    expect(figures(), 'the answer without the card is not taken for the current one').toBeNull();
  });
});

describe('texts', () => {
  it('fills placeholders and follows the language', () => {
    i18n.lang = 'fr';
    expect(t('sale.parkedAs', { id: 7 })).toBe('Vente mise en attente (n° 7). Reprenez-la avec Alt+A.');
    i18n.lang = 'en';
    expect(t('sale.parkedAs', { id: 7 })).toBe('Sale parked (no. 7). Resume it with Alt+A.');
    i18n.lang = 'fr';
  });
});
