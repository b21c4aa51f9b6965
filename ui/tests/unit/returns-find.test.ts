import { describe, expect, it } from 'vitest';
import { classifySearch } from '../../src/lib/returnsFind';
import { errorsFr } from '../../src/lib/i18n/errors-fr';

describe('the returns search box', () => {
  it('tells a receipt, a ticket number and a web order apart', () => {
    expect(classifySearch(' POS1:T1:12:abcd ')).toEqual({ kind: 'receipt', qr: 'POS1:T1:12:abcd' });
    expect(classifySearch('12')).toEqual({ kind: 'ticket', number: 12 });
    expect(classifySearch('WEB-1001')).toEqual({ kind: 'web_order', text: 'WEB-1001' });
    expect(classifySearch('k7qm2xpd')).toEqual({ kind: 'web_order', text: 'k7qm2xpd' });
    expect(classifySearch('0')).toEqual({ kind: 'invalid' });
    expect(classifySearch('  ')).toEqual({ kind: 'invalid' });
  });

  it('has a French text for every refusal of a web order return', () => {
    for (const code of [
      'web_order_reference_missing',
      'web_order_not_collected',
      'web_order_paid_in_shop',
      'web_order_line_not_collected',
      'return_exceeds_collected',
      'web_order_vat_unknown',
      'web_refund_tender_not_allowed',
      'web_refund_to_original',
    ]) {
      expect(errorsFr[code], code).toBeTruthy();
    }
  });
});
