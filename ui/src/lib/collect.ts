/**
 * Click & collect at the counter, the parts that need no engine: which list an order belongs
 * to, picking an order by scanning its products, and what the customer takes at handover.
 * The engine checks all of it again; these only drive the screen.
 */
import type { PickedLineInput, WebOrderState, WebOrderView } from './api/generated/api';

export type OrderGroup = 'to_prepare' | 'ready' | 'done';

/** The screen's lists: to prepare (placed, prepared), waiting for the customer, finished. */
export function groupOf(state: WebOrderState): OrderGroup {
  switch (state) {
    case 'placed':
    case 'prepared':
      return 'to_prepare';
    case 'ready':
      return 'ready';
    default:
      return 'done';
  }
}

/** Whether the counter can still act on the order (prepare, hand over, refuse). */
export function isOpen(state: WebOrderState): boolean {
  return groupOf(state) !== 'done';
}

/** Units scanned so far, by order line number. */
export type Picking = Record<number, number>;

export type ScanOutcome =
  | { kind: 'picked'; line: number; picked: number; of: number }
  | { kind: 'not_in_order' }
  | { kind: 'already_picked'; line: number };

/**
 * Counts one scanned unit of `productId` against the first line of that product still short;
 * a product the order does not hold, or holds already picked in full, is said so.
 */
export function scanInto(order: WebOrderView, picking: Picking, productId: string): ScanOutcome {
  const lines = order.lines.filter((l) => l.product_id === productId);
  if (lines.length === 0) return { kind: 'not_in_order' };
  const short = lines.find((l) => (picking[l.line] ?? 0) < l.quantity);
  if (!short) return { kind: 'already_picked', line: lines[0]!.line };
  const picked = (picking[short.line] ?? 0) + 1;
  picking[short.line] = picked;
  return { kind: 'picked', line: short.line, picked, of: short.quantity };
}

/** Every unit of every line scanned. */
export function fullyPicked(order: WebOrderView, picking: Picking): boolean {
  return order.lines.every((l) => (picking[l.line] ?? 0) >= l.quantity);
}

/**
 * What the customer takes, for the handover: undefined when they take the whole order (the
 * engine's default), else every line with the units taken (0 for a line refused).
 */
export function takenLines(order: WebOrderView, taken: Record<number, number>): PickedLineInput[] | undefined {
  const lines = order.lines.map((l) => ({
    line: l.line,
    quantity: Math.max(0, Math.min(l.quantity, Math.floor(taken[l.line] ?? l.quantity))),
  }));
  const whole = lines.every((l, i) => l.quantity === order.lines[i]!.quantity);
  return whole ? undefined : lines;
}

/** A scanned code that looks like a product barcode (GTIN digits) rather than a pickup code. */
export function looksLikeBarcode(code: string): boolean {
  return /^\d{8,14}$/.test(code.trim());
}
