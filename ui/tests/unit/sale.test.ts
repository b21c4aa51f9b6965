import { beforeEach, describe, expect, it } from 'vitest';
import type { ProductView } from '../../src/lib/api/generated/api';
import { addProduct, clearSale, sale, toApiCart, toApiLine, toApiTenders, addTender, settlement } from '../../src/lib/sale.svelte';
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

  it('computes what is due from the cart while no quote is there', () => {
    addProduct(coque);
    addProduct(coque);
    addTender('cash', 5000n);
    expect(settlement()).toMatchObject({ due: 998n, change: 0n });
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
