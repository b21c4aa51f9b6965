import { describe, expect, it } from 'vitest';
import type { WebOrderView } from '../../src/lib/api/generated/api';
import { fullyPicked, groupOf, isOpen, looksLikeBarcode, scanInto, takenLines, type Picking } from '../../src/lib/collect';

const order: WebOrderView = {
  id: 'WO-1',
  reference: 'WEB-1001',
  customer: 'Chloé Bernard',
  payment: 'pay_in_shop',
  state: 'placed',
  total: '74.88',
  placed_at: '2026-03-30T07:00:00Z',
  lines: [
    { line: 1, product_id: 'ACC-COQ-IP16', label: 'Coque', quantity: 2, unit_price: '29.99', total: '59.98' },
    { line: 2, product_id: 'ACC-CBL-CC1', label: 'Câble', quantity: 1, unit_price: '14.90', total: '14.90' },
  ],
};

describe('order groups', () => {
  it('puts placed and prepared orders to prepare, ready ones apart, the rest done', () => {
    expect(groupOf('placed')).toBe('to_prepare');
    expect(groupOf('prepared')).toBe('to_prepare');
    expect(groupOf('ready')).toBe('ready');
    for (const s of ['collected', 'partially_collected', 'refused', 'cancelled'] as const) {
      expect(groupOf(s)).toBe('done');
      expect(isOpen(s)).toBe(false);
    }
    expect(isOpen('ready')).toBe(true);
  });
});

describe('picking by scanning', () => {
  it('counts each unit against its line until the order is picked', () => {
    const picking: Picking = {};
    expect(scanInto(order, picking, 'ACC-COQ-IP16')).toEqual({ kind: 'picked', line: 1, picked: 1, of: 2 });
    expect(fullyPicked(order, picking)).toBe(false);
    expect(scanInto(order, picking, 'ACC-COQ-IP16')).toEqual({ kind: 'picked', line: 1, picked: 2, of: 2 });
    expect(scanInto(order, picking, 'ACC-COQ-IP16')).toEqual({ kind: 'already_picked', line: 1 });
    expect(scanInto(order, picking, 'TEL-IP16-128')).toEqual({ kind: 'not_in_order' });
    expect(scanInto(order, picking, 'ACC-CBL-CC1')).toEqual({ kind: 'picked', line: 2, picked: 1, of: 1 });
    expect(fullyPicked(order, picking)).toBe(true);
  });

  it('fills a second line of the same product once the first is complete', () => {
    const twice: WebOrderView = {
      ...order,
      lines: [order.lines[0]!, { ...order.lines[0]!, line: 2, quantity: 1 }],
    };
    const picking: Picking = { 1: 2 };
    expect(scanInto(twice, picking, 'ACC-COQ-IP16')).toEqual({ kind: 'picked', line: 2, picked: 1, of: 1 });
  });
});

describe('what the customer takes', () => {
  it('sends nothing for the whole order, every line for a partial pickup', () => {
    expect(takenLines(order, {})).toBeUndefined();
    expect(takenLines(order, { 1: 2, 2: 1 })).toBeUndefined();
    expect(takenLines(order, { 1: 1 })).toEqual([
      { line: 1, quantity: 1 },
      { line: 2, quantity: 1 },
    ]);
    expect(takenLines(order, { 2: 0 })).toEqual([
      { line: 1, quantity: 2 },
      { line: 2, quantity: 0 },
    ]);
  });

  it('keeps quantities between none and what was ordered', () => {
    expect(takenLines(order, { 1: 5, 2: -3 })).toEqual([
      { line: 1, quantity: 2 },
      { line: 2, quantity: 0 },
    ]);
  });
});

describe('scanned codes', () => {
  it('tells product barcodes from pickup codes', () => {
    expect(looksLikeBarcode('3760000011051')).toBe(true);
    expect(looksLikeBarcode('K7QM2XPD')).toBe(false);
    expect(looksLikeBarcode('1234')).toBe(false);
  });
});
