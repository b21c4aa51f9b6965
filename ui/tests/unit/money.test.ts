import { describe, expect, it } from 'vitest';
import {
  AmountError,
  divideRounded,
  formatMoney,
  parseAmount,
  timesDecimal,
  toApiAmount,
} from '../../src/lib/money';

/** French formatting uses a narrow no-break space for thousands and a no-break space before €. */
const NNBSP = '\u202f';
const NBSP = '\u00a0';

describe('money formatting in the French locale', () => {
  it('formats cents with a comma, grouped thousands and the euro sign after', () => {
    expect(formatMoney(123450n)).toBe(`1${NNBSP}234,50${NBSP}€`);
    expect(formatMoney(5n)).toBe(`0,05${NBSP}€`);
    expect(formatMoney(0n)).toBe(`0,00${NBSP}€`);
  });

  it('formats negative amounts (refunds) with a minus sign', () => {
    expect(formatMoney(-2999n)).toBe(`-29,99${NBSP}€`);
  });

  it('formats the API strings exactly, even where a float would not be exact', () => {
    expect(formatMoney('0.10')).toBe(`0,10${NBSP}€`);
    expect(formatMoney('90071992547409.93')).toBe(`90${NNBSP}071${NNBSP}992${NNBSP}547${NNBSP}409,93${NBSP}€`);
  });

  it('shows what is not an amount as it is, rather than failing the screen', () => {
    expect(formatMoney('?')).toBe('?');
  });

  it('formats in English when asked', () => {
    expect(formatMoney(123450n, 'en-GB')).toBe('€1,234.50');
  });
});

describe('amounts typed or received', () => {
  it('accepts a comma or a dot and whole euros', () => {
    expect(parseAmount('12,5')).toBe(1250n);
    expect(parseAmount('12.50')).toBe(1250n);
    expect(parseAmount('12')).toBe(1200n);
    expect(parseAmount('-29.99')).toBe(-2999n);
    expect(parseAmount('1 234,56')).toBe(123456n);
    expect(parseAmount(',5')).toBe(50n);
  });

  it('refuses text, empty input and fractions of a cent instead of rounding them', () => {
    for (const bad of ['', 'abc', '12.345', '1,2,3', '--1', '.']) {
      expect(() => parseAmount(bad), bad).toThrow(AmountError);
    }
  });

  it('writes the API form with two decimals and a dot', () => {
    expect(toApiAmount(1250n)).toBe('12.50');
    expect(toApiAmount(5n)).toBe('0.05');
    expect(toApiAmount(-5n)).toBe('-0.05');
    expect(toApiAmount(0n)).toBe('0.00');
  });

  it('rounds half away from zero, as the engine does', () => {
    expect(divideRounded(5n, 10n)).toBe(1n);
    expect(divideRounded(-5n, 10n)).toBe(-1n);
    expect(divideRounded(4n, 10n)).toBe(0n);
    expect(divideRounded(15n, 10n)).toBe(2n);
    expect(divideRounded(-15n, 10n)).toBe(-2n);
    expect(divideRounded(7n, 3n)).toBe(2n);
    // 10 % of 0.05 € is half a cent: one cent off.
    expect(timesDecimal(5n, { units: 10n, scale: 2 })).toBe(1n);
  });
});
