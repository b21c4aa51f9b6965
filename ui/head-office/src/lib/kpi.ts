/**
 * The dashboard's figures from the rollups' totals, in integer cents (see ../../../src/lib/money):
 * net sales with and without VAT, VAT, tickets, average basket and items per basket.
 */
import { divideRounded, parseAmount, type Cents } from '../../../src/lib/money';
import type { SalesAnswer, SalesLine } from './types';

export interface Kpis {
  net: Cents;
  excludingVat: Cents;
  vat: Cents;
  tickets: number;
  quantity: number;
  /** Net sales per ticket, rounded half away from zero; null without tickets. */
  basket: Cents | null;
  /** Items per ticket, in hundredths; null without tickets. */
  itemsPerBasketHundredths: bigint | null;
}

/** The figures of a `by=day` answer (one row per day; any number of rows is summed). */
export function kpis(answer: SalesAnswer): Kpis {
  return kpisOf(answer.rows);
}

export function kpisOf(rows: SalesLine[]): Kpis {
  let net = 0n;
  let excludingVat = 0n;
  let tickets = 0;
  let quantity = 0;
  for (const row of rows) {
    net += parseAmount(row.amount);
    excludingVat += parseAmount(row.excluding_vat);
    tickets += row.tickets;
    quantity += row.quantity;
  }
  const count = BigInt(tickets);
  return {
    net,
    excludingVat,
    vat: net - excludingVat,
    tickets,
    quantity,
    basket: tickets > 0 ? divideRounded(net, count) : null,
    itemsPerBasketHundredths: tickets > 0 ? divideRounded(BigInt(quantity) * 100n, count) : null,
  };
}

/** `now` against `before` in percent, one decimal, as text ("+12.5 %"); null when `before` is 0. */
export function change(now: Cents, before: Cents): string | null {
  if (before === 0n) return null;
  const tenths = divideRounded((now - before) * 1000n, before < 0n ? -before : before);
  const sign = tenths > 0n ? '+' : tenths < 0n ? '−' : '';
  const abs = tenths < 0n ? -tenths : tenths;
  return `${sign}${abs / 10n},${abs % 10n} %`;
}
