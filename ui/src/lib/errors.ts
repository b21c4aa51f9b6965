/** How an engine refusal reads on screen, in the cashier's language. */
import { i18n } from './i18n/index.svelte';
import { errorsFr } from './i18n/errors-fr';

/** The French text of `code` on a French screen when there is one, else the engine's message. */
export function engineMessage(code: string, message: string): string {
  if (i18n.lang === 'fr') return errorsFr[code] ?? message;
  return message;
}
