import { describe, expect, it } from 'vitest';
import {
  cartTotal,
  lineDiscountAmount,
  lineGross,
  lineTotal,
  missingSerials,
  type CartLine,
} from '../../src/lib/cart';

function line(overrides: Partial<CartLine>): CartLine {
  return {
    key: 'k',
    productId: 'P',
    label: 'Produit',
    category: 'Divers',
    unitPrice: '10.00',
    soldBy: 'unit',
    quantity: 1,
    serials: [],
    needsSerial: false,
    ...overrides,
  };
}

describe('line totals', () => {
  it('multiplies the unit price by the quantity', () => {
    expect(lineTotal(line({ unitPrice: '14.90', quantity: 3 }))).toBe(4470n);
  });

  it('takes a percentage discount off the gross, rounded half away from zero', () => {
    const l = line({ unitPrice: '9.95', quantity: 1, discount: { percent: '15' } });
    // 15 % of 9.95 = 1.4925 -> 1.49
    expect(lineDiscountAmount(l)).toBe(149n);
    expect(lineTotal(l)).toBe(846n);
    const half = line({ unitPrice: '0.10', quantity: 1, discount: { percent: '25' } });
    // 25 % of 0.10 = 0.025 -> 0.03
    expect(lineTotal(half)).toBe(7n);
  });

  it('takes an amount discount off as given', () => {
    expect(lineTotal(line({ unitPrice: '29.99', quantity: 2, discount: { amount: '5,00' } }))).toBe(5498n);
  });

  it('prices weighed goods per kilogram from grams', () => {
    // 350 g at 18.90 €/kg = 6.615 -> 6.62
    expect(lineGross(line({ unitPrice: '18.90', soldBy: 'weight', quantity: 350 }))).toBe(662n);
  });

  it('uses a price override over the shelf price', () => {
    expect(lineTotal(line({ unitPrice: '10.00', priceOverride: '7.50', quantity: 2 }))).toBe(1500n);
  });

  it('adds the lines into the cart total', () => {
    const lines = [
      line({ unitPrice: '899.00' }),
      line({ unitPrice: '19.99', quantity: 2 }),
      line({ unitPrice: '4.90', discount: { percent: '10' } }),
    ];
    expect(cartTotal(lines)).toBe(89900n + 3998n + 441n);
    expect(cartTotal([])).toBe(0n);
  });

  it('counts the IMEIs still missing on a handset line', () => {
    expect(missingSerials(line({ needsSerial: true, quantity: 2, serials: ['490154203237518'] }))).toBe(1);
    expect(missingSerials(line({ needsSerial: false, quantity: 2 }))).toBe(0);
  });
});
