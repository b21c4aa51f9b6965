/**
 * What the returns screen's search box holds: a receipt's QR code (`POS1:<till>:<number>:<hash>`),
 * a ticket number, or else a web order's reference (`WEB-1001`), id or pickup code.
 */
export type ReturnSearch =
  | { kind: 'receipt'; qr: string }
  | { kind: 'ticket'; number: number }
  | { kind: 'web_order'; text: string }
  | { kind: 'invalid' };

export function classifySearch(text: string): ReturnSearch {
  const value = text.trim();
  if (value === '') return { kind: 'invalid' };
  if (value.includes(':')) return { kind: 'receipt', qr: value };
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) && n >= 1 ? { kind: 'ticket', number: n } : { kind: 'invalid' };
  }
  return { kind: 'web_order', text: value };
}
