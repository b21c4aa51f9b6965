/**
 * A serial (non keyboard-wedge) barcode scanner: the till reads it and queues its codes; this
 * module long-polls `scanned_codes` while the sale screen is open and hands each code to the
 * same handler as a keyboard-wedge scan, so both scanners behave exactly alike.
 *
 * It calls the backend directly (not `call`): a long poll is not work the cashier waits for,
 * and must not show the busy indicator. A failed poll waits a second and tries again; a scan
 * never blocks anything else.
 */

import type { Backend } from './api/backend';
import type { ScannedCodes, ScannedCodesRequest } from './api/generated/api';

/** How long one poll waits for a code at the till. */
const WAIT_MS = 1000;
/** After a failed poll. */
const RETRY_MS = 1000;

/**
 * Starts handing the serial scanner's codes to `onScan`; returns the function that stops.
 * Codes read before it started are not replayed.
 */
export function attachSerialScanner(backend: Backend, onScan: (code: string) => void): () => void {
  let stopped = false;
  void (async () => {
    let after: number | null = null;
    while (!stopped) {
      try {
        const request: ScannedCodesRequest = after === null ? {} : { after, wait_ms: WAIT_MS };
        const got: ScannedCodes = await backend.call('scanned_codes', request);
        if (stopped) break;
        if (after !== null) for (const code of got.codes) onScan(code.code);
        after = got.latest;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  })();
  return () => {
    stopped = true;
  };
}
