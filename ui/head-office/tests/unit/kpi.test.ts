import { describe, expect, it } from 'vitest';
import { change, kpisOf } from '../../src/lib/kpi';
import { addDays, sameDayLastWeek, sameDayLastYear } from '../../src/lib/dates';

const row = (key: string, tickets: number, quantity: number, amount: string, excl: string) => ({
  key,
  tickets,
  quantity,
  amount,
  excluding_vat: excl,
});

describe('dashboard figures', () => {
  it('sums rows in cents and rounds the basket half away from zero', () => {
    const k = kpisOf([row('a', 2, 3, '10.00', '8.33'), row('b', 1, 2, '0.01', '0.01')]);
    expect(k.net).toBe(1001n);
    expect(k.vat).toBe(1001n - 834n);
    expect(k.basket).toBe(334n); // 10.01 / 3 = 3.3366... -> 3.34
    expect(k.itemsPerBasketHundredths).toBe(167n); // 5 / 3 = 1.666... -> 1.67
  });

  it('has no basket without tickets', () => {
    expect(kpisOf([]).basket).toBeNull();
  });

  it('compares in percent with one decimal, none against zero', () => {
    expect(change(1100n, 1000n)).toBe('+10,0 %');
    expect(change(900n, 1000n)).toBe('−10,0 %');
    expect(change(100n, 0n)).toBeNull();
  });
});

describe('comparison days', () => {
  it('are the same weekday a week and 52 weeks earlier', () => {
    expect(sameDayLastWeek('2026-03-02')).toBe('2026-02-23');
    expect(sameDayLastYear('2026-12-07')).toBe('2025-12-08');
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
  });
});
