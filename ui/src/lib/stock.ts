/**
 * The stock screen's scan lists, kept apart from the screen so they are tested without a
 * browser: each scan adds one unit to its product's line; a delivery against a shipping notice
 * is the notice's lines (expected) beside what was scanned of them, plus the extras; the
 * differences (missing, extra, damaged) are computed here for the confirmation, and the engine
 * computes them again from the notice when it records the receipt.
 */
import type { ShippingNoticeView, StockReceivedLine } from './api/generated/api';

/** A product scanned: how many units, and how many of them are damaged. */
export interface ScannedLine {
  productId: string;
  label: string;
  scanned: number;
  damaged: number;
}

/** `lines` with one more unit of `productId` (a new line at the end when it was not scanned yet). */
export function addScan(lines: readonly ScannedLine[], productId: string, label: string): ScannedLine[] {
  const at = lines.findIndex((l) => l.productId === productId);
  if (at < 0) return [...lines, { productId, label, scanned: 1, damaged: 0 }];
  return lines.map((l, i) => (i === at ? { ...l, scanned: l.scanned + 1 } : l));
}

/** `lines` with the damaged count of `productId` set (never more than scanned, never negative). */
export function setDamaged(lines: readonly ScannedLine[], productId: string, damaged: number): ScannedLine[] {
  return lines.map((l) =>
    l.productId === productId ? { ...l, damaged: Math.max(0, Math.min(Math.trunc(damaged) || 0, l.scanned)) } : l,
  );
}

/** A line of a delivery as the screen shows it: expected (0 when not announced) vs scanned. */
export interface DeliveryLine {
  productId: string;
  label: string;
  expected: number;
  scanned: number;
  damaged: number;
  missing: number;
  extra: number;
}

/**
 * The delivery as it stands: the notice's lines in its order (expected from the notice), then
 * the products scanned that it does not list (expected 0). Without a notice, every line is an
 * arrival with nothing expected, so nothing is reported missing or extra.
 */
export function deliveryLines(notice: ShippingNoticeView | null, scanned: readonly ScannedLine[]): DeliveryLine[] {
  const line = (productId: string, label: string, expected: number, s: ScannedLine | undefined): DeliveryLine => {
    const got = s?.scanned ?? 0;
    return {
      productId,
      label,
      expected,
      scanned: got,
      damaged: s?.damaged ?? 0,
      missing: notice ? Math.max(0, expected - got) : 0,
      extra: notice ? Math.max(0, got - expected) : 0,
    };
  };
  if (!notice) return scanned.map((s) => line(s.productId, s.label, 0, s));
  const announced = notice.lines.map((n) => {
    const s = scanned.find((x) => x.productId === n.product_id);
    return line(n.product_id, s?.label ?? n.product_id, n.quantity, s);
  });
  const extras = scanned
    .filter((s) => !notice.lines.some((n) => n.product_id === s.productId))
    .map((s) => line(s.productId, s.label, 0, s));
  return [...announced, ...extras];
}

/** Whether any line differs from what was announced (or has damaged goods). */
export function hasDifferences(lines: readonly DeliveryLine[]): boolean {
  return lines.some((l) => l.missing > 0 || l.extra > 0 || l.damaged > 0);
}

/**
 * The lines the engine records: what arrived and what is damaged. The expected quantities are
 * the notice's, which the engine reads itself; a notice line not scanned is left out and the
 * engine records it as missing.
 */
export function receivedLines(scanned: readonly ScannedLine[]): StockReceivedLine[] {
  return scanned
    .filter((s) => s.scanned > 0)
    .map((s) => ({ product_id: s.productId, received: s.scanned, damaged: s.damaged }));
}

/**
 * The lines of a transfer arriving: what arrived and what is damaged, and what the sending shop
 * says it sent (`sent`, by product; what arrived when not given), so the engine records the
 * differences on arrival.
 */
export function arrivalLines(scanned: readonly ScannedLine[], sent: Readonly<Record<string, number>>): StockReceivedLine[] {
  return scanned.map((s) => ({
    product_id: s.productId,
    received: s.scanned,
    expected: Math.max(0, Math.trunc(sent[s.productId] ?? s.scanned)),
    damaged: s.damaged,
  }));
}

/** How old an answer is, in whole minutes (at least 1 once it is not live). */
export function ageMinutes(seconds: number): number {
  return Math.max(1, Math.round(seconds / 60));
}
