/**
 * Keyboard-wedge barcode scanners type a code as a fast burst of keys ending with Enter.
 * This module tells such a burst from a person typing, and undoes the AZERTY layout's effect
 * on digits (a scanner set up for a US keyboard on a French layout types `&é"'(-è_çà` for
 * `1234567890`).
 *
 * The detector is a pure state machine fed with key names and timestamps, so it is tested
 * without a browser; `attachScanner` connects it to `keydown` events.
 */

/** The French AZERTY keys that carry the digits 1..0 unshifted. */
export const AZERTY_DIGITS: Readonly<Record<string, string>> = {
  '&': '1',
  'é': '2',
  '"': '3',
  "'": '4',
  '(': '5',
  '-': '6',
  'è': '7',
  '_': '8',
  'ç': '9',
  'à': '0',
};

/**
 * Maps AZERTY digit keys back to digits when the text holds no real digit: a scanner on the
 * wrong layout never produces one, while a person's text with dashes and digits is left alone.
 */
export function mapAzertyDigits(text: string): string {
  if (/[0-9]/.test(text)) return text;
  if (![...text].some((c) => c in AZERTY_DIGITS)) return text;
  return [...text].map((c) => AZERTY_DIGITS[c] ?? c).join('');
}

export interface ScannerOptions {
  /** Longest pause between two keys of one burst, in ms. Scanners send a key every 1-20 ms. */
  maxGapMs: number;
  /** Shortest code taken as a scan (EAN-8 is the shortest barcode sold here). */
  minLength: number;
}

export const DEFAULT_SCANNER_OPTIONS: ScannerOptions = { maxGapMs: 35, minLength: 6 };

export type ScanResult =
  /** A complete burst ended by Enter: the code, with AZERTY digits mapped. */
  | { kind: 'scan'; code: string; raw: string }
  /** Enter after typing (or after too short a burst): an ordinary Enter. */
  | { kind: 'enter' }
  /** A printable key, part of a burst in progress or typing. */
  | { kind: 'char' }
  /** Any other key. */
  | { kind: 'other' };

export class WedgeDetector {
  private buffer = '';
  private lastTime = -Infinity;

  constructor(private readonly options: ScannerOptions = DEFAULT_SCANNER_OPTIONS) {}

  /** Feeds one key (a `KeyboardEvent.key`) pressed at `time` ms. */
  key(key: string, time: number): ScanResult {
    const gap = time - this.lastTime;
    this.lastTime = time;
    if (key === 'Enter') {
      const raw = this.buffer;
      const burst = gap <= this.options.maxGapMs && raw.length >= this.options.minLength;
      this.reset();
      return burst ? { kind: 'scan', code: mapAzertyDigits(raw), raw } : { kind: 'enter' };
    }
    if (key.length !== 1) {
      // Shift, arrows, F-keys: a scanner sends none of these inside a code (Shift is ignored,
      // as a US-configured scanner on AZERTY presses it for every digit).
      if (key !== 'Shift') this.reset();
      return { kind: 'other' };
    }
    if (this.buffer === '' || gap > this.options.maxGapMs) {
      // A new run starts: after a long pause only this key can belong to a burst.
      this.buffer = key;
    } else {
      this.buffer += key;
    }
    return { kind: 'char' };
  }

  /** The characters of the burst in progress (to remove them from a text field on a scan). */
  get pending(): string {
    return this.buffer;
  }

  reset(): void {
    this.buffer = '';
  }
}

/**
 * Listens to `keydown` on `target` and calls `onScan` for each burst. When a burst was typed
 * into a text field, the field gets back the value it had before the burst, and the Enter that
 * ended it is swallowed, so a scan never leaves digits behind or submits a form.
 *
 * Fields marked `data-scan` take scanned codes themselves (their whole text on Enter, which
 * survives a scanner slowed down mid-code): keys typed in them are left alone.
 */
export function attachScanner(
  target: Window | HTMLElement,
  onScan: (code: string) => void,
  options: ScannerOptions = DEFAULT_SCANNER_OPTIONS,
): () => void {
  const detector = new WedgeDetector(options);
  let fieldBefore: { field: HTMLInputElement; value: string } | null = null;
  const listener = (event: Event) => {
    const e = event as KeyboardEvent;
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    if (e.target instanceof HTMLElement && e.target.dataset.scan !== undefined) {
      detector.reset();
      return;
    }
    const result = detector.key(e.key, e.timeStamp);
    const field = e.target instanceof HTMLInputElement ? e.target : null;
    if (result.kind === 'char' && detector.pending.length === 1) {
      // keydown comes before the field changes: this is its value before the run began.
      fieldBefore = field ? { field, value: field.value } : null;
    }
    if (result.kind === 'scan') {
      e.preventDefault();
      e.stopImmediatePropagation();
      if (fieldBefore && fieldBefore.field === field) {
        field.value = fieldBefore.value;
        field.dispatchEvent(new Event('input', { bubbles: true }));
      }
      fieldBefore = null;
      onScan(result.code);
    }
  };
  target.addEventListener('keydown', listener, { capture: true });
  return () => target.removeEventListener('keydown', listener, { capture: true });
}
