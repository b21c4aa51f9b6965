import { describe, expect, it } from 'vitest';
import type { ShippingNoticeView } from '../../src/lib/api/generated/api';
import { addScan, ageMinutes, arrivalLines, deliveryLines, hasDifferences, receivedLines, setDamaged } from '../../src/lib/stock';

const notice: ShippingNoticeView = {
  id: 'ASN-1',
  lines: [
    { product_id: 'CASE', unit: 'units', quantity: 3, serials: [] },
    { product_id: 'CABLE', unit: 'units', quantity: 2, serials: [] },
  ],
};

describe('the stock scan lists', () => {
  it('adds one unit per scan, a new product at the end', () => {
    let lines = addScan([], 'CASE', 'Coque');
    lines = addScan(lines, 'GUIDE', 'Guide');
    lines = addScan(lines, 'CASE', 'Coque');
    expect(lines.map((l) => [l.productId, l.scanned])).toEqual([
      ['CASE', 2],
      ['GUIDE', 1],
    ]);
  });

  it('keeps the damaged count between 0 and what was scanned', () => {
    const lines = addScan(addScan([], 'CASE', 'Coque'), 'CASE', 'Coque');
    expect(setDamaged(lines, 'CASE', 5)[0]?.damaged).toBe(2);
    expect(setDamaged(lines, 'CASE', -1)[0]?.damaged).toBe(0);
  });

  it('measures a delivery against its notice: missing, extra, in the notice order then extras', () => {
    let scanned = addScan([], 'GUIDE', 'Guide');
    for (let i = 0; i < 3; i++) scanned = addScan(scanned, 'CASE', 'Coque');
    scanned = addScan(scanned, 'CABLE', 'Câble');
    const lines = deliveryLines(notice, scanned);
    expect(lines.map((l) => [l.productId, l.expected, l.scanned, l.missing, l.extra])).toEqual([
      ['CASE', 3, 3, 0, 0],
      ['CABLE', 2, 1, 1, 0],
      ['GUIDE', 0, 1, 0, 1],
    ]);
    expect(hasDifferences(lines)).toBe(true);
  });

  it('shows a notice line nobody scanned as all missing, and nothing missing without a notice', () => {
    const scanned = addScan([], 'CASE', 'Coque');
    expect(deliveryLines(notice, scanned)[1]).toMatchObject({ productId: 'CABLE', expected: 2, scanned: 0, missing: 2 });
    expect(hasDifferences(deliveryLines(null, scanned))).toBe(false);
  });

  it('sends the engine what arrived and what is damaged, never an expected quantity', () => {
    const scanned = setDamaged(addScan(addScan([], 'CASE', 'Coque'), 'CASE', 'Coque'), 'CASE', 1);
    expect(receivedLines(scanned)).toEqual([{ product_id: 'CASE', received: 2, damaged: 1 }]);
  });

  it('says an answer kept is at least a minute old', () => {
    expect(ageMinutes(5)).toBe(1);
    expect(ageMinutes(600)).toBe(10);
  });

  it('records a transfer arriving against what the sending shop sent, what arrived when not typed', () => {
    const scanned = addScan(addScan([], 'CASE', 'Coque'), 'CABLE', 'Câble');
    expect(arrivalLines(scanned, { CASE: 3 })).toEqual([
      { product_id: 'CASE', received: 1, expected: 3, damaged: 0 },
      { product_id: 'CABLE', received: 1, expected: 1, damaged: 0 },
    ]);
  });
});
