/**
 * The cart's display arithmetic: line totals while the cashier builds the sale.
 *
 * The engine's quote is the authority on the ticket (ticket discounts, VAT); these figures are
 * the same rules applied line by line so that the screen answers at once, key by key. What is
 * still due, tendered and given back at payment is never computed here: the payment screen shows
 * the engine's settlement (see `figures` in `sale.svelte.ts`).
 */
import { parseAmount, parseDecimal, timesDecimal, type Cents } from './money';

export type LineDiscount = { percent: string } | { amount: string };

export interface CartLine {
  /** Stable key for the screen (a product may appear on several lines). */
  key: string;
  productId: string;
  label: string;
  category: string;
  /** Shelf price including VAT, per unit or per kilogram, as the API gives it ("12.50"). */
  unitPrice: string;
  /** Price typed over the shelf price (needs a manager when the engine says so). */
  priceOverride?: string;
  soldBy: 'unit' | 'weight';
  /** Units, or grams when sold by weight. */
  quantity: number;
  discount?: LineDiscount;
  seller?: string;
  /** One IMEI per unit for handsets. */
  serials: string[];
  needsSerial: boolean;
}

/** The price used for the line: the override if any, else the shelf price. */
export function effectiveUnitPrice(line: CartLine): Cents {
  return parseAmount(line.priceOverride ?? line.unitPrice);
}

/** `unit price × quantity` rounded half away from zero to the cent (grams count as kg/1000). */
export function lineGross(line: CartLine): Cents {
  const unit = effectiveUnitPrice(line);
  if (line.soldBy === 'weight') {
    return timesDecimal(unit, { units: BigInt(line.quantity), scale: 3 });
  }
  return unit * BigInt(line.quantity);
}

/** The amount taken off by the line discount: a percentage of the gross, or an amount. */
export function lineDiscountAmount(line: CartLine): Cents {
  const d = line.discount;
  if (!d) return 0n;
  const gross = lineGross(line);
  if ('percent' in d) {
    const p = parseDecimal(d.percent);
    return timesDecimal(gross, { units: p.units, scale: p.scale + 2 });
  }
  return parseAmount(d.amount);
}

/** What the customer pays for the line before any ticket discount. */
export function lineTotal(line: CartLine): Cents {
  return lineGross(line) - lineDiscountAmount(line);
}

export function cartTotal(lines: readonly CartLine[]): Cents {
  return lines.reduce((sum, l) => sum + lineTotal(l), 0n);
}

/** IMEIs still to capture on a handset line (0 for lines that need none). */
export function missingSerials(line: CartLine): number {
  if (!line.needsSerial) return 0;
  return Math.max(0, line.quantity - line.serials.length);
}

export type TenderKind = 'cash' | 'card' | 'gift_card' | 'voucher' | 'cheque' | 'store_credit';
