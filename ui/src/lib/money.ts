/**
 * Money in the UI: integer cents as `bigint`, never a float.
 *
 * Amounts cross the engine API as strings with a dot ("12.50"); the cashier types them with a
 * comma or a dot. Display goes through `Intl.NumberFormat` fed with a decimal string, which it
 * formats exactly (no conversion to a binary float).
 */

export type Cents = bigint;

/** Thrown when a typed or received amount is not a decimal number of euros. */
export class AmountError extends Error {
  constructor(readonly input: string) {
    super(`not an amount: "${input}"`);
    this.name = 'AmountError';
  }
}

/** A decimal number as `units / 10^scale`, e.g. 12.5 = { units: 125n, scale: 1 }. */
export interface Decimal {
  units: bigint;
  scale: number;
}

const DECIMAL = /^([+-]?)(\d*)(?:[.,](\d*))?$/;

/** Parses "12", "12.5", "-3,75" (spaces and no-break spaces ignored) into an exact decimal. */
export function parseDecimal(text: string): Decimal {
  const compact = text.replace(/[\s\u00a0\u202f]/g, '');
  const match = DECIMAL.exec(compact);
  if (!match) throw new AmountError(text);
  const [, sign = '', whole = '', fraction = ''] = match;
  if (whole === '' && fraction === '') throw new AmountError(text);
  const units = BigInt((whole || '0') + fraction);
  return { units: sign === '-' ? -units : units, scale: fraction.length };
}

/** Divides and rounds half away from zero, the rounding the engine uses for money. */
export function divideRounded(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  // floor((2n + d) / 2d) rounds the magnitude half up, hence the whole half away from zero.
  const quotient = (2n * n + d) / (2n * d);
  return negative ? -quotient : quotient;
}

/** Parses an amount in euros into cents; more than two decimals is refused, not rounded. */
export function parseAmount(text: string): Cents {
  const { units, scale } = parseDecimal(text);
  if (scale > 2) throw new AmountError(text);
  return units * 10n ** BigInt(2 - scale);
}

/** `cents × factor`, rounded half away from zero to the cent. */
export function timesDecimal(cents: Cents, factor: Decimal): Cents {
  return divideRounded(cents * factor.units, 10n ** BigInt(factor.scale));
}

/** The API's form of an amount: "12.50", "-0.05". */
export function toApiAmount(cents: Cents): string {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const euros = abs / 100n;
  const rest = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${euros}.${rest}`;
}

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(locale: string): Intl.NumberFormat {
  let f = formatters.get(locale);
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR' });
    formatters.set(locale, f);
  }
  return f;
}

/**
 * Formats cents or an API amount string for display: "1 234,50 €" in French. A string that is
 * not an amount (the engine's "?" for a total it could not compute) is shown as it is.
 */
export function formatMoney(amount: Cents | string, locale = 'fr-FR'): string {
  let cents: Cents;
  try {
    cents = typeof amount === 'string' ? parseAmount(amount) : amount;
  } catch {
    return String(amount);
  }
  // A decimal string is formatted exactly by Intl.NumberFormat (ECMA-402 "Intl.NumberFormat v3").
  const exact = toApiAmount(cents) as `${number}`;
  return formatter(locale).format(exact);
}
