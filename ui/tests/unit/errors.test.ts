import { afterEach, describe, expect, it } from 'vitest';
import { engineMessage } from '../../src/lib/errors';
import { i18n } from '../../src/lib/i18n/index.svelte';

describe('engine refusals on screen', () => {
  afterEach(() => {
    i18n.lang = 'fr';
  });

  it('reads in French on a French screen, saying what to do', () => {
    i18n.lang = 'fr';
    expect(engineMessage('pin_wrong', 'this PIN is not known here: type it again')).toBe('Code inconnu ici : retapez-le.');
    expect(engineMessage('pickup_code_unknown', 'no order awaiting pickup has this code')).toMatch(/vérifiez-le avec le client/);
  });

  it('keeps the engine’s own words for a code without a French text, and on an English screen', () => {
    i18n.lang = 'fr';
    expect(engineMessage('ledger_broken', 'chain ticket broken at 12')).toBe('chain ticket broken at 12');
    i18n.lang = 'en';
    expect(engineMessage('pin_wrong', 'this PIN is not known here: type it again')).toBe('this PIN is not known here: type it again');
  });
});
